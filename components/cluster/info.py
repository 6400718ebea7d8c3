"""ClusterInfo: what every cluster target hands to the layers above it.

A cloud cluster (EKS, GKE, AKS) and an adopted existing cluster produce the same shape, so
platform, model, data and tenant layers never ask which cloud they run on except through
``kind``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi_kubernetes as k8s

from components.common.gpus import mig_config_name

SharingMode = Literal["none", "time-slicing", "mig"]
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str

    def toleration(self) -> dict:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


@dataclass(frozen=True)
class GpuSharing:
    mode: SharingMode = "none"
    replicas: Optional[int] = None
    mig_profile: Optional[str] = None


@dataclass(frozen=True)
class GpuPool:
    """A set of identical GPU nodes the platform may place workloads on."""

    name: str
    gpu_model: str
    gpu_memory_gib: int
    gpus_per_node: int
    node_selector: Mapping[str, str]
    taints: tuple[Taint, ...]
    sharing: GpuSharing = field(default_factory=GpuSharing)

    @property
    def tolerations(self) -> list[dict]:
        return [t.toleration() for t in self.taints]

    @property
    def operator_node_labels(self) -> dict[str, str]:
        """Labels the pool's nodes carry so the GPU Operator applies the pool's sharing setup.

        The device plugin picks its per-node config from ``nvidia.com/device-plugin.config``;
        the MIG manager picks the layout from ``nvidia.com/mig.config``.
        """
        labels: dict[str, str] = {}
        if self.sharing.mode != "none":
            labels[DEVICE_PLUGIN_CONFIG_LABEL] = self.name
        if self.sharing.mode == "mig" and self.sharing.mig_profile:
            labels[MIG_CONFIG_LABEL] = mig_config_name(self.sharing.mig_profile)
        return labels


@dataclass(frozen=True)
class StorageClasses:
    rwo: str
    rwx: Optional[str]


@dataclass(frozen=True)
class ClusterInfo:
    kind: Literal["existing", "eks", "gke", "aks"]
    name: str
    provider: k8s.Provider
    kubernetes_version: str
    gpu_pools: tuple[GpuPool, ...]
    storage: StorageClasses
    protect: bool = False

    @property
    def cpu_only(self) -> bool:
        return not self.gpu_pools
