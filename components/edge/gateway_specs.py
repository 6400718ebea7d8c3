"""Pure builders for the Gateways: GatewayClass, one EnvoyProxy per Gateway, the public and
internal Gateways, the HTTP -> HTTPS redirect, a ClientTrafficPolicy, per-cloud load balancer
annotations and the Envoy pods' NetworkPolicies.

Envoy Gateway runs each Gateway's Envoy pods in its own (controller) namespace, labelled
with the owning Gateway, so the policies there tell the public proxies from the internal ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from components.common.k8s import topology_spread
from components.common.security import Resources
from components.edge import controllers_specs as ctl
from components.edge.contracts import (
    GATEWAY_CLASS,
    HTTP_LISTENER,
    HTTPS_LISTENER,
    INTERNAL_GATEWAY,
    INTERNAL_LISTENER,
    OWNING_GATEWAY_NAME,
    OWNING_GATEWAY_NAMESPACE,
    PUBLIC_GATEWAY,
    ROUTES_NAMESPACE_LABEL,
    TENANT_HEADER,
    TENANT_LABEL,
    envoy_container_port,
)
from components.platform.network_policies import namespace_peer as _ns
from components.platform.network_policies import network_policy as _policy
from components.platform.network_policies import tcp

GATEWAY_API = "gateway.networking.k8s.io/v1"
EG_API = "gateway.envoyproxy.io/v1alpha1"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
PUBLIC_PROXY = "genai-public"
INTERNAL_PROXY = "genai-internal"
REDIRECT_ROUTE = "https-redirect"
CLIENT_POLICY = "genai-clients"
HTTPS_PORT = 443
HTTP_PORT = 80
# Envoy (internal/xds/bootstrap): readiness on 19003, Prometheus stats on 19001; the AI
# Gateway external processor sidecar serves /metrics on its admin port 1064.
ENVOY_READINESS_PORT = 19003
ENVOY_STATS_PORT = 19001
EXTPROC_ADMIN_PORT = 1064
# cert-manager's HTTP-01 solver pods (pkg/issuer/acme/http): label and listen port.
ACME_SOLVER_LABEL = "acme.cert-manager.io/http01-solver"
ACME_SOLVER_PORT = 8089
# Inference Extension endpoint pickers answer Envoy's ext_proc calls here.
ENDPOINT_PICKER_PORT = 9002


def _tcp(*ports: int) -> list[dict]:
    return tcp(ports)


@dataclass(frozen=True)
class ProxySettings:
    """How one Gateway's Envoy pods and Service run."""

    service_type: str
    replicas: int
    resources: Resources
    annotations: Mapping[str, str] = field(default_factory=dict)
    source_ranges: tuple[str, ...] = ()
    external_traffic_policy: str = "Local"
    zone_spread: bool = False


def lb_annotations(cluster_kind: str, *, internal: bool, extra: Mapping[str, str] = {}) -> dict[str, str]:  # noqa: B006 - read only
    """Service annotations for the public Gateway's load balancer on each cloud, user's on top.

    EKS: an NLB from the AWS Load Balancer Controller with pod (ip) targets, internet-facing
    unless internal (the controller defaults to internal). GKE and AKS: their cloud
    controllers' internal-LB annotations; external is their default. Existing clusters:
    whatever the stack gives (MetalLB pools, ...).
    """
    out: dict[str, str] = {}
    if cluster_kind == "eks":
        out = {"service.beta.kubernetes.io/aws-load-balancer-type": "external",
               "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
               "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" if internal else "internet-facing"}
    elif cluster_kind == "gke" and internal:
        out = {"networking.gke.io/load-balancer-type": "Internal"}
    elif cluster_kind == "aks" and internal:
        out = {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
    return {**out, **dict(extra)}


def envoy_pod_labels(gateway: str, namespace: str) -> dict[str, str]:
    return {**ctl.envoy_selector(), OWNING_GATEWAY_NAME: gateway, OWNING_GATEWAY_NAMESPACE: namespace}


def _owner(gateway: str, namespace: str) -> dict[str, str]:
    return {OWNING_GATEWAY_NAME: gateway, OWNING_GATEWAY_NAMESPACE: namespace}



def gateway_class(labels: Mapping[str, str]) -> dict:
    return {"apiVersion": GATEWAY_API, "kind": "GatewayClass", "metadata": {"name": GATEWAY_CLASS, "labels": dict(labels)},
            "spec": {"controllerName": CONTROLLER_NAME}}


def envoy_proxy(name: str, namespace: str, labels: Mapping[str, str], *, gateway: str, service_name: str,
                proxy: ProxySettings) -> dict:
    service: dict = {"name": service_name, "type": proxy.service_type}
    if proxy.annotations:
        service["annotations"] = dict(proxy.annotations)
    if proxy.service_type in ("LoadBalancer", "NodePort"):
        service["externalTrafficPolicy"] = proxy.external_traffic_policy
    if proxy.service_type == "LoadBalancer" and proxy.source_ranges:
        service["loadBalancerSourceRanges"] = list(proxy.source_ranges)
    kube: dict = {
        "envoyService": service,
        "envoyDeployment": {
            "replicas": proxy.replicas,
            "pod": {"topologySpreadConstraints": topology_spread(_owner(gateway, namespace), proxy.zone_spread)},
            "container": {"resources": proxy.resources.to_k8s()},
        },
    }
    if proxy.replicas > 1:
        kube["envoyPDB"] = {"minAvailable": 1}
    return {"apiVersion": EG_API, "kind": "EnvoyProxy", "metadata": {"name": name, "namespace": namespace,
                                                                   "labels": dict(labels)},
            "spec": {"provider": {"type": "Kubernetes", "kubernetes": kube}}}


def _allowed_routes() -> dict:
    return {"namespaces": {"from": "Selector", "selector": {"matchLabels": {ROUTES_NAMESPACE_LABEL: "true"}}}}


def _infrastructure(proxy_name: str) -> dict:
    return {"parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": proxy_name}}


def public_gateway(namespace: str, labels: Mapping[str, str], cert_secret: str) -> dict:
    """HTTPS for clients; plain HTTP only redirects (and answers ACME HTTP-01 challenges)."""
    return {"apiVersion": GATEWAY_API, "kind": "Gateway",
            "metadata": {"name": PUBLIC_GATEWAY, "namespace": namespace, "labels": dict(labels)},
            "spec": {"gatewayClassName": GATEWAY_CLASS, "infrastructure": _infrastructure(PUBLIC_PROXY),
                     "listeners": [
                         {"name": HTTPS_LISTENER, "protocol": "HTTPS", "port": HTTPS_PORT,
                          "tls": {"mode": "Terminate", "certificateRefs": [
                              {"group": "", "kind": "Secret", "name": cert_secret}]},
                          "allowedRoutes": _allowed_routes()},
                         {"name": HTTP_LISTENER, "protocol": "HTTP", "port": HTTP_PORT,
                          "allowedRoutes": _allowed_routes()},
                     ]}}


def internal_gateway(namespace: str, labels: Mapping[str, str]) -> dict:
    """Plain HTTP inside the cluster: tenant apps and jobs, behind a ClusterIP Service."""
    return {"apiVersion": GATEWAY_API, "kind": "Gateway",
            "metadata": {"name": INTERNAL_GATEWAY, "namespace": namespace, "labels": dict(labels)},
            "spec": {"gatewayClassName": GATEWAY_CLASS, "infrastructure": _infrastructure(INTERNAL_PROXY),
                     "listeners": [{"name": INTERNAL_LISTENER, "protocol": "HTTP", "port": HTTP_PORT,
                                    "allowedRoutes": _allowed_routes()}]}}


def redirect_route(namespace: str, labels: Mapping[str, str], hostnames: Sequence[str]) -> dict:
    """Every plain-HTTP request to the public hostnames -> the same URL over HTTPS (301).
    cert-manager's challenge routes match an exact path, which wins over this prefix match."""
    return {"apiVersion": GATEWAY_API, "kind": "HTTPRoute",
            "metadata": {"name": REDIRECT_ROUTE, "namespace": namespace, "labels": dict(labels)},
            "spec": {"parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                     "name": PUBLIC_GATEWAY, "sectionName": HTTP_LISTENER}],
                     "hostnames": list(dict.fromkeys(hostnames)),
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                                "filters": [{"type": "RequestRedirect", "requestRedirect": {
                                    "scheme": "https", "statusCode": 301}}]}]}}


def client_traffic_policy(namespace: str, labels: Mapping[str, str], request_timeout: str) -> dict:
    """Bounds how long a client may take to send its request on both Gateways (slow-client
    guard; how long a model may take to answer is the routes' timeout), and drops any tenant
    header a client sends before a filter runs: JWT claims are appended to that header, not
    written over it, so a client's own value would otherwise pick another tenant's limits."""
    return {"apiVersion": EG_API, "kind": "ClientTrafficPolicy",
            "metadata": {"name": CLIENT_POLICY, "namespace": namespace, "labels": dict(labels)},
            "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": g}
                                    for g in (PUBLIC_GATEWAY, INTERNAL_GATEWAY)],
                     "timeout": {"http": {"requestReceivedTimeout": request_timeout}},
                     "headers": {"earlyRequestHeaders": {"remove": [TENANT_HEADER]}}}}


# NetworkPolicies --------------------------------------------------------------------------


def proxy_policies(namespace: str, labels: Mapping[str, str], *, gateway_namespace: str,
                   models_namespace: Optional[str] = None, metrics_namespace: Optional[str] = None,
                   jwks_egress: bool = False, internal_clients: Sequence[str] = ()) -> list[dict]:
    """The Envoy pods in the controller namespace.

    Ingress: the public proxies from anywhere on their listener ports (clients, the load
    balancer, the ACME CA); the internal proxies only from tenant namespaces, the gateway
    namespace and ``internal_clients`` (the load test's namespace); every proxy's readiness
    port from the kubelet (any source); stats from Prometheus.
    Egress: xDS from the controller, the rate limiter, the model APIs and endpoint pickers,
    namespaces that attach routes (tenant apps, ACME solvers), the issuer's JWKS when asked.
    """
    public = {"matchLabels": envoy_pod_labels(PUBLIC_GATEWAY, gateway_namespace)}
    internal = {"matchLabels": envoy_pod_labels(INTERNAL_GATEWAY, gateway_namespace)}
    every = {"matchLabels": ctl.envoy_selector()}
    listener_ports = _tcp(envoy_container_port(HTTPS_PORT), envoy_container_port(HTTP_PORT))
    out = [
        _policy("allow-public-proxy-ingress", namespace, labels, {
            "podSelector": public, "policyTypes": ["Ingress"], "ingress": [{"ports": listener_ports}]}),
        _policy("allow-internal-proxy-ingress", namespace, labels, {
            "podSelector": internal, "policyTypes": ["Ingress"], "ingress": [{
                "from": [{"namespaceSelector": {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}},
                         _ns(gateway_namespace), *(_ns(n) for n in internal_clients)],
                "ports": _tcp(envoy_container_port(HTTP_PORT))}]}),
        _policy("allow-proxy-readiness", namespace, labels, {
            "podSelector": every, "policyTypes": ["Ingress"], "ingress": [{"ports": _tcp(ENVOY_READINESS_PORT)}]}),
    ]
    egress = [
        {"to": [{"podSelector": {"matchLabels": dict(ctl.EG_SELECTOR)}}], "ports": _tcp(ctl.EG_XDS_PORT, ctl.EG_WASM_PORT)},
        {"to": [{"podSelector": {"matchLabels": dict(ctl.RATELIMIT_SELECTOR)}}], "ports": _tcp(ctl.RATELIMIT_GRPC_PORT)},
        # Tenant apps published on the gateway and cert-manager's HTTP-01 solvers.
        {"to": [{"namespaceSelector": {"matchLabels": {ROUTES_NAMESPACE_LABEL: "true"}}}]},
    ]
    if models_namespace:
        # Model APIs listen on their engines' own ports; the endpoint pickers on 9002.
        egress.append({"to": [_ns(models_namespace)]})
    if jwks_egress:
        egress.append({"ports": _tcp(443)})
    out.append(_policy("allow-proxy-egress", namespace, labels, {
        "podSelector": every, "policyTypes": ["Egress"], "egress": egress}))
    if metrics_namespace:
        out.append(_policy("allow-proxy-metrics", namespace, labels, {
            "podSelector": every, "policyTypes": ["Ingress"], "ingress": [{
                "from": [_ns(metrics_namespace)], "ports": _tcp(ENVOY_STATS_PORT, EXTPROC_ADMIN_PORT)}]}))
    return out


def gateway_namespace_policies(namespace: str, labels: Mapping[str, str], *, controller_namespace: str) -> list[dict]:
    """The gateway namespace runs no pods of its own; only cert-manager's HTTP-01 solvers, which
    the public proxies must reach while a challenge is open."""
    return [_policy("allow-acme-solver", namespace, labels, {
        "podSelector": {"matchLabels": {ACME_SOLVER_LABEL: "true"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{**_ns(controller_namespace),
                               "podSelector": {"matchLabels": envoy_pod_labels(PUBLIC_GATEWAY, namespace)}}],
                     "ports": _tcp(ACME_SOLVER_PORT)}]})]


# Metrics ------------------------------------------------------------------------------------

MONITORING_API = "monitoring.coreos.com/v1"


def pod_monitors(namespace: str, labels: Mapping[str, str], extra_labels: Mapping[str, str],
                 interval: str = "30s") -> list[dict]:
    """PodMonitors for the Envoy proxies (port ``metrics``, Envoy's ``/stats/prometheus``: requests,
    latency and errors per route and backend; and AI Gateway's external processor beside each
    proxy, port ``aigw-admin``, ``/metrics``: GenAI requests, latency and tokens per model and
    tenant) and for Envoy Gateway's controller (``metrics``, ``/metrics``), named so by Envoy
    Gateway v1.9.0's proxy resource and chart and AI Gateway v1.1.0's sidecar."""
    def monitor(name: str, selector: Mapping[str, str], endpoints: list[tuple[str, str]]) -> dict:
        return {"apiVersion": MONITORING_API, "kind": "PodMonitor",
                "metadata": {"name": name, "namespace": namespace, "labels": {**dict(labels), **dict(extra_labels)}},
                "spec": {"selector": {"matchLabels": dict(selector)},
                         "podMetricsEndpoints": [{"port": port, "path": path, "interval": interval}
                                                 for port, path in endpoints]}}
    return [monitor("envoy-proxies", ctl.envoy_selector(), [("metrics", "/stats/prometheus"), ("aigw-admin", "/metrics")]),
            monitor("envoy-gateway", ctl.EG_SELECTOR, [("metrics", "/metrics")])]
