"""Pure builders for the NVIDIA GPU Operator: Helm values and the device-plugin config.

Everything here is data in, data out, tested without Pulumi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import yaml

from components.cluster.info import GpuPool

CHART = "gpu-operator"
REPOSITORY = "https://helm.ngc.nvidia.com/nvidia"
DEFAULT_CONFIG = "default"
DEVICE_PLUGIN_CONFIGMAP = "device-plugin-config"


@dataclass(frozen=True)
class GpuOperatorSettings:
    chart_version: str
    driver: Literal["managed", "preinstalled"] = "managed"
    driver_version: Optional[str] = None
    toolkit: Literal["managed", "preinstalled"] = "managed"
    dcgm_service_monitor: bool = True


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


def gpu_operator_values(settings: GpuOperatorSettings, pools: tuple[GpuPool, ...]) -> dict:
    tolerations = gpu_tolerations(pools)
    driver: dict = {"enabled": settings.driver == "managed"}
    if settings.driver == "managed" and settings.driver_version:
        driver["version"] = settings.driver_version
    values: dict = {
        "driver": driver,
        "toolkit": {"enabled": settings.toolkit == "managed"},
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
    if device_plugin_config(pools) is not None:
        values["devicePlugin"] = {"config": {"name": DEVICE_PLUGIN_CONFIGMAP, "create": False, "default": DEFAULT_CONFIG}}
    return values
