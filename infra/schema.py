"""The stack configuration schema: one typed section per layer.

Keys are camelCase as they appear in ``stacks/Pulumi.<env>.yaml`` under the
``genai-platform:`` namespace. Field-level rules (types, ranges, enums, unknown keys) live
here; rules that span fields live in ``infra/checks.py`` so every problem is reported at once.
Later layers add their sections (``models``, ``databases``, ``gateway``, ``tenants``,
``observability``, ``backups``) to ``PlatformConfig``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from infra.schema_aks import AksConfig
from infra.schema_base import DnsLabel, DnsSubdomain, KubernetesVersion, Section, absolute_path
from infra.schema_data import DatabasesConfig, ObjectStoreConfig
from infra.schema_edge import GatewayConfig
from infra.schema_eks import EksConfig
from infra.schema_gke import GkeConfig
from infra.schema_models import ModelConfig
from infra.schema_ops import BackupsConfig, ObservabilityConfig
from infra.schema_tenancy import TenantConfig

GPU_OPERATOR_CHART_VERSION = "v26.7.0"
GPU_TAINT_KEY = "nvidia.com/gpu"

class ExistingClusterConfig(Section):
    kubeconfig_path: Optional[str] = None
    context: Optional[str] = None
    # Values of the nodes' topology.kubernetes.io/zone label, for zone-aware placement.
    zones: list[str] = []


class SystemPoolConfig(Section):
    """The CPU node pool of a cloud cluster (system add-ons, downloads, databases, apps)."""

    instance_type: Optional[str] = None        # None: the cloud's default (see the cloud section)
    min_size: int = Field(default=2, ge=1, le=100, strict=True)
    max_size: int = Field(default=6, ge=1, le=100, strict=True)
    desired_size: Optional[int] = Field(default=None, ge=1, le=100, strict=True)
    disk_size_gib: int = Field(default=100, ge=20, le=4096, strict=True, alias="diskSizeGiB")
    spot: bool = False


class ClusterConfig(Section):
    target: Literal["existing", "eks", "gke", "aks"] = "existing"
    kubernetes_version: KubernetesVersion = "1.33"
    existing: ExistingClusterConfig = ExistingClusterConfig()
    system_pool: SystemPoolConfig = SystemPoolConfig()
    eks: Optional[EksConfig] = None
    gke: Optional[GkeConfig] = None
    aks: Optional[AksConfig] = None


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
    # Cloud targets: the instance type decides GPU model, count and memory (from the GPU
    # instance catalog); gpuModel/gpusPerNode/gpuMemoryGiB describe types the catalog lacks.
    instance_type: Optional[str] = None
    gpu_model: Optional[str] = None
    gpu_memory_gib: Optional[int] = Field(default=None, gt=0, strict=True, alias="gpuMemoryGiB")
    gpus_per_node: Optional[int] = Field(default=None, gt=0, le=16, strict=True)
    min_size: int = Field(default=0, ge=0, le=1000, strict=True)
    max_size: Optional[int] = Field(default=None, gt=0, le=1000, strict=True)
    desired_size: Optional[int] = Field(default=None, ge=0, le=1000, strict=True)
    spot: bool = False
    disk_size_gib: int = Field(default=200, ge=50, le=16384, strict=True, alias="diskSizeGiB")
    zones: list[str] = []
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
    share: Annotated[str, AfterValidator(absolute_path)]
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
    models: DnsLabel = "genai-models"
    backups: DnsLabel = "velero"


KEDA_CHART_VERSION = "2.20.2"
# Where kube-prometheus-stack's Prometheus answers once the observability layer installs it.
DEFAULT_PROMETHEUS = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"


class KedaConfig(Section):
    enabled: bool = True
    chart_version: str = KEDA_CHART_VERSION
    namespace: DnsLabel = "keda"


class ModelServingConfig(Section):
    """Settings shared by every model: the catalog volume and queue-based autoscaling."""

    catalog_headroom: float = Field(default=1.3, ge=1.0, le=4.0)
    catalog_min_size_gib: int = Field(default=20, ge=1, le=65536, strict=True, alias="catalogMinSizeGiB")
    prometheus_address: str = Field(default=DEFAULT_PROMETHEUS, pattern=r"^https?://[^\s/]+(:\d+)?(/.*)?$")
    # ServiceMonitors need the Prometheus Operator's CRDs in the cluster (the observability layer).
    service_monitors: bool = True
    # Labels a Prometheus' serviceMonitorSelector needs (kube-prometheus-stack's default
    # selector asks for ``release: <its release name>``).
    service_monitor_labels: dict[str, str] = {}
    keda: KedaConfig = KedaConfig()


class PlatformConfig(Section):
    """Everything a stack can set. One section per layer."""

    cluster: ClusterConfig = ClusterConfig()
    gpu_pools: list[GpuPoolConfig] = []
    gpu_operator: GpuOperatorConfig = GpuOperatorConfig()
    storage: StorageConfig = StorageConfig()
    namespaces: NamespacesConfig = NamespacesConfig()
    models: list[ModelConfig] = []
    model_serving: ModelServingConfig = ModelServingConfig()
    databases: DatabasesConfig = DatabasesConfig()
    object_store: Optional[ObjectStoreConfig] = None
    gateway: Optional[GatewayConfig] = None
    tenants: list[TenantConfig] = []
    observability: Optional[ObservabilityConfig] = None
    backups: Optional[BackupsConfig] = None
    protect: bool = False

    @property
    def cpu_only(self) -> bool:
        return not self.gpu_pools

    @property
    def gpu_operator_enabled(self) -> bool:
        if self.gpu_operator.enabled is None:
            return bool(self.gpu_pools)
        return self.gpu_operator.enabled
