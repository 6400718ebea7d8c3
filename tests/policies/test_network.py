"""default-deny-per-namespace."""

from __future__ import annotations

import pytest

from policies.genai_policies import PolicyContext

CTX = PolicyContext()


def _namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _policy(namespace: str, name: str = "default-deny", **spec) -> dict:
    body = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    body.update(spec)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": body}


def test_namespace_with_default_deny_passes(check, make):
    deny = _policy("apps")
    make.assert_valid(deny)
    records = [make.k8s(_namespace("apps")), make.k8s(deny, name="apps-default-deny")]
    assert check("default-deny-per-namespace", records, CTX) == []


def test_namespace_without_any_policy_fails(check, make):
    records = [make.k8s(_namespace("apps")), make.k8s(_namespace("data")), make.k8s(_policy("data"), name="data-deny")]
    msgs = check("default-deny-per-namespace", records, CTX)
    assert len(msgs) == 1 and msgs[0].startswith("has no default-deny NetworkPolicy")


@pytest.mark.parametrize("spec", [
    {"podSelector": {"matchLabels": {"app": "web"}}},                        # selects some pods only
    {"policyTypes": ["Ingress"]},                                            # egress left open
    {"ingress": [{"from": [{"podSelector": {}}]}]},                          # an allowance, not a deny
    {"egress": [{"to": [{"namespaceSelector": {}}]}]},
])
def test_policies_that_are_not_a_default_deny(check, make, spec):
    policy = _policy("apps", "not-a-deny", **spec)
    make.assert_valid(policy)
    records = [make.k8s(_namespace("apps")), make.k8s(policy)]
    assert len(check("default-deny-per-namespace", records, CTX)) == 1


def test_deny_in_another_namespace_does_not_count(check, make):
    records = [make.k8s(_namespace("apps")), make.k8s(_policy("other"))]
    assert check("default-deny-per-namespace", records, CTX)
