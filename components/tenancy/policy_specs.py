"""Pure builders for a tenant namespace's NetworkPolicies, on top of its default deny + DNS.

Who reaches what:
- the app pods (``app.kubernetes.io/component: chat-app``) accept their port only from the
  Envoy proxies of the platform's public and internal Gateways;
- every pod of the namespace may call the internal Gateway (its proxies' container port), the
  model servers' API ports when the tenant calls models directly, and each data target it was
  given (its database, vector store, cache: namespace + pod selector + ports);
- HTTPS to public addresses only when ingestion reads documents from a cloud bucket;
- Prometheus' namespace may scrape the pods on the app port and any metrics ports.
Nothing else: no other tenant, no other platform namespace, no API server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

from components.edge.contracts import (
    OWNING_GATEWAY_NAME,
    OWNING_GATEWAY_NAMESPACE,
    GatewayEndpoints,
    envoy_container_port,
)
from components.models.server_specs import COMPONENT as MODEL_SERVER_COMPONENT
from components.platform.network_policies import namespace_peer
from components.platform.network_policies import network_policy as _policy
from components.platform.network_policies import tcp as _tcp
from components.tenancy.contracts import Egress

APP_COMPONENT = "chat-app"
APP_SELECTOR = {"app.kubernetes.io/component": APP_COMPONENT}
# The internal Gateway's plain-HTTP listener; Envoy listens on its container port.
INTERNAL_LISTENER_PORT = 80
HTTPS_PORT = 443
# Addresses no object store lives at: private (RFC 1918), shared/CGNAT (RFC 6598, used for pod
# ranges by some CNIs), link-local (cloud metadata and credential endpoints) and loopback.
# Excluding them keeps "HTTPS to the internet" from also meaning "HTTPS to every pod, Service
# and node of the cluster". Object stores behind private endpoints (PrivateLink / Private
# Service Connect) are therefore not reached this way.
NON_PUBLIC_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
                     "127.0.0.0/8")


def _namespace(name: str) -> dict:
    return namespace_peer(name)["namespaceSelector"]


@dataclass(frozen=True)
class PolicyInputs:
    tenant: str
    namespace: str
    app_port: int = 8080
    gateway: Optional[GatewayEndpoints] = None
    models_namespace: Optional[str] = None
    model_ports: tuple[int, ...] = ()
    egress: tuple[Egress, ...] = ()
    object_store_egress: bool = False
    metrics_namespace: Optional[str] = None
    metrics_ports: tuple[int, ...] = ()


def gateway_proxies(gateway: GatewayEndpoints, gateways: Sequence[str]) -> dict:
    """The Envoy pods of the named Gateways of the platform's gateway namespace.

    Matching the owning namespace too keeps a same-named Gateway elsewhere from qualifying.
    """
    return {
        "namespaceSelector": _namespace(gateway.controller_namespace),
        "podSelector": {
            "matchLabels": {OWNING_GATEWAY_NAMESPACE: gateway.gateway_namespace},
            "matchExpressions": [{"key": OWNING_GATEWAY_NAME, "operator": "In", "values": sorted(gateways)}],
        },
    }


def data_policies(ns: str, labels: Mapping[str, str], egress: Sequence[Egress]) -> list[dict]:
    """The namespace's egress to its own databases, collection and cache, and the ingress a
    target inside the namespace (a dedicated database cluster) needs."""
    out: list[dict] = []
    if egress:
        out.append(_policy("allow-egress-data", ns, labels, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": _namespace(e.namespace),
                                "podSelector": {"matchLabels": dict(e.pod_selector)}}],
                        "ports": _tcp(e.ports)} for e in egress],
        }))
    # A target inside the namespace (a dedicated database cluster) also needs the matching
    # ingress, which the default deny would otherwise refuse.
    for i, e in enumerate(t for t in egress if t.namespace == ns):
        out.append(_policy(f"allow-local-data-{i}", ns, labels, {
            "podSelector": {"matchLabels": dict(e.pod_selector)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}], "ports": _tcp(e.ports)}],
        }))
    return out


def tenant_policies(p: PolicyInputs, labels: Mapping[str, str]) -> list[dict]:
    """The namespace's allowances (the default deny and DNS come with the namespace)."""
    ns = p.namespace
    out: list[dict] = []
    if p.gateway is not None:
        gw = p.gateway
        out.append(_policy("allow-app-from-gateway", ns, labels, {
            "podSelector": {"matchLabels": dict(APP_SELECTOR)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [gateway_proxies(gw, (gw.public_gateway, gw.internal_gateway))],
                         "ports": _tcp([p.app_port])}],
        }))
        out.append(_policy("allow-egress-gateway", ns, labels, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [gateway_proxies(gw, (gw.internal_gateway,))],
                        "ports": _tcp([envoy_container_port(INTERNAL_LISTENER_PORT)])}],
        }))
    if p.models_namespace and p.model_ports:
        out.append(_policy("allow-egress-models", ns, labels, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": _namespace(p.models_namespace),
                                "podSelector": {"matchLabels": {"app.kubernetes.io/component": MODEL_SERVER_COMPONENT}}}],
                        "ports": _tcp(p.model_ports)}],
        }))
    out += data_policies(ns, labels, p.egress)
    if p.object_store_egress:
        out.append(_policy("allow-egress-object-store", ns, labels, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(NON_PUBLIC_RANGES)}}],
                        "ports": _tcp([HTTPS_PORT])}],
        }))
    if p.metrics_namespace:
        out.append(_policy("allow-metrics-scrape", ns, labels, {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": _namespace(p.metrics_namespace)}],
                         "ports": _tcp([p.app_port, *p.metrics_ports])}],
        }))
    return out
