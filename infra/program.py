"""The program: validated config -> cluster -> platform layers -> stack outputs.

Maps the user-facing config sections onto each component's typed arguments; components never
see ``pulumi.Config``.
"""

from __future__ import annotations

import pulumi

from components.cluster.existing import ExistingCluster, ExistingClusterArgs
from components.cluster.info import ClusterInfo, GpuPool, GpuSharing, StorageClasses, Taint
from components.common.gpus import GPU_MODELS
from components.platform.gpu_operator import GpuOperator, GpuOperatorArgs
from components.platform.gpu_operator_values import GpuOperatorSettings
from components.platform.namespace import NamespaceArgs, PlatformNamespace
from components.platform.storage import Storage, StorageArgs
from components.platform.storage_specs import NfsSettings
from infra.config import LoadedConfig
from infra.schema import GpuPoolConfig, PlatformConfig

NFS_DEFAULT_CLASS = "nfs-rwx"


def gpu_pool(cfg: GpuPoolConfig) -> GpuPool:
    memory = cfg.gpu_memory_gib or GPU_MODELS[cfg.gpu_model].memory_gib
    return GpuPool(
        name=cfg.name,
        gpu_model=cfg.gpu_model,
        gpu_memory_gib=memory,
        gpus_per_node=cfg.gpus_per_node,
        node_selector=dict(cfg.node_selector) or {"genai-platform.io/gpu-pool": cfg.name},
        taints=tuple(Taint(t.key, t.value, t.effect) for t in cfg.taints),
        sharing=GpuSharing(cfg.sharing.mode, cfg.sharing.replicas, cfg.sharing.mig_profile),
    )


def storage_classes(cfg: PlatformConfig) -> StorageClasses:
    rwx = cfg.storage.rwx
    rwx_class = None if rwx.provider == "none" else (rwx.class_name or NFS_DEFAULT_CLASS)
    return StorageClasses(rwo=cfg.storage.rwo.class_name, rwx=rwx_class)


def build_cluster(loaded: LoadedConfig) -> ClusterInfo:
    cfg = loaded.platform
    existing = cfg.cluster.existing
    cluster = ExistingCluster("cluster", ExistingClusterArgs(
        kubernetes_version=cfg.cluster.kubernetes_version,
        gpu_pools=tuple(gpu_pool(p) for p in cfg.gpu_pools),
        storage=storage_classes(cfg),
        kubeconfig=loaded.kubeconfig,
        kubeconfig_path=existing.kubeconfig_path,
        context=existing.context,
        protect=cfg.protect,
    ))
    return cluster.info


def build_platform(cfg: PlatformConfig, cluster: ClusterInfo) -> dict:
    PlatformNamespace("system", NamespaceArgs(
        provider=cluster.provider,
        namespace=cfg.namespaces.system,
        component="platform",
        kubernetes_version=cluster.kubernetes_version,
        protect=cluster.protect,
    ))
    if cfg.gpu_operator_enabled:
        op = cfg.gpu_operator
        GpuOperator("gpu-operator", GpuOperatorArgs(
            cluster=cluster,
            namespace=cfg.namespaces.gpu_operator,
            settings=GpuOperatorSettings(
                chart_version=op.chart_version,
                driver=op.driver,
                driver_version=op.driver_version,
                toolkit=op.toolkit,
                dcgm_service_monitor=op.dcgm_service_monitor,
            ),
        ))
    rwx = cfg.storage.rwx
    nfs = None
    if rwx.provider == "nfs" and rwx.nfs is not None and cluster.storage.rwx:
        nfs = NfsSettings(server=rwx.nfs.server, share=rwx.nfs.share, class_name=cluster.storage.rwx,
                          sub_dir=rwx.nfs.sub_dir, mount_options=tuple(rwx.nfs.mount_options))
    Storage("storage", StorageArgs(cluster=cluster, nfs=nfs, snapshots=cfg.storage.volume_snapshots))
    return {
        "namespaces": {"system": cfg.namespaces.system,
                       **({"gpuOperator": cfg.namespaces.gpu_operator} if cfg.gpu_operator_enabled else {})},
    }


def run(loaded: LoadedConfig) -> None:
    cfg = loaded.platform
    cluster = build_cluster(loaded)
    platform = build_platform(cfg, cluster)
    pulumi.export("cluster", {
        "kind": cluster.kind,
        "kubernetesVersion": cluster.kubernetes_version,
        "cpuOnly": cluster.cpu_only,
    })
    pulumi.export("gpuPools", [{
        "name": p.name,
        "gpuModel": p.gpu_model,
        "gpuMemoryGiB": p.gpu_memory_gib,
        "gpusPerNode": p.gpus_per_node,
        "sharing": p.sharing.mode,
        "nodeSelector": dict(p.node_selector),
        "nodeLabels": p.operator_node_labels,
    } for p in cluster.gpu_pools])
    pulumi.export("storageClasses", {"rwo": cluster.storage.rwo, "rwx": cluster.storage.rwx})
    pulumi.export("namespaces", platform["namespaces"])
