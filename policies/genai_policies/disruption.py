"""``pdb-for-replicas``: what runs more than one replica keeps some through node drains.

A Deployment or StatefulSet runs several replicas when its ``replicas`` says so, or when an
HorizontalPodAutoscaler or a KEDA ScaledObject targeting it keeps a minimum above one. Such a
workload needs a PodDisruptionBudget in its namespace whose selector matches its pod
template's labels; otherwise a node upgrade may evict every replica at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from .k8s import api_kind, get, is_kind, name_of, namespace_of, pod_labels, selector_matches
from .model import Finding, PolicyContext, Record

SCALED = {("apps", "Deployment"), ("apps", "StatefulSet")}


def _count(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _scaler_minimums(records: list[Record]) -> dict[tuple[str, str, str], int]:
    """(namespace, kind, name) of each autoscaled workload -> the autoscaler's minimum."""
    out: dict[tuple[str, str, str], int] = {}
    for r in records:
        kind = api_kind(r)
        ref = get(r.props, "spec", "scaleTargetRef")
        if not isinstance(ref, Mapping):
            continue
        if kind == ("autoscaling", "HorizontalPodAutoscaler"):
            # minReplicas defaults to 1.
            minimum = _count(get(r.props, "spec", "minReplicas") or 1)
        elif kind == ("keda.sh", "ScaledObject"):
            # KEDA's minReplicaCount defaults to 0.
            minimum = _count(get(r.props, "spec", "minReplicaCount") or 0)
        else:
            continue
        key = (namespace_of(r) or "", ref.get("kind") or "Deployment", ref.get("name") or "")
        out[key] = max(out.get(key, 0), minimum)
    return out


def pdb_for_replicas(records: list[Record], ctx: PolicyContext) -> list[Finding]:
    budgets: dict[str, list[Mapping]] = {}
    for r in records:
        if is_kind(r, "PodDisruptionBudget", "policy"):
            budgets.setdefault(namespace_of(r) or "", []).append(get(r.props, "spec", "selector"))
    minimums = _scaler_minimums(records)
    out = []
    for r in records:
        kind = api_kind(r)
        if kind not in SCALED:
            continue
        ns = namespace_of(r) or ""
        replicas = _count(get(r.props, "spec", "replicas"))
        scaled_min = minimums.get((ns, kind[1], name_of(r)), 0)
        if max(replicas, scaled_min) <= 1:
            continue
        labels = pod_labels(r)
        if any(selector_matches(sel, labels) for sel in budgets.get(ns, [])):
            continue
        why = f"runs {replicas} replicas" if replicas > 1 else f"is autoscaled with a minimum of {scaled_min}"
        out.append(Finding(r.urn, f"{why} but no PodDisruptionBudget in {ns} selects its pods "
                                  f"({', '.join(f'{k}={v}' for k, v in sorted(labels.items())) or 'no labels'}): add one "
                                  "(maxUnavailable 1) whose selector matches its pod template labels"))
    return out
