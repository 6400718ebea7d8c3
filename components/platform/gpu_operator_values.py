"""Pure builders for the NVIDIA GPU Operator: Helm values and the device-plugin config.

Everything here is data in, data out, tested without Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import yaml

from components.cluster.info import GpuPlatform, GpuPool

CHART = "gpu-operator"
REPOSITORY = "https://helm.ngc.nvidia.com/nvidia"
DEFAULT_CONFIG = "default"
DEVICE_PLUGIN_CONFIGMAP = "device-plugin-config"
GKE_NVIDIA_DIR = "/home/kubernetes/bin/nvidia"
# Node labels NVIDIA's procedures put on GPU nodes whose image already brings a part of the
# GPU stack, so the operator (or GKE) does not deploy a second copy of it.
PLATFORM_NODE_LABELS: dict[str, dict[str, str]] = {
    # GKE runs its own device plugin on GPU nodes unless told not to; the operator's replaces it.
    "gke": {"gke-no-default-nvidia-gpu-device-plugin": "true"},
    # Bottlerocket's NVIDIA variant ships driver, toolkit and device plugin in the OS image.
    "eks-bottlerocket": {
        "nvidia.com/gpu.deploy.device-plugin": "false",
        "nvidia.com/gpu.deploy.mig-manager": "false",
    },
}
# The node image owns driver and container toolkit on these platforms.
PREINSTALLED_STACK = ("eks-al2023", "eks-bottlerocket", "gke")


def platform_node_labels(platform: GpuPlatform) -> dict[str, str]:
    return dict(PLATFORM_NODE_LABELS.get(platform, {}))


@dataclass(frozen=True)
class GpuOperatorSettings:
    chart_version: str
    driver: Literal["managed", "preinstalled"] = "managed"
    driver_version: Optional[str] = None
    toolkit: Literal["managed", "preinstalled"] = "managed"
    dcgm_service_monitor: bool = True
    platform: GpuPlatform = "generic"
    kubernetes_version: str = "1.33"


def gpu_tolerations(pools: tuple[GpuPool, ...]) -> list[dict]:
    """One toleration per distinct (key, effect) of the pools' taints, matching any value."""
    seen: dict[tuple[str, str], dict] = {}
    for pool in pools:
        for taint in pool.taints:
            seen.setdefault((taint.key, taint.effect),
                            {"key": taint.key, "operator": "Exists", "effect": taint.effect})
    if not seen:
        seen[("nvidia.com/gpu", "NoSchedule")] = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    return list(seen.values())


def _plugin_config(pool: Optional[GpuPool]) -> dict:
    if pool is None or pool.sharing.mode == "none":
        return {"version": "v1", "flags": {"migStrategy": "none"}}
    if pool.sharing.mode == "mig":
        return {"version": "v1", "flags": {"migStrategy": "single"}}
    return {
        "version": "v1",
        "flags": {"migStrategy": "none"},
        "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": pool.sharing.replicas}]}},
    }


def device_plugin_config(pools: tuple[GpuPool, ...]) -> Optional[dict[str, str]]:
    """ConfigMap data: one device-plugin config per sharing pool plus the default, or None.

    Nodes choose their entry through the ``nvidia.com/device-plugin.config`` label, which
    ``GpuPool.operator_node_labels`` names; unlabelled nodes get ``default`` (no sharing).
    """
    sharing = [p for p in pools if p.sharing.mode != "none"]
    if not sharing:
        return None
    data = {DEFAULT_CONFIG: yaml.safe_dump(_plugin_config(None), sort_keys=False)}
    for pool in sharing:
        data[pool.name] = yaml.safe_dump(_plugin_config(pool), sort_keys=False)
    return data


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def _toolkit(settings: GpuOperatorSettings) -> dict:
    if settings.platform in ("eks-al2023", "eks-bottlerocket"):
        return {"enabled": False}
    if settings.platform == "gke":
        # NVIDIA's GKE procedure: GKE's installer puts the driver under /home/kubernetes/bin/nvidia
        # and the toolkit goes beside it; from 1.33 GKE's containerd config is read from its file.
        toolkit: dict = {"enabled": True, "installDir": GKE_NVIDIA_DIR}
        if _minor(settings.kubernetes_version) >= 33:
            toolkit["env"] = [{"name": "RUNTIME_CONFIG_SOURCE", "value": "file"}]
        return toolkit
    return {"enabled": settings.toolkit == "managed"}


def gpu_operator_values(settings: GpuOperatorSettings, pools: tuple[GpuPool, ...]) -> dict:
    tolerations = gpu_tolerations(pools)
    managed_driver = settings.driver == "managed" and settings.platform not in PREINSTALLED_STACK
    driver: dict = {"enabled": managed_driver}
    if managed_driver and settings.driver_version:
        driver["version"] = settings.driver_version
    values: dict = {
        "driver": driver,
        "toolkit": _toolkit(settings),
        "dcgmExporter": {"serviceMonitor": {"enabled": settings.dcgm_service_monitor}},
        "daemonsets": {"tolerations": tolerations},
        "node-feature-discovery": {"worker": {"tolerations": [
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule"},
            *tolerations,
        ]}},
        # Uniform MIG layouts per node expose slices as nvidia.com/gpu, which workloads
        # already request; mixed layouts would need per-profile resource names.
        "mig": {"strategy": "single"},
    }
    if settings.platform == "gke":
        values["hostPaths"] = {"driverInstallDir": GKE_NVIDIA_DIR}
        values["cdi"] = {"enabled": True}
        if any(p.sharing.mode == "mig" for p in pools):
            # GKE nodes cannot restart the GPU stack in place after repartitioning; NVIDIA's
            # GKE notes have the MIG manager reboot the node instead.
            values["migManager"] = {"env": [{"name": "WITH_REBOOT", "value": "true"}]}
    if device_plugin_config(pools) is not None:
        values["devicePlugin"] = {"config": {"name": DEVICE_PLUGIN_CONFIGMAP, "create": False, "default": DEFAULT_CONFIG}}
    return values
