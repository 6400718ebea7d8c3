"""The platform's policies, in the order they are reported."""

from __future__ import annotations

from .disruption import SCALED, pdb_for_replicas
from .exposure import no_load_balancer_services
from .gpu import gpu_pods_placed, requests_gpus
from .k8s import api_kind, is_kind, is_release, pod_spec
from .model import PolicyContext, PolicySpec, Record
from .network import default_deny_per_namespace
from .privilege import no_privileged
from .protection import protected_stateful, why_stateful
from .secrets import no_secrets_in_plain_config
from .workloads import pinned_images, requests_and_limits


def _workload(r: Record, ctx: PolicyContext) -> bool:
    return pod_spec(r) is not None


def _object_or_release(r: Record, ctx: PolicyContext) -> bool:
    return api_kind(r) is not None or is_release(r)


def _workload_or_release(r: Record, ctx: PolicyContext) -> bool:
    return pod_spec(r) is not None or is_release(r)


def _gpu_workload(r: Record, ctx: PolicyContext) -> bool:
    spec = pod_spec(r)
    return spec is not None and requests_gpus(spec)


def _config_or_workload(r: Record, ctx: PolicyContext) -> bool:
    return is_kind(r, "ConfigMap") or pod_spec(r) is not None


def _namespace(r: Record, ctx: PolicyContext) -> bool:
    return is_kind(r, "Namespace")


def _stateful(r: Record, ctx: PolicyContext) -> bool:
    return ctx.stack_protected and (why_stateful(r) is not None or is_kind(r, "Namespace"))


def _scaled(r: Record, ctx: PolicyContext) -> bool:
    return api_kind(r) in SCALED


POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec("requests-and-limits", "Every container and init container sets cpu and memory requests and limits.",
               "resource", requests_and_limits, _workload),
    PolicySpec("pinned-images", "Every image names a version tag or a digest, never latest.",
               "resource", pinned_images, _object_or_release),
    PolicySpec("gpu-pods-placed", "Pods requesting nvidia.com/gpu tolerate the GPU taint and select GPU nodes.",
               "resource", gpu_pods_placed, _gpu_workload),
    PolicySpec("no-privileged", "No privileged containers, privilege escalation or SYS_ADMIN/NET_ADMIN outside the "
               "GPU Operator.", "resource", no_privileged, _workload_or_release),
    PolicySpec("no-load-balancer-services", "No LoadBalancer Services except the gateway's Envoy proxies.",
               "resource", no_load_balancer_services, _object_or_release),
    PolicySpec("no-secrets-in-plain-config", "No credentials in ConfigMaps or literal container env values.",
               "resource", no_secrets_in_plain_config, _config_or_workload),
    PolicySpec("default-deny-per-namespace", "Every namespace the stack creates has a default-deny NetworkPolicy.",
               "stack", default_deny_per_namespace, _namespace),
    PolicySpec("protected-stateful", "In a protected stack, every resource that holds data is protected.",
               "stack", protected_stateful, _stateful),
    PolicySpec("pdb-for-replicas", "Workloads with more than one replica have a PodDisruptionBudget selecting them.",
               "stack", pdb_for_replicas, _scaled),
)
