"""ClusterInfo: what every cluster target hands to the layers above it.

A cloud cluster (EKS, GKE, AKS) and an adopted existing cluster produce the same shape, so
platform, model, data and tenant layers never ask which cloud they run on except through
``kind``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.gpus import GPU_MODELS, mig_config_name

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
    # Cloud node pools only: what the cloud creates and how far the autoscaler may go.
    instance_type: Optional[str] = None
    min_size: int = 0
    max_size: int = 0
    desired_size: Optional[int] = None
    spot: bool = False
    disk_size_gib: int = 200
    zones: tuple[str, ...] = ()

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


    @property
    def advertised_gpus_per_node(self) -> int:
        """``nvidia.com/gpu`` one node offers: its GPUs, time-sliced replicas or MIG slices."""
        if self.sharing.mode == "time-slicing":
            return self.gpus_per_node * (self.sharing.replicas or 1)
        if self.sharing.mode == "mig":
            model = GPU_MODELS.get(self.gpu_model)
            per_gpu = model.mig_devices.get(self.sharing.mig_profile or "") if model else None
            if per_gpu is None:
                raise ValueError(f"pool {self.name}: no MIG layout {self.sharing.mig_profile!r} for {self.gpu_model}")
            return self.gpus_per_node * per_gpu
        return self.gpus_per_node

    def node_labels(self, extra: Mapping[str, str] = {}) -> dict[str, str]:  # noqa: B006 - read only
        """Every label a node of this pool carries: selector, operator config, cloud extras."""
        return {**self.node_selector, **self.operator_node_labels, **extra}


@dataclass(frozen=True)
class SystemPool:
    """The CPU node pool of a cloud cluster."""

    instance_type: str
    min_size: int
    max_size: int
    desired_size: Optional[int]
    disk_size_gib: int
    spot: bool = False


@dataclass(frozen=True)
class StorageClasses:
    rwo: str
    rwx: Optional[str]


@dataclass(frozen=True)
class IdentityRequest:
    """A Kubernetes service account a later layer needs bound to cloud permissions.

    The cluster component creates the cloud identity and the binding; the layer that owns the
    service account creates it with ``WorkloadIdentity.annotations`` and ``pod_labels``.
    """

    name: str                                  # "backups", "model-downloads"
    namespace: str
    service_account: str
    access: Literal["read", "read-write"]      # on the platform's object store
    # Signs download URLs for objects (Velero's GCP plugin signs them with its own account).
    sign_urls: bool = False


@dataclass(frozen=True)
class WorkloadIdentity:
    name: str
    namespace: str
    service_account: str
    annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    cloud_principal: Optional[pulumi.Input[str]] = None   # role ARN, GSA email or client id


@dataclass(frozen=True)
class ObjectStore:
    """The platform's bucket for backups and model sources."""

    kind: Literal["s3", "gcs", "azure-blob"]
    bucket: pulumi.Input[str]
    region: str
    account: Optional[pulumi.Input[str]] = None       # Azure storage account
    endpoint: Optional[pulumi.Input[str]] = None
    # Static keys of an S3-compatible store (on-prem); cloud stores use workload identities.
    access_key_id: Optional[pulumi.Input[str]] = None          # secret
    secret_access_key: Optional[pulumi.Input[str]] = None      # secret


# Where a cloud serves workload-identity credentials to pods over plain HTTP (port 80): the
# EKS Pod Identity agent, and GKE's metadata server on Dataplane V2 clusters. Pods behind a
# default-deny egress policy need an allowance to reach it.
IDENTITY_ENDPOINTS = {"eks": "169.254.170.23/32", "gke": "169.254.169.254/32"}


GpuPlatform = Literal["generic", "eks-al2023", "eks-bottlerocket", "gke", "aks"]


@dataclass(frozen=True)
class ClusterInfo:
    kind: Literal["existing", "eks", "gke", "aks"]
    name: str
    provider: k8s.Provider
    kubernetes_version: str
    gpu_pools: tuple[GpuPool, ...]
    storage: StorageClasses
    protect: bool = False
    # How GPU nodes come up, which decides what the GPU Operator must install itself.
    gpu_platform: GpuPlatform = "generic"
    identities: Mapping[str, WorkloadIdentity] = field(default_factory=dict)
    object_store: Optional[ObjectStore] = None
    registry: Optional[pulumi.Input[str]] = None
    zones: tuple[str, ...] = ()
    kubeconfig: Optional[pulumi.Output[str]] = None     # secret
    # Values of the nodes' ``topology.kubernetes.io/zone`` label where they differ from
    # ``zones`` (AKS labels zone "1" of eastus as "eastus-1").
    zone_labels: Optional[tuple[str, ...]] = None

    @property
    def node_zones(self) -> tuple[str, ...]:
        """The ``topology.kubernetes.io/zone`` values of the cluster's nodes, where known."""
        return self.zone_labels if self.zone_labels is not None else self.zones

    @property
    def cpu_only(self) -> bool:
        return not self.gpu_pools
