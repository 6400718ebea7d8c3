"""Pure builders for the gateway's controllers: chart coordinates and values, and the
NetworkPolicies of the controller and AI controller namespaces.

- Envoy Gateway (``gateway-helm``) with its CRDs off (``gateway-crds-helm`` installs the
  Gateway API standard channel and Envoy Gateway's CRDs), Envoy AI Gateway as its extension
  manager (xDS hooks, InferencePool as a backend resource), the Backend API on, and global rate
  limits kept in the dedicated Valkey.
- Envoy AI Gateway (``ai-gateway-crds-helm`` + ``ai-gateway-helm``): its controller serves the
  extension server Envoy Gateway calls and the webhook that adds the external processor to
  every Envoy pod.
- The InferencePool CRD from the Inference Extension's release manifests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from components.common.k8s import topology_spread
from components.common.security import Resources
from components.data.common import API_SERVER_PORTS
from components.edge import ratelimit_store_specs as store
from components.edge.contracts import TENANT_HEADER, TENANT_METRIC_LABEL
from components.platform.network_policies import namespace_peer as _ns
from components.platform.network_policies import network_policy as _policy
from components.platform.network_policies import tcp

EG_VERSION = "v1.9.0"
EG_CRDS_CHART = "oci://docker.io/envoyproxy/gateway-crds-helm"
EG_CHART = "oci://docker.io/envoyproxy/gateway-helm"
AI_GATEWAY_VERSION = "v1.1.0"
AI_CRDS_CHART = "oci://docker.io/envoyproxy/ai-gateway-crds-helm"
AI_CHART = "oci://docker.io/envoyproxy/ai-gateway-helm"
INFERENCE_EXTENSION_VERSION = "v1.5.0"
# All of the Inference Extension's CRDs (InferencePool v1 and the x-k8s.io alpha kinds the
# endpoint picker watches); ``make artifacts`` builds it from config/crd for each release.
INFERENCE_CRDS_URL = ("https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/"
                      f"{INFERENCE_EXTENSION_VERSION}/manifests.yaml")

EG_RELEASE = "eg"
AI_RELEASE = "aieg"
# CRD-only releases hold no pods; their Helm records live in kube-system, which exists before
# the gateway's namespaces and so lets cert-manager wait for the Gateway API CRDs alone.
CRDS_RELEASE_NAMESPACE = "kube-system"

# Envoy Gateway controller (charts/gateway-helm values deployment.ports, the webhook Service port).
EG_XDS_PORT = 18000
EG_RATELIMIT_XDS_PORT = 18001
EG_WASM_PORT = 18002
EG_METRICS_PORT = 19001
EG_WEBHOOK_PORT = 9443
EG_SELECTOR = {"control-plane": "envoy-gateway"}
CERTGEN_SELECTOR = {"app": "certgen"}
# Envoy Gateway's rate-limit service (internal/infrastructure/kubernetes/ratelimit).
RATELIMIT_GRPC_PORT = 8081
RATELIMIT_METRICS_PORT = 19001
RATELIMIT_SELECTOR = {"app.kubernetes.io/name": "envoy-ratelimit", "app.kubernetes.io/component": "ratelimit"}
# Envoy AI Gateway controller (ai-gateway-helm values controller.service.ports).
AI_EXTENSION_PORT = 1063
AI_WEBHOOK_PORT = 9443
AI_METRICS_PORT = 8080
AI_CONTROLLER_SERVICE = "ai-gateway-controller"   # controller.fullnameOverride
AI_SELECTOR = {"app.kubernetes.io/name": "ai-gateway-helm", "app.kubernetes.io/instance": AI_RELEASE}

EG_RESOURCES = Resources(cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi")
AI_RESOURCES = Resources(cpu_request="100m", memory_request="128Mi", cpu_limit="1", memory_limit="512Mi")
RATELIMIT_RESOURCES = Resources(cpu_request="100m", memory_request="64Mi", cpu_limit="1", memory_limit="256Mi")
CERTGEN_RESOURCES = Resources(cpu_request="20m", memory_request="32Mi", cpu_limit="200m", memory_limit="128Mi")

def _tcp(*ports: int) -> list[dict]:
    return tcp(ports)


def crds_values() -> dict:
    """gateway-crds-helm: the Gateway API standard channel and Envoy Gateway's CRDs."""
    return {"crds": {"gatewayAPI": {"enabled": True, "channel": "standard"}, "envoyGateway": {"enabled": True}}}


def _spread(selector: Mapping[str, str]) -> list[dict]:
    return topology_spread(selector, zone_spread=False)


def extension_manager(ai_namespace: str) -> dict:
    """Envoy AI Gateway as Envoy Gateway's extension (ai-gateway v1.1.0
    manifests/envoy-gateway-values.yaml and examples/inference-pool's addon)."""
    every = {"includeAll": True}
    return {
        "hooks": {"xdsTranslator": {
            "translation": {"listener": every, "route": every, "cluster": every, "secret": every},
            "post": ["Translation", "Cluster", "Route"]}},
        "service": {"fqdn": {"hostname": f"{AI_CONTROLLER_SERVICE}.{ai_namespace}.svc.cluster.local",
                             "port": AI_EXTENSION_PORT}},
        "backendResources": [{"group": "inference.networking.k8s.io", "kind": "InferencePool", "version": "v1"}],
    }


def gateway_values(namespace: str, ai_namespace: str, *, replicas: int = 1) -> dict:
    """gateway-helm values. ``replicas`` > 1 runs the controller highly available with a PDB
    (it elects a leader; every replica serves xDS)."""
    ha = replicas > 1
    config = {
        "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
        "logging": {"level": {"default": "info"}},
        "extensionApis": {"enableBackend": True, "enableEnvoyPatchPolicy": True},
        "extensionManager": extension_manager(ai_namespace),
        "rateLimit": {"backend": {"type": "Redis", "redis": {"url": store.redis_url(namespace)}}},
        "provider": {"type": "Kubernetes", "kubernetes": {
            "rateLimitDeployment": {
                "replicas": 2 if ha else 1,
                "container": {"resources": RATELIMIT_RESOURCES.to_k8s()},
                **({"pod": {"topologySpreadConstraints": _spread(RATELIMIT_SELECTOR)}} if ha else {}),
            },
            **({"rateLimitPDB": {"minAvailable": 1}} if ha else {}),
        }},
    }
    values: dict = {
        "crds": {"enabled": False},
        "deployment": {
            "replicas": 2 if ha else 1,
            "envoyGateway": {"resources": EG_RESOURCES.to_k8s()},
            **({"pod": {"topologySpreadConstraints": _spread(EG_SELECTOR)}} if ha else {}),
        },
        "certgen": {"job": {"resources": CERTGEN_RESOURCES.to_k8s()}},
        "config": {"envoyGateway": config},
    }
    if ha:
        values["podDisruptionBudget"] = {"minAvailable": 1}
    return values


def ai_gateway_values(eg_namespace: str, *, replicas: int = 1) -> dict:
    """ai-gateway-helm values: where Envoy Gateway runs (its Envoy pods get the external
    processor injected), requests and limits, a PDB when highly available, and the tenant
    header (set after authentication) as a label of the GenAI metrics."""
    ha = replicas > 1
    controller: dict = {
        "replicaCount": 2 if ha else 1,
        "resources": AI_RESOURCES.to_k8s(),
        "metricsRequestHeaderAttributes": f"{TENANT_HEADER}:{TENANT_METRIC_LABEL}",
    }
    if ha:
        controller["podDisruptionBudget"] = {"enabled": True, "minAvailable": 1}
        controller["topologySpreadConstraints"] = _spread(AI_SELECTOR)
    return {"controller": controller, "envoyGateway": {"namespace": eg_namespace}}


# NetworkPolicies --------------------------------------------------------------------------


def _pods(selector: Mapping[str, str], namespace: Optional[str] = None) -> dict:
    peer: dict = {"podSelector": {"matchLabels": dict(selector)}}
    if namespace is not None:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    return peer


def envoy_selector() -> dict[str, str]:
    """Every Envoy pod Envoy Gateway runs (internal/infrastructure/kubernetes/proxy EnvoyAppLabel)."""
    return {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"}


def controller_policies(namespace: str, labels: Mapping[str, str], *, ai_namespace: str,
                        metrics_namespace: Optional[str] = None) -> list[dict]:
    """The controller namespace's control plane: Envoy Gateway, its rate limiter and the store.
    (The Envoy pods' own policies come with the Gateways.)"""
    eg, rl, kv = _pods(EG_SELECTOR), _pods(RATELIMIT_SELECTOR), _pods(store.selector())
    out = [
        _policy("allow-egress-api-server", namespace, labels, {
            "podSelector": {"matchExpressions": [
                {"key": "control-plane", "operator": "In", "values": ["envoy-gateway"]}]},
            "policyTypes": ["Egress"], "egress": [{"ports": _tcp(*API_SERVER_PORTS)}]}),
        _policy("allow-certgen-egress-api-server", namespace, labels, {
            "podSelector": {"matchLabels": dict(CERTGEN_SELECTOR)},
            "policyTypes": ["Egress"], "egress": [{"ports": _tcp(*API_SERVER_PORTS)}]}),
        # xDS for the Envoy pods and the rate limiter; the topology webhook from the API server,
        # whose address no selector matches.
        _policy("allow-envoy-gateway", namespace, labels, {
            "podSelector": {"matchLabels": dict(EG_SELECTOR)}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [_pods(envoy_selector())], "ports": _tcp(EG_XDS_PORT, EG_WASM_PORT)},
                        {"from": [rl], "ports": _tcp(EG_RATELIMIT_XDS_PORT)},
                        {"ports": _tcp(EG_WEBHOOK_PORT)}],
            "egress": [{"to": [_pods(AI_SELECTOR, ai_namespace)], "ports": _tcp(AI_EXTENSION_PORT)}]}),
        _policy("allow-ratelimit", namespace, labels, {
            "podSelector": {"matchLabels": dict(RATELIMIT_SELECTOR)}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [_pods(envoy_selector())], "ports": _tcp(RATELIMIT_GRPC_PORT)}],
            "egress": [{"to": [eg], "ports": _tcp(EG_RATELIMIT_XDS_PORT)},
                       {"to": [kv], "ports": _tcp(store.PORT)}]}),
        _policy("allow-ratelimit-store", namespace, labels, {
            "podSelector": {"matchLabels": store.selector()}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [rl], "ports": _tcp(store.PORT)}]}),
    ]
    if metrics_namespace:
        out.append(_policy("allow-metrics-control-plane", namespace, labels, {
            "podSelector": {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In",
                                                  "values": ["envoy-ratelimit", "gateway-helm"]}]},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_ns(metrics_namespace)], "ports": _tcp(EG_METRICS_PORT)}]}))
    return out


def ai_controller_policies(namespace: str, labels: Mapping[str, str], *, eg_namespace: str,
                           metrics_namespace: Optional[str] = None) -> list[dict]:
    """Envoy AI Gateway's controller: watches the API server, serves Envoy Gateway's extension
    hooks and the pod webhook (failurePolicy Fail: Envoy pods are not created without it)."""
    out = [
        _policy("allow-egress-api-server", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": _tcp(*API_SERVER_PORTS)}]}),
        _policy("allow-extension-server", namespace, labels, {
            "podSelector": {"matchLabels": dict(AI_SELECTOR)}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [_pods(EG_SELECTOR, eg_namespace)], "ports": _tcp(AI_EXTENSION_PORT)},
                        {"ports": _tcp(AI_WEBHOOK_PORT)}]}),
    ]
    if metrics_namespace:
        out.append(_policy("allow-metrics", namespace, labels, {
            "podSelector": {"matchLabels": dict(AI_SELECTOR)}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [_ns(metrics_namespace)], "ports": _tcp(AI_METRICS_PORT)}]}))
    return out
