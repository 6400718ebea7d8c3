"""Envoy Gateway, Envoy AI Gateway and the rate-limit store: chart values against the charts'
reference values, and the controller namespaces' NetworkPolicies."""

from __future__ import annotations

from components.edge import controllers_specs as ctl
from components.edge import ratelimit_store_specs as store
from infra.plan.validate import has_chart_reference, validate_helm_values, validate_manifest

LABELS = {"app.kubernetes.io/name": "network-policy"}
EG_NS, AI_NS = "envoy-gateway-system", "envoy-ai-gateway-system"


def eg_errors(values: dict) -> list[str]:
    # config.envoyGateway is Envoy Gateway's own EnvoyGateway configuration, which the chart
    # merges into its ConfigMap: its keys follow api/v1alpha1 (checked below), not values.yaml.
    return [e for e in validate_helm_values("gateway-helm", values) if "config.envoyGateway." not in e]


def test_chart_references():
    assert has_chart_reference("gateway-helm") and has_chart_reference("ai-gateway-helm")
    assert has_chart_reference(store.CHART)
    # The CRD-only charts ship no reference values: nothing to check their values against.
    assert not has_chart_reference("gateway-crds-helm") and not has_chart_reference("ai-gateway-crds-helm")
    assert (ctl.EG_VERSION, ctl.AI_GATEWAY_VERSION, ctl.INFERENCE_EXTENSION_VERSION) == ("v1.9.0", "v1.1.0", "v1.5.0")
    assert ctl.INFERENCE_CRDS_URL.endswith("/releases/download/v1.5.0/manifests.yaml")


def test_crds_standard_channel():
    assert ctl.crds_values() == {"crds": {"gatewayAPI": {"enabled": True, "channel": "standard"},
                                          "envoyGateway": {"enabled": True}}}


def test_envoy_gateway_values():
    for replicas in (1, 2):
        v = ctl.gateway_values(EG_NS, AI_NS, replicas=replicas)
        assert eg_errors(v) == []
        assert v["crds"] == {"enabled": False}
        eg = v["config"]["envoyGateway"]
        assert eg["extensionApis"]["enableBackend"] is True
        em = eg["extensionManager"]
        assert em["service"]["fqdn"] == {"hostname": f"ai-gateway-controller.{AI_NS}.svc.cluster.local", "port": 1063}
        assert em["backendResources"] == [{"group": "inference.networking.k8s.io", "kind": "InferencePool",
                                           "version": "v1"}]
        assert em["hooks"]["xdsTranslator"]["post"] == ["Translation", "Cluster", "Route"]
        assert eg["rateLimit"]["backend"] == {
            "type": "Redis", "redis": {"url": f"ratelimit-valkey.{EG_NS}.svc.cluster.local:6379"}}
        res = v["deployment"]["envoyGateway"]["resources"]
        assert set(res) == {"requests", "limits"}


def test_controllers_highly_available_with_budgets():
    one = ctl.gateway_values(EG_NS, AI_NS, replicas=1)
    assert one["deployment"]["replicas"] == 1 and "podDisruptionBudget" not in one
    two = ctl.gateway_values(EG_NS, AI_NS, replicas=2)
    assert two["deployment"]["replicas"] == 2 and two["podDisruptionBudget"] == {"minAvailable": 1}
    kube = two["config"]["envoyGateway"]["provider"]["kubernetes"]
    assert kube["rateLimitDeployment"]["replicas"] == 2 and kube["rateLimitPDB"] == {"minAvailable": 1}
    ai = ctl.ai_gateway_values(EG_NS, replicas=2)
    assert validate_helm_values("ai-gateway-helm", ai) == []
    assert ai["controller"]["replicaCount"] == 2
    assert ai["controller"]["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    assert ai["envoyGateway"] == {"namespace": EG_NS}
    single = ctl.ai_gateway_values(EG_NS)
    assert validate_helm_values("ai-gateway-helm", single) == [] and "podDisruptionBudget" not in single["controller"]


def test_rate_limit_store_has_no_auth_no_persistence():
    v = store.values()
    assert validate_helm_values(store.CHART, v) == []
    assert v["auth"] == {"enabled": False} and v["dataStorage"] == {"enabled": False}
    assert 'save ""' in v["valkeyConfig"] and "appendonly no" in v["valkeyConfig"]
    assert store.CHART_VERSION == "0.11.0"


def by_name(policies: list[dict]) -> dict[str, dict]:
    for p in policies:
        assert validate_manifest(p, "1.33") == [], p["metadata"]["name"]
    return {p["metadata"]["name"]: p["spec"] for p in policies}


def ports(rule: dict) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def test_controller_namespace_policies():
    p = by_name(ctl.controller_policies(EG_NS, LABELS, ai_namespace=AI_NS))
    eg = p["allow-envoy-gateway"]
    assert [ports(r) for r in eg["ingress"]] == [{18000, 18002}, {18001}, {9443}]
    assert eg["egress"][0]["ports"] == [{"protocol": "TCP", "port": 1063}]
    assert eg["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": AI_NS}
    rl = p["allow-ratelimit"]
    assert ports(rl["ingress"][0]) == {8081}
    assert [ports(r) for r in rl["egress"]] == [{18001}, {6379}]
    kv = p["allow-ratelimit-store"]
    assert kv["podSelector"]["matchLabels"] == store.selector()
    assert kv["ingress"] == [{"from": [{"podSelector": {"matchLabels": ctl.RATELIMIT_SELECTOR}}],
                              "ports": [{"protocol": "TCP", "port": 6379}]}]
    assert "allow-metrics-control-plane" not in p
    assert "allow-metrics-control-plane" in by_name(
        ctl.controller_policies(EG_NS, LABELS, ai_namespace=AI_NS, metrics_namespace="monitoring"))


def test_ai_controller_policies():
    p = by_name(ctl.ai_controller_policies(AI_NS, LABELS, eg_namespace=EG_NS, metrics_namespace="monitoring"))
    ext = p["allow-extension-server"]
    assert ports(ext["ingress"][0]) == {1063} and ports(ext["ingress"][1]) == {9443}
    assert ext["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == ctl.EG_SELECTOR
    assert ports(p["allow-metrics"]["ingress"][0]) == {8080}
    assert ports(p["allow-egress-api-server"]["egress"][0]) == {443, 6443}
