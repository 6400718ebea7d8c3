"""``default-deny-per-namespace``: every namespace the stack creates starts closed.

A NetworkPolicy with an empty pod selector, both policy types and no rules denies all
traffic to and from every pod of its namespace; the explicit allowances sit beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

from .k8s import get, is_kind, name_of, namespace_of
from .model import UNKNOWN, Finding, PolicyContext, Record


def is_default_deny(policy: Record) -> bool:
    spec = policy.props.get("spec")
    if not isinstance(spec, Mapping):
        return False
    selector = spec.get("podSelector")
    if not isinstance(selector, Mapping) or selector.get("matchLabels") or selector.get("matchExpressions"):
        return False
    return set(spec.get("policyTypes") or []) == {"Ingress", "Egress"} and not spec.get("ingress") and not spec.get("egress")


def default_deny_per_namespace(records: list[Record], ctx: PolicyContext) -> list[Finding]:
    closed = {namespace_of(r) for r in records if is_kind(r, "NetworkPolicy", "networking.k8s.io") and is_default_deny(r)}
    out = []
    for r in records:
        if not is_kind(r, "Namespace"):
            continue
        name = get(r.props, "metadata", "name") or name_of(r)
        if name == UNKNOWN or name in closed:
            continue
        out.append(Finding(r.urn, "has no default-deny NetworkPolicy: add one in it with podSelector {}, "
                                  "policyTypes [Ingress, Egress] and no rules (PlatformNamespace creates it), then "
                                  "allow what its pods need explicitly"))
    return out
