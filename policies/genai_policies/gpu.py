"""``gpu-pods-placed``: a pod asking for GPUs tolerates the GPU taint and selects GPU nodes."""

from __future__ import annotations

from collections.abc import Mapping

from .k8s import containers, get, pod_spec
from .model import PolicyContext, Record

GPU_RESOURCE = "nvidia.com/gpu"
# Every GPU pool carries ``nvidia.com/gpu=present:NoSchedule`` (GKE sets it itself; the
# platform declares it on every cloud and asks for it on existing clusters).
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NoSchedule"


def _quantity_positive(value: object) -> bool:
    try:
        return float(str(value)) > 0
    except ValueError:
        # Anything but a plain count (an unknown value during preview) is taken as a request.
        return True


def requests_gpus(spec: Mapping) -> bool:
    for _, c in containers(spec):
        for kind in ("requests", "limits"):
            amount = get(c, "resources", kind, GPU_RESOURCE)
            if amount is not None and _quantity_positive(amount):
                return True
    return False


def tolerates_gpu_taint(spec: Mapping) -> bool:
    for t in spec.get("tolerations") or []:
        if not isinstance(t, Mapping) or t.get("effect") not in (None, "", GPU_TAINT_EFFECT):
            continue
        op = t.get("operator") or "Equal"
        key = t.get("key") or ""
        if op == "Exists" and key in ("", GPU_TAINT_KEY):
            return True
        if op == "Equal" and key == GPU_TAINT_KEY and (t.get("value") or "") == GPU_TAINT_VALUE:
            return True
    return False


def selects_nodes(spec: Mapping) -> bool:
    if spec.get("nodeSelector"):
        return True
    terms = get(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
    return any(isinstance(t, Mapping) and (t.get("matchExpressions") or t.get("matchFields")) for t in terms or [])


def gpu_pods_placed(record: Record, ctx: PolicyContext) -> list[str]:
    spec = pod_spec(record)
    if spec is None or not requests_gpus(spec):
        return []
    out = []
    if not tolerates_gpu_taint(spec):
        out.append(f"requests {GPU_RESOURCE} but does not tolerate the taint {GPU_TAINT_KEY}={GPU_TAINT_VALUE}:"
                   f"{GPU_TAINT_EFFECT}: add a toleration (key {GPU_TAINT_KEY}, operator Exists, effect "
                   f"{GPU_TAINT_EFFECT}); AKS has no admission plugin that adds it")
    if not selects_nodes(spec):
        out.append(f"requests {GPU_RESOURCE} but selects no nodes: set the GPU pool's nodeSelector (or a required "
                   "nodeAffinity) so it lands on the GPU model the planner chose")
    return out
