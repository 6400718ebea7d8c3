"""The Gateways: class, EnvoyProxy per Gateway (load balancer per cloud, replicas, PDB, spread),
listeners, redirect, client policy and the Envoy pods' NetworkPolicies."""

from __future__ import annotations

import pytest

from components.common.security import Resources
from components.edge import gateway_specs as gs
from components.edge.contracts import (
    INTERNAL_GATEWAY,
    OWNING_GATEWAY_NAME,
    PUBLIC_GATEWAY,
    ROUTES_NAMESPACE_LABEL,
    TENANT_LABEL,
)
from components.edge.gateway import GatewaySettings
from infra.plan.validate import validate_manifest

LABELS = {"app.kubernetes.io/name": "gateway"}
NS, CTL = "genai-gateway", "envoy-gateway-system"
RES = Resources(cpu_request="500m", memory_request="512Mi", cpu_limit="1", memory_limit="1Gi")


def valid(obj: dict) -> dict:
    assert validate_manifest(obj, "1.33") == [], obj["metadata"]["name"]
    return obj


def proxy(**kw) -> dict:
    settings = gs.ProxySettings(**{"service_type": "LoadBalancer", "replicas": 2, "resources": RES, **kw})
    return valid(gs.envoy_proxy(gs.PUBLIC_PROXY, NS, LABELS, gateway=PUBLIC_GATEWAY, service_name="genai-gateway",
                                proxy=settings))["spec"]["provider"]["kubernetes"]


@pytest.mark.parametrize(("kind", "internal", "expected"), [
    ("eks", False, {"service.beta.kubernetes.io/aws-load-balancer-type": "external",
                    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}),
    ("eks", True, {"service.beta.kubernetes.io/aws-load-balancer-type": "external",
                   "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                   "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}),
    ("gke", False, {}),
    ("gke", True, {"networking.gke.io/load-balancer-type": "Internal"}),
    ("aks", False, {}),
    ("aks", True, {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}),
    ("existing", True, {}),
])
def test_load_balancer_annotations_per_cloud(kind, internal, expected):
    assert gs.lb_annotations(kind, internal=internal) == expected


def test_stack_annotations_win():
    out = gs.lb_annotations("eks", internal=False, extra={"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
                                                         "metallb.universe.tf/address-pool": "x"})
    assert out["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert out["metallb.universe.tf/address-pool"] == "x"


def test_public_proxy_service_replicas_budget_and_spread():
    kube = proxy(annotations={"a": "b"}, source_ranges=("10.0.0.0/8",), zone_spread=True)
    svc = kube["envoyService"]
    assert svc == {"name": "genai-gateway", "type": "LoadBalancer", "annotations": {"a": "b"},
                   "externalTrafficPolicy": "Local", "loadBalancerSourceRanges": ["10.0.0.0/8"]}
    dep = kube["envoyDeployment"]
    assert dep["replicas"] == 2 and dep["container"]["resources"] == RES.to_k8s()
    spread = dep["pod"]["topologySpreadConstraints"]
    assert [(c["topologyKey"], c["whenUnsatisfiable"]) for c in spread] == [
        ("kubernetes.io/hostname", "ScheduleAnyway"), ("topology.kubernetes.io/zone", "DoNotSchedule")]
    assert spread[0]["labelSelector"]["matchLabels"][OWNING_GATEWAY_NAME] == PUBLIC_GATEWAY
    assert kube["envoyPDB"] == {"minAvailable": 1}


def test_single_replica_has_no_budget_and_cluster_ip_no_lb_fields():
    kube = proxy(service_type="ClusterIP", replicas=1, source_ranges=("10.0.0.0/8",))
    assert "envoyPDB" not in kube
    assert kube["envoyService"] == {"name": "genai-gateway", "type": "ClusterIP"}
    assert len(kube["envoyDeployment"]["pod"]["topologySpreadConstraints"]) == 1


def test_gateways_and_class():
    cls = valid(gs.gateway_class(LABELS))
    assert cls["spec"]["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    pub = valid(gs.public_gateway(NS, LABELS, "genai-gateway-tls"))["spec"]
    assert pub["infrastructure"]["parametersRef"] == {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy",
                                                      "name": gs.PUBLIC_PROXY}
    https, http = pub["listeners"]
    assert (https["name"], https["port"], https["protocol"]) == ("https", 443, "HTTPS")
    assert https["tls"] == {"mode": "Terminate", "certificateRefs": [
        {"group": "", "kind": "Secret", "name": "genai-gateway-tls"}]}
    assert (http["name"], http["port"], http["protocol"]) == ("http", 80, "HTTP")
    for listener in (https, http):
        assert listener["allowedRoutes"]["namespaces"] == {
            "from": "Selector", "selector": {"matchLabels": {ROUTES_NAMESPACE_LABEL: "true"}}}
    internal = valid(gs.internal_gateway(NS, LABELS))["spec"]
    assert [(x["name"], x["port"], x["protocol"]) for x in internal["listeners"]] == [("http", 80, "HTTP")]
    assert internal["infrastructure"]["parametersRef"]["name"] == gs.INTERNAL_PROXY


def test_redirect_route_covers_every_hostname_on_the_http_listener():
    settings = GatewaySettings(hostname="api.example.com", extra_hostnames=("chat.example.com", "api.example.com"))
    route = valid(gs.redirect_route(NS, LABELS, settings.hostnames))["spec"]
    assert route["hostnames"] == ["api.example.com", "chat.example.com"]
    assert route["parentRefs"][0]["name"] == PUBLIC_GATEWAY and route["parentRefs"][0]["sectionName"] == "http"
    (rule,) = route["rules"]
    assert rule["filters"] == [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]


def test_client_policy_targets_both_gateways():
    spec = valid(gs.client_traffic_policy(NS, LABELS, "300s"))["spec"]
    assert [t["name"] for t in spec["targetRefs"]] == [PUBLIC_GATEWAY, INTERNAL_GATEWAY]
    assert spec["timeout"]["http"]["requestReceivedTimeout"] == "300s"


def policies(**kw) -> dict[str, dict]:
    out = gs.proxy_policies(CTL, LABELS, gateway_namespace=NS, **kw)
    return {p["metadata"]["name"]: valid(p)["spec"] for p in out}


def ports(rule: dict) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def test_public_proxies_open_to_all_internal_only_to_tenants():
    p = policies()
    pub = p["allow-public-proxy-ingress"]
    assert pub["podSelector"]["matchLabels"][OWNING_GATEWAY_NAME] == PUBLIC_GATEWAY
    assert pub["ingress"] == [{"ports": [{"protocol": "TCP", "port": 10443}, {"protocol": "TCP", "port": 10080}]}]
    internal = p["allow-internal-proxy-ingress"]
    assert internal["podSelector"]["matchLabels"][OWNING_GATEWAY_NAME] == INTERNAL_GATEWAY
    (rule,) = internal["ingress"]
    assert ports(rule) == {10080}
    assert rule["from"] == [
        {"namespaceSelector": {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}}}]
    assert ports(p["allow-proxy-readiness"]["ingress"][0]) == {19003}


def test_proxy_egress():
    bare = policies()["allow-proxy-egress"]["egress"]
    assert [ports(r) for r in bare] == [{18000, 18002}, {8081}, set()]
    assert bare[2]["to"] == [{"namespaceSelector": {"matchLabels": {ROUTES_NAMESPACE_LABEL: "true"}}}]
    full = policies(models_namespace="genai-models", jwks_egress=True, metrics_namespace="monitoring")
    egress = full["allow-proxy-egress"]["egress"]
    assert {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "genai-models"}}}]} in egress
    assert {"ports": [{"protocol": "TCP", "port": 443}]} in egress
    assert ports(full["allow-proxy-metrics"]["ingress"][0]) == {19001, 1064}
    assert "allow-proxy-metrics" not in policies()


def test_gateway_namespace_admits_public_proxies_to_acme_solvers():
    (p,) = gs.gateway_namespace_policies(NS, LABELS, controller_namespace=CTL)
    spec = valid(p)["spec"]
    assert spec["podSelector"]["matchLabels"] == {"acme.cert-manager.io/http01-solver": "true"}
    (rule,) = spec["ingress"]
    assert ports(rule) == {8089}
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": CTL}
    assert rule["from"][0]["podSelector"]["matchLabels"][OWNING_GATEWAY_NAME] == PUBLIC_GATEWAY


def test_proxies_and_controller_are_scraped_on_their_metrics_ports():
    from components.edge import gateway_specs as specs
    monitors = specs.pod_monitors("envoy-gateway-system", {"app.kubernetes.io/name": "gateway"}, {"release": "kps"})
    by_name = {m["metadata"]["name"]: m for m in monitors}
    proxies, controller = by_name["envoy-proxies"], by_name["envoy-gateway"]
    assert proxies["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "envoy",
                                                          "app.kubernetes.io/component": "proxy"}
    assert proxies["spec"]["podMetricsEndpoints"][0]["path"] == "/stats/prometheus"
    assert controller["spec"]["selector"]["matchLabels"] == {"control-plane": "envoy-gateway"}
    assert all(m["metadata"]["labels"]["release"] == "kps" for m in monitors)
    for m in monitors:
        assert m["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
        assert validate_manifest(m, "1.33") == []
