"""GPU pools as the layers see them, from the stack's pool settings.

Shared by the program (cluster components get these pools) and the config checks (the
capacity planner places models on them before anything is created).
"""

from __future__ import annotations

from components.cluster.info import GpuPool, GpuSharing, SystemPool, Taint
from components.common.gpus import GPU_MODELS
from components.common.instances import Cloud, lookup
from infra.schema import GpuPoolConfig, SystemPoolConfig

CLOUDS: dict[str, Cloud] = {"eks": "aws", "gke": "gcp", "aks": "azure"}
POOL_LABEL = "genai-platform.io/gpu-pool"


def gpu_pool(cfg: GpuPoolConfig, target: str = "existing") -> GpuPool:
    """The pool as the layers see it; a known cloud instance type fills in the GPU facts."""
    cloud = CLOUDS.get(target)
    instance = lookup(cloud, cfg.instance_type) if cloud and cfg.instance_type else None
    gpu_model = cfg.gpu_model or (instance.gpu_model if instance else "")
    gpus = cfg.gpus_per_node or (instance.gpus if instance else 0)
    memory = cfg.gpu_memory_gib or GPU_MODELS[gpu_model].memory_gib
    return GpuPool(
        name=cfg.name,
        gpu_model=gpu_model,
        gpu_memory_gib=memory,
        gpus_per_node=gpus,
        node_selector=dict(cfg.node_selector) or {POOL_LABEL: cfg.name},
        taints=tuple(Taint(t.key, t.value, t.effect) for t in cfg.taints),
        sharing=GpuSharing(cfg.sharing.mode, cfg.sharing.replicas, cfg.sharing.mig_profile),
        instance_type=cfg.instance_type,
        min_size=cfg.min_size,
        max_size=cfg.max_size or 0,
        desired_size=cfg.desired_size,
        spot=cfg.spot,
        disk_size_gib=cfg.disk_size_gib,
        zones=tuple(cfg.zones),
    )


def system_pool(cfg: SystemPoolConfig, default_instance_type: str) -> SystemPool:
    """The cloud's CPU pool; each cloud names its own default machine."""
    return SystemPool(
        instance_type=cfg.instance_type or default_instance_type,
        min_size=cfg.min_size,
        max_size=cfg.max_size,
        desired_size=cfg.desired_size,
        disk_size_gib=cfg.disk_size_gib,
        spot=cfg.spot,
    )
