"""Rules that span fields of the ``databases`` and ``objectStore`` sections.

Engine-specific rules live beside each engine's mapping (``infra/data_<engine>.py``, each
with a ``problems(section, cfg)``); the rules every engine shares are here.
"""

from __future__ import annotations

import importlib
from typing import Optional

from infra.problems import Problem
from infra.schema import PlatformConfig
from infra.schema_data import ENGINE_KEYS, DatabasesConfig, EngineConfig

# The modules holding each engine's rules and mapping (``vector`` covers Qdrant and Milvus).
ENGINE_MODULES = {key: f"infra.data_{key}" for key in ENGINE_KEYS}


def config_zones(cfg: PlatformConfig) -> Optional[tuple[str, ...]]:
    """The zones the cluster's nodes are in, as the stack states them; None when unknown.

    A regional GKE cluster without ``zones`` lets Google choose, so its zones are unknown here.
    """
    cluster = cfg.cluster
    if cluster.target == "existing":
        return tuple(cluster.existing.zones) or None
    if cluster.target == "eks" and cluster.eks is not None:
        from components.cluster.eks_specs import cluster_zones
        eks = cluster.eks
        zones = tuple(eks.zones) if eks.existing_vpc is not None else cluster_zones(eks.region, eks.az_count, eks.zones)
        return zones or None
    if cluster.target == "gke" and cluster.gke is not None:
        gke = cluster.gke
        zones = tuple(gke.zones) or ((gke.zone,) if gke.zone else ())
        return zones or None
    if cluster.target == "aks" and cluster.aks is not None:
        return tuple(cluster.aks.zones) or None
    return None


def has_object_store(cfg: PlatformConfig) -> bool:
    return cfg.cluster.target != "existing" or cfg.object_store is not None


def _engine_problems(key: str, engine: EngineConfig, cfg: PlatformConfig) -> list[Problem]:
    at = f"databases.{key}"
    out: list[Problem] = []
    if engine.backup.enabled and not has_object_store(cfg):
        out.append((f"{at}.backup.enabled", "backups need an object store, and an existing cluster has none: set "
                    "objectStore (endpoint, bucket) with the secrets objectStoreAccessKeyId and "
                    "objectStoreSecretAccessKey, or set backup.enabled to false"))
    res = engine.resources
    for limit, request, name in ((res.cpu_limit, res.cpu, "cpuLimit"), (res.memory_limit, res.memory, "memoryLimit")):
        if limit is not None and _quantity(limit) < _quantity(request):
            out.append((f"{at}.resources.{name}", f"{limit} is below the request {request}"))
    dup = sorted({n for n in engine.allow_from if engine.allow_from.count(n) > 1})
    if dup:
        out.append((f"{at}.allowFrom", f"lists {', '.join(dup)} more than once"))
    return out


_SUFFIX = {"m": 1e-3, "k": 1e3, "Ki": 2**10, "M": 1e6, "Mi": 2**20, "G": 1e9, "Gi": 2**30, "T": 1e12, "Ti": 2**40}


def _quantity(text: str) -> float:
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _SUFFIX[suffix]
    return float(text)


def _namespace_problems(cfg: PlatformConfig) -> list[Problem]:
    db = cfg.databases
    ns = cfg.namespaces
    taken = {
        "namespaces.system": ns.system, "namespaces.gpuOperator": ns.gpu_operator,
        "namespaces.models": ns.models, "namespaces.backups": ns.backups,
    }
    if cfg.model_serving.keda.enabled:
        taken["modelServing.keda.namespace"] = cfg.model_serving.keda.namespace
    out: list[Problem] = []
    if db.engines():
        for key, value in taken.items():
            if db.namespace == value:
                out.append(("databases.namespace", f"{value!r} is already {key}; the data namespace only admits "
                            "database traffic, so give it its own"))
        taken["databases.namespace"] = db.namespace
    for key, engine in db.engines().items():
        operator_ns = getattr(engine, "operator_namespace", None)
        if operator_ns is None:
            continue
        for other, value in taken.items():
            if operator_ns == value:
                out.append((f"databases.{key}.operatorNamespace", f"{value!r} is already {other}; each operator "
                            "runs in a namespace of its own"))
        taken[f"databases.{key}.operatorNamespace"] = operator_ns
    return out


def _object_store_problems(cfg: PlatformConfig) -> list[Problem]:
    if cfg.object_store is not None and cfg.cluster.target != "existing":
        return [("objectStore", f"the {cfg.cluster.target} target creates its own bucket and workload identities; "
                 "remove this section")]
    return []


def data_problems(cfg: PlatformConfig) -> list[Problem]:
    db: DatabasesConfig = cfg.databases
    out: list[Problem] = _object_store_problems(cfg) + _namespace_problems(cfg)
    dup = sorted({n for n in db.allow_from if db.allow_from.count(n) > 1})
    if dup:
        out.append(("databases.allowFrom", f"lists {', '.join(dup)} more than once"))
    if db.namespace in db.allow_from:
        out.append(("databases.allowFrom", f"{db.namespace!r} is the data namespace itself; its own pods always "
                    "reach each other"))
    for key, engine in db.engines().items():
        out += _engine_problems(key, engine, cfg)
        module = importlib.import_module(ENGINE_MODULES[key])
        out += module.problems(engine, cfg)
    return out
