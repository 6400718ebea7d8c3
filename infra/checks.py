"""Rules that span fields of the stack configuration.

Each rule returns ``(key path, message)`` pairs so that every problem is reported at once,
with the path a user can find in the stack file (``gpuPools[1].sharing.migProfile``).
"""

from __future__ import annotations

import difflib
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from components.common.gpus import GPU_MODELS
from infra.schema import GpuOperatorConfig, GpuPoolConfig, NamespacesConfig, PlatformConfig, StorageConfig

Problem = tuple[str, str]
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def suggest(word: str, candidates) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _pool_problems(i: int, pool: GpuPoolConfig) -> list[Problem]:
    at = f"gpuPools[{i}]"
    out: list[Problem] = []
    model = GPU_MODELS.get(pool.gpu_model)
    if model is None:
        out.append((f"{at}.gpuModel", f"unknown GPU model {pool.gpu_model!r}{suggest(pool.gpu_model, GPU_MODELS)} "
                    f"(known: {', '.join(GPU_MODELS)})"))
    elif pool.gpu_memory_gib is not None and pool.gpu_memory_gib != model.memory_gib:
        out.append((f"{at}.gpuMemoryGiB", f"{pool.gpu_model} has {model.memory_gib} GiB, not {pool.gpu_memory_gib}; "
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
            out.append((f"{at}.sharing.migProfile", f"{sharing.mig_profile!r} is not a MIG profile of {pool.gpu_model} "
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


def _pools_problems(pools: list[tuple[int, GpuPoolConfig]]) -> list[Problem]:
    out: list[Problem] = []
    seen: dict[str, int] = {}
    for i, pool in pools:
        if pool.name in seen:
            out.append((f"gpuPools[{i}].name", f"duplicate pool name {pool.name!r} (also gpuPools[{seen[pool.name]}])"))
        seen.setdefault(pool.name, i)
        out += _pool_problems(i, pool)
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


def check(cfg: PlatformConfig) -> list[Problem]:
    """Every cross-field problem in ``cfg``; empty when the configuration is coherent."""
    return (_pools_problems(list(enumerate(cfg.gpu_pools)))
            + _operator_problems(cfg.gpu_operator, bool(cfg.gpu_pools))
            + _namespace_problems(cfg.namespaces)
            + _storage_problems(cfg.storage))


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
    if isinstance(raw_pools, list):
        parsed = [(i, _parse(GpuPoolConfig, p)) for i, p in enumerate(raw_pools)]
        out += _pools_problems([(i, p) for i, p in parsed if p is not None])
        has_pools = bool(raw_pools)
    for key, model, rule in (
        ("gpuOperator", GpuOperatorConfig, lambda s: _operator_problems(s, has_pools)),
        ("namespaces", NamespacesConfig, _namespace_problems),
        ("storage", StorageConfig, _storage_problems),
    ):
        section = _parse(model, raw.get(key, {}))
        if section is not None:
            out += rule(section)
    return out
