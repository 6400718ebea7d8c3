"""Rules that span fields of the stack configuration.

Each rule returns ``(key path, message)`` pairs so that every problem is reported at once,
with the path a user can find in the stack file (``gpuPools[1].sharing.migProfile``).
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from components.common.gpus import GPU_MODELS
from components.common.instances import INSTANCE_TYPES, lookup
from infra.checks_aks import aks_problems
from infra.checks_data import data_problems
from infra.checks_edge import edge_problems, gateway_problems
from infra.checks_eks import eks_problems
from infra.checks_gke import gke_problems
from infra.checks_models import capacity_problems, models_problems, plan_problems, planning_pools
from infra.checks_ops import ops_problems
from infra.checks_tenancy import tenancy_problems, tenant_problems, tenants_problems
from infra.problems import Problem, suggest
from infra.schema import (
    ClusterConfig,
    GpuOperatorConfig,
    GpuPoolConfig,
    ModelConfig,
    NamespacesConfig,
    PlatformConfig,
    StorageConfig,
)
from infra.schema_edge import GatewayConfig
from infra.schema_tenancy import TenantConfig

RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


CLOUD_OF_TARGET = {"eks": "aws", "gke": "gcp", "aks": "azure"}
_CLOUD_POOL_KEYS = {"instance_type": "instanceType", "min_size": "minSize", "max_size": "maxSize",
                    "desired_size": "desiredSize", "spot": "spot", "disk_size_gib": "diskSizeGiB", "zones": "zones"}


def _existing_pool_problems(at: str, pool: GpuPoolConfig) -> list[Problem]:
    out: list[Problem] = []
    for field, key in _CLOUD_POOL_KEYS.items():
        if field in pool.model_fields_set:
            out.append((f"{at}.{key}", "only applies to cloud targets (cluster.target eks, gke or aks); "
                        "an existing cluster's nodes are not created here"))
    for field, key in (("gpu_model", "gpuModel"), ("gpus_per_node", "gpusPerNode")):
        if getattr(pool, field) is None:
            out.append((f"{at}.{key}", "required for an existing cluster's pool"))
    return out


def _cloud_pool_problems(at: str, pool: GpuPoolConfig, target: str) -> list[Problem]:
    cloud = CLOUD_OF_TARGET[target]
    out: list[Problem] = []
    if not pool.instance_type:
        return [(f"{at}.instanceType", f"required on the {target} target (e.g. one of "
                 f"{', '.join(list(INSTANCE_TYPES[cloud])[:6])}, ...)")]
    instance = lookup(cloud, pool.instance_type)
    if instance is None:
        explicit = None not in (pool.gpu_model, pool.gpus_per_node, pool.gpu_memory_gib)
        if not explicit:
            out.append((f"{at}.instanceType", f"unknown {cloud} GPU instance type {pool.instance_type!r}"
                        f"{suggest(pool.instance_type, INSTANCE_TYPES[cloud])} (known: {', '.join(INSTANCE_TYPES[cloud])}); "
                        "or state gpuModel, gpusPerNode and gpuMemoryGiB for a type the catalog lacks"))
    else:
        if pool.gpu_model is not None and pool.gpu_model != instance.gpu_model:
            out.append((f"{at}.gpuModel", f"{pool.instance_type} has {instance.gpu_model} GPUs, not {pool.gpu_model}; "
                        "drop the key to use the catalog's"))
        if pool.gpus_per_node is not None and pool.gpus_per_node != instance.gpus:
            out.append((f"{at}.gpusPerNode", f"{pool.instance_type} has {instance.gpus} GPUs, not {pool.gpus_per_node}; "
                        "drop the key to use the catalog's"))
    if pool.max_size is None:
        out.append((f"{at}.maxSize", "required on cloud targets: the most nodes the autoscaler may create (>= 1)"))
    elif pool.min_size > pool.max_size:
        out.append((f"{at}.minSize", f"{pool.min_size} is above maxSize {pool.max_size}"))
    if pool.desired_size is not None and pool.max_size is not None and not (
            pool.min_size <= pool.desired_size <= pool.max_size):
        out.append((f"{at}.desiredSize", f"must lie between minSize {pool.min_size} and maxSize {pool.max_size}"))
    if pool.node_selector:
        out.append((f"{at}.nodeSelector", "cloud pools are labelled by the platform "
                    "(genai-platform.io/gpu-pool: <name>); remove this key"))
    return out


def _pool_problems(i: int, pool: GpuPoolConfig, target: str = "existing") -> list[Problem]:
    at = f"gpuPools[{i}]"
    out: list[Problem] = (_existing_pool_problems(at, pool) if target == "existing"
                          else _cloud_pool_problems(at, pool, target))
    gpu_model = pool.gpu_model
    if gpu_model is None and target in CLOUD_OF_TARGET and pool.instance_type:
        instance = lookup(CLOUD_OF_TARGET[target], pool.instance_type)
        gpu_model = instance.gpu_model if instance else None
    model = GPU_MODELS.get(gpu_model) if gpu_model else None
    if gpu_model is not None and model is None:
        out.append((f"{at}.gpuModel", f"unknown GPU model {gpu_model!r}{suggest(gpu_model, GPU_MODELS)} "
                    f"(known: {', '.join(GPU_MODELS)})"))
    elif model is not None and pool.gpu_memory_gib is not None and pool.gpu_memory_gib != model.memory_gib:
        out.append((f"{at}.gpuMemoryGiB", f"{gpu_model} has {model.memory_gib} GiB, not {pool.gpu_memory_gib}; "
                    "fix the value or drop the key to use the catalog's"))
    sharing = pool.sharing
    if sharing.mode == "time-slicing":
        if sharing.replicas is None or sharing.replicas < 2:
            out.append((f"{at}.sharing.replicas", "time-slicing needs replicas >= 2 (each GPU is advertised that many times)"))
        if sharing.mig_profile is not None:
            out.append((f"{at}.sharing.migProfile", "only applies when sharing.mode is 'mig'"))
    elif sharing.mode == "mig":
        if sharing.replicas is not None:
            out.append((f"{at}.sharing.replicas", "only applies when sharing.mode is 'time-slicing'"))
        if not sharing.mig_profile:
            out.append((f"{at}.sharing.migProfile", "required when sharing.mode is 'mig' (e.g. '1g.10gb')"))
        elif model is not None and sharing.mig_profile not in model.mig_profiles:
            valid = ", ".join(model.mig_profiles) if model.mig_profiles else "none: this GPU does not support MIG"
            out.append((f"{at}.sharing.migProfile", f"{sharing.mig_profile!r} is not a MIG profile of {gpu_model} "
                        f"(valid: {valid})"))
    else:
        for key, val in (("replicas", sharing.replicas), ("migProfile", sharing.mig_profile)):
            if val is not None:
                out.append((f"{at}.sharing.{key}", "only applies when sharing.mode is 'time-slicing' or 'mig'"))
    if not any(t.key == "nvidia.com/gpu" and t.effect in ("NoSchedule", "NoExecute") for t in pool.taints):
        out.append((f"{at}.taints", "must include the GPU taint nvidia.com/gpu=present with effect NoSchedule "
                    "(or NoExecute) to keep CPU pods off GPUs"))
    return out


def _storage_problems(storage: StorageConfig) -> list[Problem]:
    rwx = storage.rwx
    out: list[Problem] = []
    if rwx.provider == "nfs" and rwx.nfs is None:
        out.append(("storage.rwx.nfs", "required when storage.rwx.provider is 'nfs' (server and share)"))
    if rwx.provider != "nfs" and rwx.nfs is not None:
        out.append(("storage.rwx.nfs", "only applies when storage.rwx.provider is 'nfs'"))
    if rwx.provider == "existing" and not rwx.class_name:
        out.append(("storage.rwx.className", "required when storage.rwx.provider is 'existing' (the class to adopt)"))
    if rwx.provider == "none" and rwx.class_name:
        out.append(("storage.rwx.className", "set storage.rwx.provider to 'nfs' or 'existing' to use an RWX class"))
    if storage.volume_snapshots != "none" and rwx.provider != "nfs":
        out.append(("storage.volumeSnapshots", "snapshot classes are created for the NFS CSI driver only; "
                    "set storage.rwx.provider to 'nfs' or volumeSnapshots to 'none'"))
    if rwx.class_name and rwx.class_name == storage.rwo.class_name:
        out.append(("storage.rwx.className", "must differ from storage.rwo.className"))
    return out


def _pools_problems(pools: list[tuple[int, GpuPoolConfig]], target: str = "existing") -> list[Problem]:
    out: list[Problem] = []
    seen: dict[str, int] = {}
    for i, pool in pools:
        if pool.name in seen:
            out.append((f"gpuPools[{i}].name", f"duplicate pool name {pool.name!r} (also gpuPools[{seen[pool.name]}])"))
        seen.setdefault(pool.name, i)
        out += _pool_problems(i, pool, target)
    return out


def _operator_problems(op: GpuOperatorConfig, has_pools: Optional[bool]) -> list[Problem]:
    out: list[Problem] = []
    if op.enabled and has_pools is False:
        out.append(("gpuOperator.enabled", "true needs at least one gpuPools entry (a CPU-only stack runs no GPU Operator)"))
    if op.driver == "preinstalled" and op.driver_version:
        out.append(("gpuOperator.driverVersion", "only applies when gpuOperator.driver is 'managed'"))
    return out


def _namespace_problems(ns: NamespacesConfig) -> list[Problem]:
    out: list[Problem] = []
    for key, value in (("system", ns.system), ("gpuOperator", ns.gpu_operator)):
        if value in RESERVED_NAMESPACES:
            out.append((f"namespaces.{key}", f"{value!r} belongs to Kubernetes; choose a namespace of the platform's own"))
    if ns.system == ns.gpu_operator:
        out.append(("namespaces.gpuOperator", "must differ from namespaces.system (it runs privileged pods)"))
    return out


def _target_problems(cluster: ClusterConfig) -> list[Problem]:
    out: list[Problem] = []
    for target in CLOUD_OF_TARGET:
        section = getattr(cluster, target)
        if cluster.target == target and section is None:
            out.append((f"cluster.{target}", f"required when cluster.target is {target!r}"))
        if cluster.target != target and section is not None:
            out.append((f"cluster.{target}", f"only applies when cluster.target is {target!r} "
                        f"(it is {cluster.target!r})"))
    if cluster.target != "existing":
        if "existing" in cluster.model_fields_set:
            out.append(("cluster.existing", f"only applies when cluster.target is 'existing' (it is {cluster.target!r})"))
        pool = cluster.system_pool
        if pool.min_size > pool.max_size:
            out.append(("cluster.systemPool.minSize", f"{pool.min_size} is above maxSize {pool.max_size}"))
        if pool.desired_size is not None and not pool.min_size <= pool.desired_size <= pool.max_size:
            out.append(("cluster.systemPool.desiredSize",
                        f"must lie between minSize {pool.min_size} and maxSize {pool.max_size}"))
    elif "system_pool" in cluster.model_fields_set:
        out.append(("cluster.systemPool", "only applies to cloud targets (cluster.target eks, gke or aks)"))
    return out


def _cloud_operator_problems(cfg: PlatformConfig) -> list[Problem]:
    # EKS's accelerated AMIs and GKE's driver installer bring driver and toolkit themselves.
    if cfg.cluster.target not in ("eks", "gke"):
        return []
    keys = {"driver": "driver", "driver_version": "driverVersion", "toolkit": "toolkit"}
    return [(f"gpuOperator.{key}", f"decided by the {cfg.cluster.target} target (the node image brings the driver "
             "and container toolkit); remove this key")
            for field, key in keys.items() if field in cfg.gpu_operator.model_fields_set]


def _cloud_storage_problems(cfg: PlatformConfig) -> list[Problem]:
    if cfg.cluster.target != "existing" and "storage" in cfg.model_fields_set:
        return [("storage", f"the {cfg.cluster.target} target creates its own storage classes "
                 "(see the README's per-cloud settings); remove this section")]
    return []


def _cloud_problems(cfg: PlatformConfig) -> list[Problem]:
    rules = {"eks": eks_problems, "gke": gke_problems, "aks": aks_problems}
    rule = rules.get(cfg.cluster.target)
    if rule is None or getattr(cfg.cluster, cfg.cluster.target) is None:
        return []
    return rule(cfg)


def check(cfg: PlatformConfig) -> list[Problem]:
    """Every cross-field problem in ``cfg``; empty when the configuration is coherent."""
    target = cfg.cluster.target
    pool_problems = _pools_problems(list(enumerate(cfg.gpu_pools)), target)
    models = list(enumerate(cfg.models))
    pool_names = {p.name for p in cfg.gpu_pools}
    model_problems = models_problems(models, pool_names, cpu_only=not cfg.gpu_pools)
    if not pool_problems:
        # A plan on pools that are themselves wrong would only add noise.
        planned = plan_problems(models, planning_pools(cfg.gpu_pools, target))
        model_problems += planned
        if not planned:
            model_problems += capacity_problems(models, cfg.gpu_pools, target)
    return (_target_problems(cfg.cluster)
            + pool_problems
            + _operator_problems(cfg.gpu_operator, bool(cfg.gpu_pools))
            + _namespace_problems(cfg.namespaces)
            + _storage_problems(cfg.storage)
            + _cloud_storage_problems(cfg)
            + _cloud_operator_problems(cfg)
            + _cloud_problems(cfg)
            + model_problems
            + data_problems(cfg)
            + edge_problems(cfg) + tenancy_problems(cfg) + ops_problems(cfg))


def _parse(model: type[BaseModel], value: Any) -> Optional[Any]:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def check_sections(raw: dict[str, Any]) -> list[Problem]:
    """Cross-field rules on every section that is valid on its own.

    Used when some field is invalid, so that those problems and the cross-field ones are
    reported together instead of one round after another.
    """
    out: list[Problem] = []
    raw_pools = raw.get("gpuPools", [])
    has_pools: Optional[bool] = None
    cluster = _parse(ClusterConfig, raw.get("cluster", {}))
    # A bad key inside cluster.<cloud> must not make the pools look like an existing cluster's.
    raw_target = raw["cluster"].get("target") if isinstance(raw.get("cluster"), dict) else None
    target = cluster.target if cluster is not None else (
        raw_target if raw_target in ("existing", *CLOUD_OF_TARGET) else "existing")
    if cluster is not None:
        out += _target_problems(cluster)
    pools: list[GpuPoolConfig] = []
    pools_sound = False
    if isinstance(raw_pools, list):
        parsed = [(i, _parse(GpuPoolConfig, p)) for i, p in enumerate(raw_pools)]
        pool_problems = _pools_problems([(i, p) for i, p in parsed if p is not None], target)
        out += pool_problems
        pools = [p for _, p in parsed if p is not None]
        pools_sound = len(pools) == len(parsed) and not pool_problems
        has_pools = bool(raw_pools)
    raw_models = raw.get("models", [])
    if isinstance(raw_models, list):
        models = [(i, m) for i, m in ((i, _parse(ModelConfig, m)) for i, m in enumerate(raw_models)) if m is not None]
        # Pools that failed to parse still exist for the models that name them.
        names = {p.get("name") for p in raw_pools if isinstance(p, dict) and isinstance(p.get("name"), str)}
        out += models_problems(models, names, cpu_only=not raw_pools)
        if pools_sound:
            # A plan on pools that are themselves wrong would only add noise.
            out += plan_problems(models, planning_pools(pools, target))
    for key, model, rule in (
        ("gpuOperator", GpuOperatorConfig, lambda s: _operator_problems(s, has_pools)),
        ("namespaces", NamespacesConfig, _namespace_problems),
        ("storage", StorageConfig, _storage_problems),
    ):
        section = _parse(model, raw.get(key, {}))
        if section is not None:
            out += rule(section)
    gateway = _parse(GatewayConfig, raw["gateway"]) if "gateway" in raw else None
    if gateway is not None:
        out += gateway_problems(gateway)
    raw_tenants = raw.get("tenants", [])
    if isinstance(raw_tenants, list):
        tenants = [(i, t) for i, t in ((i, _parse(TenantConfig, t)) for i, t in enumerate(raw_tenants)) if t is not None]
        out += tenants_problems(tenants)
        for i, tenant in tenants:
            out += tenant_problems(i, tenant)
    return out
