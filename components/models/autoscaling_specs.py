"""Pure builders for autoscaling: KEDA's Helm values and namespace policies, and one
ScaledObject per model whose replica count may vary (min < max).

Signal: the engine's own queue of waiting requests (``engines.queue_query``), summed over the
model's pods and compared per replica (``AverageValue``) with the engine's target. GPU
replicas take minutes to start and cost the most, so they scale up one at a time, scale down
only after ten quiet minutes, and return to zero only after a fifteen-minute cooldown; CPU
replicas react within about a minute.

Scale to zero (min 0): KEDA deactivates the Deployment when every trigger stays at or below
its activation threshold for the cooldown, and activates it (0 -> 1) when one goes above. A
queue of waiting requests can't be that signal on its own: it is empty while replicas keep up
with traffic (scaling to zero would cut live requests) and nobody reports it once no replica
runs. So a model scales to zero only with a wake query (``wake_queries``: requests in flight
for it in front of the servers, i.e. at the gateway), added as an activation-only trigger;
without one the range starts at one replica.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from components.common.labels import standard_labels
from components.models import engines
from components.models.catalog_specs import label_value
from components.models.placement import ModelRequest, Placement
from components.models.server_specs import SCRAPER_NAMESPACE_LABEL, scraper_namespace

KEDA_CHART = "keda"
KEDA_REPOSITORY = "https://kedacore.github.io/charts"
KEDA_VERSION = "2.20.2"
# Ports of the chart's pods (templates of keda 2.20.2): metrics API server 6443 (called by the
# API server), admission webhooks 9443, the operator's gRPC 9666 (called by the metrics server).
METRICS_API_PORT = 6443
WEBHOOK_PORT = 9443
OPERATOR_GRPC_PORT = 9666
# The operator's and the metrics server's Prometheus metrics (values prometheus.*.port).
PROMETHEUS_METRICS_PORT = 8080
MODEL_LABEL = "genai-platform.io/model"


@dataclass(frozen=True)
class KedaSettings:
    enabled: bool = True
    chart_version: str = KEDA_VERSION
    namespace: str = "keda"
    replicas: int = 1
    service_monitors: bool = False


@dataclass(frozen=True)
class AutoscalingSettings:
    polling_interval: int = 15
    # Per-engine override of the waiting requests one replica should carry.
    queue_targets: Mapping[str, int] = field(default_factory=dict)
    gpu_cooldown: int = 900
    gpu_scale_down_window: int = 600
    cpu_cooldown: int = 300
    cpu_scale_down_window: int = 120
    # model -> PromQL counting its requests in flight in front of the servers (the gateway's);
    # only models listed here scale to zero.
    wake_queries: Mapping[str, str] = field(default_factory=dict)


def keda_values(settings: KedaSettings) -> dict:
    values: dict = {
        "crds": {"install": True},
        "operator": {"replicaCount": settings.replicas},
        "metricsServer": {"replicaCount": settings.replicas},
        "webhooks": {"replicaCount": settings.replicas},
    }
    if settings.service_monitors:
        values["prometheus"] = {
            "operator": {"enabled": True, "serviceMonitor": {"enabled": True}},
            "metricServer": {"enabled": True, "serviceMonitor": {"enabled": True}},
        }
    return values


def prometheus_port(address: str) -> int:
    parts = urlsplit(address if "://" in address else f"http://{address}")
    if parts.port:
        return parts.port
    return 443 if parts.scheme == "https" else 80


def _policy(name: str, namespace: str, policy_labels: dict, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": policy_labels}, "spec": spec}


def keda_network_policies(namespace: str, policy_labels: dict, prometheus_address: str,
                          scraped: bool = False, metrics_namespace: Optional[str] = None) -> list[dict]:
    """KEDA's allowances on top of the baseline: the API server both ways, Prometheus, and the
    operator <-> metrics server gRPC inside the namespace; when its ServiceMonitors are on
    (``scraped``), Prometheus' scrapes from its namespace (read off an in-cluster address, else
    namespaces labelled ``genai-platform.io/metrics-scraper: "true"``)."""
    tcp = lambda *ports: [{"protocol": "TCP", "port": p} for p in ports]  # noqa: E731
    extra: list[dict] = []
    if scraped:
        ns = metrics_namespace or scraper_namespace(prometheus_address)
        scraper = ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}} if ns
                   else {"namespaceSelector": {"matchLabels": {SCRAPER_NAMESPACE_LABEL: "true"}}})
        extra.append(_policy("allow-metrics-scrape", namespace, policy_labels, {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [scraper], "ports": tcp(PROMETHEUS_METRICS_PORT)}],
        }))
    return [
        _policy("allow-api-server", namespace, policy_labels, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"ports": tcp(443, 6443)}],
        }),
        _policy("allow-prometheus", namespace, policy_labels, {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"ports": tcp(prometheus_port(prometheus_address))}],
        }),
        # The API server calls the metrics API and the webhooks; its address has no labels.
        _policy("allow-api-server-callbacks", namespace, policy_labels, {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": tcp(METRICS_API_PORT, WEBHOOK_PORT)}],
        }),
        _policy("allow-operator-grpc", namespace, policy_labels, {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}], "ports": tcp(OPERATOR_GRPC_PORT)}],
            "egress": [{"to": [{"podSelector": {}}], "ports": tcp(OPERATOR_GRPC_PORT)}],
        }),
        *extra,
    ]


# The demand trigger only decides active/idle: a target this high never asks for more replicas
# (HPA wants ceil(value / target) of them), the queue trigger does that.
WAKE_TARGET = 1_000_000


def replica_bounds(model: str, placement: Placement, settings: AutoscalingSettings) -> tuple[int, int]:
    """The range KEDA scales in: zero only for models with a wake query (see module doc)."""
    low = placement.min_replicas
    if low == 0 and model not in settings.wake_queries:
        low = min(1, placement.max_replicas)
    return low, placement.max_replicas


def autoscaled(model: str, placement: Placement, keda: KedaSettings, settings: AutoscalingSettings) -> bool:
    """Whether KEDA owns the replica count (a range to scale in, and KEDA installed)."""
    low, high = replica_bounds(model, placement, settings)
    return keda.enabled and low < high


def behavior(on_gpu: bool, settings: AutoscalingSettings) -> dict:
    if on_gpu:
        return {
            "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]},
            "scaleDown": {"stabilizationWindowSeconds": settings.gpu_scale_down_window, "selectPolicy": "Min",
                          "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]},
        }
    return {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}]},
        "scaleDown": {"stabilizationWindowSeconds": settings.cpu_scale_down_window, "selectPolicy": "Min",
                      "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
    }


def queue_target(engine_name: str, settings: AutoscalingSettings) -> int:
    return settings.queue_targets.get(engine_name, engines.ENGINES[engine_name].queue_target)


def scaled_object(req: ModelRequest, placement: Placement, namespace: str, instance: str,
                  prometheus_address: str, settings: AutoscalingSettings) -> Optional[dict]:
    """The model's ScaledObject, or None when its replica count is fixed (min == max)."""
    low, high = replica_bounds(req.name, placement, settings)
    if low >= high:
        return None
    on_gpu = placement.on_gpu
    triggers = [{
        "type": "prometheus",
        "name": "queue",
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": prometheus_address,
            "query": engines.queue_query(req.engine, namespace, req.name),
            "threshold": str(queue_target(req.engine, settings)),
            "activationThreshold": "0",
        },
    }]
    if low == 0:
        triggers.append({
            "type": "prometheus",
            "name": "demand",
            "metricType": "AverageValue",
            "metadata": {"serverAddress": prometheus_address, "query": settings.wake_queries[req.name],
                         "threshold": str(WAKE_TARGET), "activationThreshold": "0"},
        })
    spec: dict = {
        "scaleTargetRef": {"name": req.name},
        "pollingInterval": settings.polling_interval,
        "cooldownPeriod": settings.gpu_cooldown if on_gpu else settings.cpu_cooldown,
        "minReplicaCount": low,
        "maxReplicaCount": high,
        "advanced": {
            "restoreToOriginalReplicaCount": False,
            "horizontalPodAutoscalerConfig": {"behavior": behavior(on_gpu, settings)},
        },
        "triggers": triggers,
    }
    if low == 0:
        # A new Deployment gets one start-up's worth of time before it may drop to zero.
        spec["initialCooldownPeriod"] = engines.startup_budget_seconds(placement) + (
            settings.gpu_cooldown if on_gpu else settings.cpu_cooldown)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": req.name, "namespace": namespace,
                     "labels": {**standard_labels(req.name, label_value(instance), "autoscaling"), MODEL_LABEL: req.name}},
        "spec": spec,
    }
