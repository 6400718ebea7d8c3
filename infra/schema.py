"""The stack configuration schema: one typed section per layer.

Keys are camelCase as they appear in ``stacks/Pulumi.<env>.yaml`` under the
``genai-platform:`` namespace. Field-level rules (types, ranges, enums, unknown keys) live
here; rules that span fields live in ``infra/checks.py`` so every problem is reported at once.
Later layers add their sections (``models``, ``databases``, ``gateway``, ``tenants``,
``observability``, ``backups``) to ``PlatformConfig``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GPU_OPERATOR_CHART_VERSION = "v26.7.0"
GPU_TAINT_KEY = "nvidia.com/gpu"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_K8S_VERSION = re.compile(r"^1\.(\d+)$")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending "
            f"with a letter or digit, at most 63 characters); got {value!r}"
        )
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError(
            f"must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'); got {value!r}"
        )
    return value


def _k8s_version(value: str) -> str:
    m = _K8S_VERSION.match(value)
    if not m or not 29 <= int(m.group(1)) <= 37:
        raise ValueError(f"must be a supported Kubernetes minor version '1.29' .. '1.37' (quote it in YAML); got {value!r}")
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"must be an absolute export path starting with '/'; got {value!r}")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
KubernetesVersion = Annotated[str, AfterValidator(_k8s_version)]


class Section(BaseModel):
    """Base of every config section: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class ExistingClusterConfig(Section):
    kubeconfig_path: Optional[str] = None
    context: Optional[str] = None


class ClusterConfig(Section):
    target: Literal["existing"] = "existing"
    kubernetes_version: KubernetesVersion = "1.33"
    existing: ExistingClusterConfig = ExistingClusterConfig()


class Taint(Section):
    key: str = Field(min_length=1)
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class GpuSharing(Section):
    mode: Literal["none", "time-slicing", "mig"] = "none"
    replicas: Optional[int] = Field(default=None, gt=0, le=64, strict=True)
    mig_profile: Optional[str] = None


def _gpu_taint() -> list[Taint]:
    return [Taint(key=GPU_TAINT_KEY, value="present", effect="NoSchedule")]


class GpuPoolConfig(Section):
    name: DnsLabel
    gpu_model: str
    gpu_memory_gib: Optional[int] = Field(default=None, gt=0, strict=True, alias="gpuMemoryGiB")
    gpus_per_node: int = Field(gt=0, le=16, strict=True)
    node_selector: dict[str, str] = {}
    taints: list[Taint] = Field(default_factory=_gpu_taint)
    sharing: GpuSharing = GpuSharing()


class GpuOperatorConfig(Section):
    enabled: Optional[bool] = None
    chart_version: str = GPU_OPERATOR_CHART_VERSION
    driver: Literal["managed", "preinstalled"] = "managed"
    driver_version: Optional[str] = None
    toolkit: Literal["managed", "preinstalled"] = "managed"
    dcgm_service_monitor: bool = True


class NfsConfig(Section):
    server: str = Field(min_length=1)
    share: Annotated[str, AfterValidator(_absolute_path)]
    sub_dir: Optional[str] = None
    mount_options: list[str] = ["nfsvers=4.1"]


class RwxConfig(Section):
    provider: Literal["none", "nfs", "existing"] = "none"
    class_name: Optional[DnsSubdomain] = None
    nfs: Optional[NfsConfig] = None


class RwoConfig(Section):
    class_name: DnsSubdomain = "standard"


class StorageConfig(Section):
    rwo: RwoConfig = RwoConfig()
    rwx: RwxConfig = RwxConfig()
    volume_snapshots: Literal["none", "install", "existing"] = "none"


class NamespacesConfig(Section):
    system: DnsLabel = "genai-system"
    gpu_operator: DnsLabel = "gpu-operator"


class PlatformConfig(Section):
    """Everything a stack can set. One section per layer."""

    cluster: ClusterConfig = ClusterConfig()
    gpu_pools: list[GpuPoolConfig] = []
    gpu_operator: GpuOperatorConfig = GpuOperatorConfig()
    storage: StorageConfig = StorageConfig()
    namespaces: NamespacesConfig = NamespacesConfig()
    protect: bool = False

    @property
    def cpu_only(self) -> bool:
        return not self.gpu_pools

    @property
    def gpu_operator_enabled(self) -> bool:
        if self.gpu_operator.enabled is None:
            return bool(self.gpu_pools)
        return self.gpu_operator.enabled
