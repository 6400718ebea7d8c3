"""pdb-for-replicas."""

from __future__ import annotations

import pytest

from policies.genai_policies import PolicyContext

CTX = PolicyContext()
LABELS = {"app.kubernetes.io/name": "chat-app", "app.kubernetes.io/instance": "support"}


def _pdb(selector: dict | None, namespace: str = "apps") -> dict:
    spec = {"maxUnavailable": 1}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "chat-app", "namespace": namespace},
            "spec": spec}


def _hpa(minimum: int) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "chat-app", "namespace": "apps"},
            "spec": {"minReplicas": minimum, "maxReplicas": 4,
                     "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-app"}}}


def _scaled_object(minimum: int) -> dict:
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "chat-app", "namespace": "apps"},
            "spec": {"minReplicaCount": minimum, "maxReplicaCount": 4, "scaleTargetRef": {"name": "chat-app"},
                     "triggers": [{"type": "prometheus", "metadata": {"serverAddress": "http://prom:9090",
                                                                      "query": "sum(x)", "threshold": "4"}}]}}


def _app(make, replicas: int | None):
    return make.k8s(make.deployment("chat-app", replicas=replicas, labels=LABELS))


@pytest.mark.parametrize("selector", [
    {"matchLabels": {"app.kubernetes.io/name": "chat-app"}},
    {"matchExpressions": [{"key": "app.kubernetes.io/instance", "operator": "In", "values": ["support"]}]},
    {},                                                                            # policy/v1: every pod of the namespace
])
def test_matching_budget_passes(check, make, selector):
    pdb = _pdb(selector)
    make.assert_valid(pdb)
    assert check("pdb-for-replicas", [_app(make, 3), make.k8s(pdb)], CTX) == []


def test_single_replica_needs_none(check, make):
    assert check("pdb-for-replicas", [_app(make, 1)], CTX) == []
    assert check("pdb-for-replicas", [_app(make, None)], CTX) == []


@pytest.mark.parametrize("pdb", [
    None,
    _pdb({"matchLabels": {"app.kubernetes.io/name": "other"}}),
    _pdb({"matchLabels": {"app.kubernetes.io/name": "chat-app"}}, namespace="elsewhere"),
    _pdb(None),                                                                    # no selector selects nothing
])
def test_replicas_without_matching_budget_fail(check, make, pdb):
    records = [_app(make, 2)] + ([make.k8s(pdb)] if pdb else [])
    msgs = check("pdb-for-replicas", records, CTX)
    assert len(msgs) == 1 and msgs[0].startswith("runs 2 replicas") and "PodDisruptionBudget" in msgs[0]


@pytest.mark.parametrize("scaler,needs", [(_hpa(2), True), (_hpa(1), False), (_scaled_object(2), True),
                                          (_scaled_object(0), False)])
def test_autoscaler_minimum_counts(check, make, scaler, needs):
    make.assert_valid(scaler)
    msgs = check("pdb-for-replicas", [_app(make, None), make.k8s(scaler)], CTX)
    assert bool(msgs) is needs
    if needs:
        assert "autoscaled with a minimum of 2" in msgs[0]
