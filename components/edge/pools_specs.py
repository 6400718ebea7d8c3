"""Pure builders for one vLLM model's InferencePool and endpoint picker (EPP).

The ``inferencepool`` chart of the Gateway API Inference Extension renders the InferencePool
(named after the release), the EPP Deployment, Service, ConfigMap and RBAC; its default plugin
set scores replicas by queue depth, KV-cache utilization and prefix-cache hits, reading each
model server's ``/metrics``. The chart's EPP Deployment has no securityContext setting, so
its pods only pass PSA ``baseline``.

The EPP pods carry ``inferencepool: <release>-epp`` (chart helper ``selectorLabels``; the
release name is cut at 40 characters) and listen on 9002 (ext-proc gRPC), 9003 (gRPC
health) and 9090 (metrics).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from components.common.security import Resources
from components.data.common import API_SERVER_PORTS
from components.edge.contracts import OWNING_GATEWAY_NAME
from components.platform.network_policies import network_policy as _policy
from components.platform.network_policies import tcp as _tcp

POOL_CHART = "oci://registry.k8s.io/gateway-api-inference-extension/charts/inferencepool"
POOL_CHART_VERSION = "v1.5.0"
EPP_REGISTRY = "registry.k8s.io"
EPP_REPOSITORY = "gateway-api-inference-extension/epp"
EPP_TAG = "v1.5.0"
POOL_GROUP = "inference.networking.k8s.io"
POOL_KIND = "InferencePool"
EXT_PROC_PORT = 9002
EPP_METRICS_PORT = 9090
EPP_SELECTOR_KEY = "inferencepool"
_NAME_LIMIT = 40


def pool_name(model: str) -> str:
    """The release name, which the chart also gives the InferencePool."""
    return f"{model}-pool"


def epp_name(release: str) -> str:
    """The EPP's Deployment/Service name as the chart derives it from the release name."""
    return f"{release.lower().strip()[:_NAME_LIMIT]}-epp"


def epp_selector(release: str) -> dict[str, str]:
    return {EPP_SELECTOR_KEY: epp_name(release)}


def metrics_reader_secret(release: str) -> str:
    """The EPP's metrics token Secret. The chart's default name is fixed, so a second pool in
    the same namespace would render the same Secret and its release would fail to install."""
    return f"{epp_name(release)}-metrics-reader"


def pool_values(release: str, selector: Mapping[str, str], port: int, *, replicas: int, resources: Resources,
                service_monitor: bool, service_monitor_labels: Optional[Mapping[str, str]] = None) -> dict:
    """Values of the ``inferencepool`` chart for one vLLM model (release ``release``)."""
    monitoring: dict = {"prometheus": {"enabled": service_monitor,
                                       "auth": {"secretName": metrics_reader_secret(release)}}}
    if service_monitor and service_monitor_labels:
        monitoring["prometheus"]["extraLabels"] = dict(service_monitor_labels)
    return {
        "inferenceExtension": {
            "replicas": replicas,
            "image": {"registry": EPP_REGISTRY, "repository": EPP_REPOSITORY, "tag": EPP_TAG,
                      "pullPolicy": "IfNotPresent"},
            "resources": resources.to_k8s(),
            "monitoring": monitoring,
        },
        "inferencePool": {
            "targetPorts": [{"number": port}],
            "modelServerType": "vllm",
            "modelServers": {"matchLabels": dict(selector)},
        },
        "provider": {"name": "none"},
    }




def _proxies(controller_namespace: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": controller_namespace}},
            "podSelector": {"matchExpressions": [{"key": OWNING_GATEWAY_NAME, "operator": "Exists"}]}}


def pool_policies(release: str, namespace: str, labels: Mapping[str, str], selector: Mapping[str, str],
                  port: int, controller_namespace: str, metrics_namespace: Optional[str]) -> list[dict]:
    """NetworkPolicies of one pool in the models namespace (which denies everything by default).

    Envoy calls the EPP over ext-proc and then sends the request straight to the pod the EPP
    picked; the EPP scrapes the pool's pods and watches pods and its InferencePool.
    """
    epp = {"matchLabels": epp_selector(release)}
    servers = {"matchLabels": dict(selector)}
    out = [
        _policy(f"{release}-epp-ingress", namespace, labels, {
            "podSelector": epp,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_proxies(controller_namespace)], "ports": _tcp([EXT_PROC_PORT])}],
        }),
        _policy(f"{release}-epp-egress", namespace, labels, {
            "podSelector": epp,
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": servers}], "ports": _tcp([port])},
                       {"ports": _tcp(API_SERVER_PORTS)}],
        }),
        _policy(f"{release}-servers-ingress", namespace, labels, {
            "podSelector": servers,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": epp}, _proxies(controller_namespace)], "ports": _tcp([port])}],
        }),
    ]
    if metrics_namespace:
        out.append(_policy(f"{release}-epp-metrics", namespace, labels, {
            "podSelector": epp,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": metrics_namespace}}}], "ports": _tcp([EPP_METRICS_PORT])}],
        }))
    return out
