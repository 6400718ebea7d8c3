"""Pure builders for one model server: Deployment, Service, ServiceMonitor, PodDisruptionBudget,
and the models namespace's network policies.

Scheduling: GPU replicas request ``nvidia.com/gpu`` (GPUs per replica), tolerate the pool's
taints and require the pool's node-selector labels through node affinity (the pool label is
set the same way on every cloud; ``nvidia.com/gpu.product`` values differ between them).
Rollouts never ask for GPUs the pool may not have: one replica is replaced with Recreate,
several roll one at a time without surge; CPU models surge one replica.

Start-up: an init container waits for the catalog marker of the pinned revision, so servers
can be created while downloads and GPU nodes are still coming up. The startup probe then
allows 60 s + 10 s per GiB of weights before liveness takes over.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from components.common.labels import standard_labels
from components.common.security import container_security_context, pod_security_context, secure_pod_spec
from components.models import engines
from components.models.catalog_specs import ModelVolume, label_value
from components.models.placement import ModelRequest, Placement

MODEL_LABEL = "genai-platform.io/model"
COMPONENT = "model-server"
# Namespaces carrying this label may call every model's API (the gateway and tenant namespaces).
CLIENT_NAMESPACE_LABEL = "genai-platform.io/model-clients"
# Fallback when the Prometheus namespace can't be read off its address.
SCRAPER_NAMESPACE_LABEL = "genai-platform.io/metrics-scraper"
ZONE_KEY = "topology.kubernetes.io/zone"
GPU_RESOURCE = "nvidia.com/gpu"
NODE_PROVISIONING_SECONDS = 1200


@dataclass(frozen=True)
class ServerSettings:
    service_monitor: bool = True
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    scrape_interval: str = "15s"
    scratch_size: str = "8Gi"
    termination_grace_seconds: int = 60


def selector(model: str) -> dict[str, str]:
    return {MODEL_LABEL: model, "app.kubernetes.io/component": COMPONENT}


def labels(model: str, instance: str) -> dict[str, str]:
    return {**standard_labels(model, label_value(instance), COMPONENT), MODEL_LABEL: model}


def initial_replicas(low: int, high: int, autoscaled: bool) -> int:
    """Replicas Pulumi sets. With KEDA the bottom of its range (zero for scale-to-zero: no GPU
    is held until demand arrives) and KEDA owns the field afterwards; without it a fixed count,
    at least one when the stack asked for a range nothing scales in."""
    if autoscaled or low == high:
        return low
    return max(low, 1)


def rollout_strategy(placement: Placement) -> dict:
    if not placement.on_gpu:
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    if placement.max_replicas <= 1:
        return {"type": "Recreate"}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def probes(engine_name: str, placement: Placement) -> dict:
    spec = engines.ENGINES[engine_name]
    period = 10
    startup_threshold = math.ceil(engines.startup_budget_seconds(placement) / period)

    def get(path: str) -> dict:
        return {"path": path, "port": engines.HTTP}

    return {
        "startupProbe": {"httpGet": get(spec.readiness_path), "periodSeconds": period, "timeoutSeconds": 5,
                         "failureThreshold": startup_threshold},
        "readinessProbe": {"httpGet": get(spec.readiness_path), "periodSeconds": period, "timeoutSeconds": 5,
                           "failureThreshold": 3, "successThreshold": 1},
        "livenessProbe": {"httpGet": get(spec.liveness_path), "periodSeconds": 20, "timeoutSeconds": 10,
                          "failureThreshold": 3},
    }


def resources(placement: Placement) -> dict:
    requests = {"cpu": placement.cpu_request, "memory": placement.memory_request}
    limits = {"cpu": placement.cpu_limit, "memory": placement.memory_limit}
    if placement.on_gpu and placement.gpus_per_replica > 0:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(placement.gpus_per_replica)
    return {"requests": requests, "limits": limits}


def node_affinity(placement: Placement) -> Optional[dict]:
    if not placement.on_gpu or not placement.node_selector:
        return None
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
        "matchExpressions": [{"key": k, "operator": "In", "values": [v]}
                             for k, v in sorted(placement.node_selector.items())],
    }]}}}


# Engines that use /dev/shm even on one GPU: Triton's Python backend (the TensorRT-LLM
# repository's preprocessing, postprocessing and BLS models) exchanges every request and
# response with its stub processes through /dev/shm, which is 64 MiB in a container.
SHM_ALWAYS = {"triton-trtllm": "1Gi"}


def shm_size(placement: Placement, engine_name: str = "") -> Optional[str]:
    """/dev/shm for tensor-parallel ranks (NCCL and the engines' worker queues use it), and for
    engines that need more than a container's default on one GPU."""
    if placement.tensor_parallel <= 1:
        return SHM_ALWAYS.get(engine_name) if placement.on_gpu else None
    return placement.shm_size or f"{max(2, placement.tensor_parallel)}Gi"


def container_security(engine_name: str) -> dict:
    spec = engines.ENGINES[engine_name]
    if spec.run_as_user is None:
        # The image's Python lives under /root (mode 0700): root, but no capabilities, no
        # privilege escalation, and a writable root filesystem for the launcher's files.
        return {"runAsNonRoot": False, "runAsUser": 0, "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": False, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}}
    return {**container_security_context(spec.run_as_user), "readOnlyRootFilesystem": spec.read_only_root}


def wait_for_model(image: str, volume: ModelVolume) -> Optional[dict]:
    if volume.marker is None:
        return None
    script = (f'until grep -qs \'"key": "{volume.key}"\' {volume.marker}; do '
              f'echo "waiting for {volume.marker}"; sleep 15; done')
    return {
        "name": "wait-for-model",
        "image": image,
        "command": ["sh", "-c", script],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "volumeMounts": [volume.mount],
        "securityContext": container_security_context(),
    }


def deployment(req: ModelRequest, placement: Placement, namespace: str, instance: str,
               volume: ModelVolume, replicas: int, settings: ServerSettings) -> dict:
    spec = engines.ENGINES[req.engine]
    image = engines.image(req, placement)
    mounts = [volume.mount, {"name": "scratch", "mountPath": engines.WRITABLE_DIR}]
    volumes: list[dict] = [volume.volume, {"name": "scratch", "emptyDir": {"sizeLimit": settings.scratch_size}}]
    shm = shm_size(placement, req.engine)
    if shm:
        mounts.append({"name": "shm", "mountPath": "/dev/shm"})
        volumes.append({"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": shm}})
    container: dict = {
        "name": "server",
        "image": image,
        "env": engines.env(req, placement),
        "ports": [{"name": p.name, "containerPort": p.number, "protocol": "TCP"} for p in spec.ports],
        "resources": resources(placement),
        "volumeMounts": mounts,
        "securityContext": container_security(req.engine),
        **probes(req.engine, placement),
    }
    cmd = engines.args(req, placement, volume.model_path)
    if engines.uses_command(req.engine):
        container["command"], container["args"] = cmd[:1], cmd[1:]
    else:
        container["args"] = cmd
    extra: dict = {"volumes": volumes, "terminationGracePeriodSeconds": settings.termination_grace_seconds}
    init = wait_for_model(image, volume)
    if init is not None:
        extra["initContainers"] = [init]
    if placement.on_gpu:
        extra["tolerations"] = [dict(t) for t in placement.tolerations]
        affinity = node_affinity(placement)
        if affinity is not None:
            extra["affinity"] = affinity
    if placement.max_replicas > 1:
        extra["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector(req.name)},
        }]
    pod = secure_pod_spec([container], **extra)
    # secure_pod_spec fills in the non-root defaults; an engine that needs root says so here.
    pod["containers"][0]["securityContext"] = container_security(req.engine)
    if spec.run_as_user is None:
        pod["securityContext"] = {k: v for k, v in pod_security_context().items() if k != "runAsNonRoot"}
    wait = volume.wait_seconds + engines.startup_budget_seconds(placement) + NODE_PROVISIONING_SECONDS
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": req.name,
            "namespace": namespace,
            "labels": labels(req.name, instance),
            # Pulumi waits for the rollout: the download, a GPU node and the model load.
            "annotations": {"pulumi.com/timeoutSeconds": str(wait)},
        },
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 3,
            "progressDeadlineSeconds": wait,
            "selector": {"matchLabels": selector(req.name)},
            "strategy": rollout_strategy(placement),
            "template": {"metadata": {"labels": labels(req.name, instance)}, "spec": pod},
        },
    }


def service(req: ModelRequest, namespace: str, instance: str) -> dict:
    spec = engines.ENGINES[req.engine]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": req.name, "namespace": namespace, "labels": labels(req.name, instance)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(req.name),
            "ports": [{"name": p.name, "port": p.number, "targetPort": p.name, "protocol": "TCP"} for p in spec.ports],
        },
    }


def service_monitor(req: ModelRequest, namespace: str, instance: str, settings: ServerSettings) -> dict:
    spec = engines.ENGINES[req.engine]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": req.name, "namespace": namespace,
                     "labels": {**labels(req.name, instance), **settings.service_monitor_labels}},
        "spec": {
            "selector": {"matchLabels": selector(req.name)},
            "namespaceSelector": {"matchNames": [namespace]},
            # Every series carries the model label, which dashboards and the gateway select on.
            "targetLabels": [MODEL_LABEL],
            "endpoints": [{"port": spec.metrics_port, "path": spec.metrics_path,
                           "interval": settings.scrape_interval}],
        },
    }


def disruption_budget(req: ModelRequest, namespace: str, instance: str) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": req.name, "namespace": namespace, "labels": labels(req.name, instance)},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(req.name)}},
    }


def scraper_namespace(prometheus_address: str) -> Optional[str]:
    """The namespace of an in-cluster Prometheus address (``http://svc.ns.svc:9090``), if any."""
    host = prometheus_address.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    parts = host.split(".")
    if len(parts) >= 3 and parts[2] == "svc":
        return parts[1]
    return None


def _policy(name: str, namespace: str, policy_labels: dict, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": policy_labels}, "spec": spec}


def network_policies(namespace: str, policy_labels: dict, api_ports: Sequence[int], metrics_ports: Sequence[int],
                     metrics_namespace: Optional[str]) -> list[dict]:
    """Ingress to the model servers: their API from this namespace and from namespaces labelled
    ``genai-platform.io/model-clients: "true"``; their metrics from the Prometheus namespace."""
    servers = {"matchLabels": {"app.kubernetes.io/component": COMPONENT}}

    def tcp(ports: Sequence[int]) -> list[dict]:
        return [{"protocol": "TCP", "port": p} for p in sorted(set(ports))]

    if metrics_namespace:
        scraper = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": metrics_namespace}}}
    else:
        scraper = {"namespaceSelector": {"matchLabels": {SCRAPER_NAMESPACE_LABEL: "true"}}}
    out = []
    if api_ports:
        out.append(_policy("allow-model-clients", namespace, policy_labels, {
            "podSelector": servers,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}},
                                  {"namespaceSelector": {"matchLabels": {CLIENT_NAMESPACE_LABEL: "true"}}}],
                         "ports": tcp(api_ports)}],
        }))
    if metrics_ports:
        out.append(_policy("allow-metrics-scrape", namespace, policy_labels, {
            "podSelector": servers,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [scraper], "ports": tcp(metrics_ports)}],
        }))
    return out

