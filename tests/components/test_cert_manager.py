"""cert-manager: chart values against the reference values and schema, namespace policies."""

from __future__ import annotations

import pytest

from components.platform import cert_manager_specs as cm
from infra.plan.validate import has_chart_reference, validate_helm_values, validate_manifest

LABELS = {"app.kubernetes.io/name": "network-policy"}


def test_values_exist_upstream_and_pass_the_chart_schema():
    assert has_chart_reference(cm.CERT_MANAGER_CHART)
    for values in (cm.cert_manager_values("cert-manager"),
                   cm.cert_manager_values("cert-manager", replicas=2, service_monitor=True,
                                          service_monitor_labels={"release": "kps"})):
        assert validate_helm_values(cm.CERT_MANAGER_CHART, values) == []
    assert (cm.CERT_MANAGER_VERSION, cm.CERT_MANAGER_REPOSITORY) == ("v1.21.1", "https://charts.jetstack.io")


def test_crds_kept_and_lease_in_its_own_namespace():
    v = cm.cert_manager_values("certs")
    assert v["crds"] == {"enabled": True, "keep": True}
    assert v["global"]["leaderElection"]["namespace"] == "certs"


def test_every_pod_has_requests_and_limits():
    v = cm.cert_manager_values("cert-manager")
    for res in (v["resources"], v["webhook"]["resources"], v["cainjector"]["resources"],
                v["startupapicheck"]["resources"]):
        assert set(res) == {"requests", "limits"}
        assert set(res["requests"]) == set(res["limits"]) == {"cpu", "memory"}


def test_service_monitor_only_when_asked():
    off = cm.cert_manager_values("cert-manager")
    assert off["prometheus"] == {"enabled": False}
    on = cm.cert_manager_values("cert-manager", service_monitor=True, service_monitor_labels={"release": "kps"})
    assert on["prometheus"] == {"enabled": True, "servicemonitor": {"enabled": True, "labels": {"release": "kps"}}}


def test_replicas_and_disruption_budgets():
    one = cm.cert_manager_values("cert-manager")
    assert "podDisruptionBudget" not in one and one["replicaCount"] == 1
    ha = cm.cert_manager_values("cert-manager", replicas=3)
    for part in (ha, ha["webhook"], ha["cainjector"]):
        assert part["replicaCount"] == 3 and part["podDisruptionBudget"] == {"enabled": True}


def by_name(policies: list[dict]) -> dict[str, dict]:
    for p in policies:
        assert validate_manifest(p, "1.33") == [], p["metadata"]["name"]
    return {p["metadata"]["name"]: p["spec"] for p in policies}


def test_policies_api_server_and_webhook():
    p = by_name(cm.cert_manager_policies("cert-manager", LABELS))
    assert set(p) == {"allow-egress-api-server", "allow-webhook"}
    assert [x["port"] for x in p["allow-egress-api-server"]["egress"][0]["ports"]] == [443, 6443]
    assert p["allow-webhook"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 10250}]}]


@pytest.mark.parametrize(("monitor", "ns", "present"), [(True, "monitoring", True), (True, None, False),
                                                        (False, "monitoring", False)])
def test_metrics_policy_needs_a_monitor_and_its_namespace(monitor, ns, present):
    p = by_name(cm.cert_manager_policies("cert-manager", LABELS, metrics_namespace=ns, service_monitor=monitor))
    assert ("allow-metrics" in p) is present
    if present:
        (rule,) = p["allow-metrics"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": 9402}]
        assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_acme_self_checks():
    p = by_name(cm.cert_manager_policies("cert-manager", LABELS, acme_self_checks=True))
    ports = {(x["protocol"], x["port"]) for x in p["allow-egress-acme-checks"]["egress"][0]["ports"]}
    # 10080: the public Envoy's container port for listener 80, which an in-cluster call to the
    # load balancer's IP reaches directly.
    assert ports == {("TCP", 80), ("TCP", 10080), ("UDP", 53), ("TCP", 53)}
