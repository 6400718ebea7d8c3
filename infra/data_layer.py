"""The data layer of the program: stack ``databases`` -> data namespace -> one component per engine.

Each engine's mapping lives in ``infra/data_<engine>.py`` with the same four functions:
``problems(section, cfg)`` (config rules), ``backup_identity(section, namespace)`` (the
service account the cluster binds to the bucket, when backups are on), ``pod_security(section)``
(what the engine's pods need from Pod Security Admission) and
``build(name, ctx, section, cfg, opts) -> dict[str, DatabaseEndpoint]``; and, where the
operator itself reaches the bucket, ``operator_identity(section, namespace)``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Optional
from urllib.parse import urlsplit

import pulumi

from components.cluster.info import ClusterInfo, IdentityRequest
from components.common.labels import standard_labels
from components.data.common import DatabaseEndpoint, DataContext, data_namespace_egress
from components.models.server_specs import scraper_namespace
from components.platform.namespace import NamespaceArgs, PlatformNamespace
from infra.checks_data import ENGINE_MODULES
from infra.schema import PlatformConfig

_PSA_ORDER = ("restricted", "baseline", "privileged")


def engine_module(key: str) -> ModuleType:
    return importlib.import_module(ENGINE_MODULES[key])


def identity_requests(cfg: PlatformConfig) -> tuple[IdentityRequest, ...]:
    """Service accounts of engines with backups on, to be bound to the cluster's bucket."""
    db = cfg.databases
    out = []
    for key, section in db.engines().items():
        module = engine_module(key)
        # An operator that reads or prunes backups itself (Percona's) asks for its own identity.
        for fn in ("backup_identity", "operator_identity"):
            request = getattr(module, fn, lambda *_: None)(section, db.namespace)
            if request is not None:
                out.append(request)
    return tuple(out)


def pod_security(cfg: PlatformConfig) -> str:
    levels = [engine_module(key).pod_security(section) for key, section in cfg.databases.engines().items()]
    return max(levels, key=_PSA_ORDER.index, default="restricted")


def _store_ports(cluster: ClusterInfo) -> tuple[int, ...]:
    """The port of an on-prem object store's endpoint, when it isn't HTTPS' 443."""
    store = cluster.object_store
    if store is None or not isinstance(store.endpoint, str):
        return ()
    url = urlsplit(store.endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    return (port,)


@dataclass(frozen=True)
class DataLayer:
    namespace: str
    endpoints: dict[str, DatabaseEndpoint]

    def outputs(self) -> dict:
        return {key: ep.outputs() for key, ep in self.endpoints.items()}


def needs_cert_manager(cfg: PlatformConfig) -> bool:
    """K8ssandra's webhooks take their certificates from cert-manager."""
    return cfg.databases.cassandra is not None


def build_data(cfg: PlatformConfig, cluster: ClusterInfo,
               cert_manager: Optional[pulumi.Resource] = None) -> Optional[DataLayer]:
    db = cfg.databases
    engines = db.engines()
    if not engines:
        return None
    ns = db.namespace
    policy_labels = standard_labels("network-policy", ns, "data")
    namespace = PlatformNamespace("data-ns", NamespaceArgs(
        provider=cluster.provider,
        namespace=ns,
        component="data",
        kubernetes_version=cluster.kubernetes_version,
        pod_security=pod_security(cfg),  # type: ignore[arg-type]
        extra_policies=tuple(data_namespace_egress(ns, policy_labels, _store_ports(cluster), cluster.kind,
                                                  workload_identity=bool(identity_requests(cfg)))),
        protect=cluster.protect,
    ))
    metrics_ns = scraper_namespace(cfg.model_serving.prometheus_address) if db.service_monitors else None
    ctx = DataContext(
        cluster=cluster,
        namespace=ns,
        allow_from=tuple(db.allow_from),
        metrics_namespace=metrics_ns,
        service_monitors=db.service_monitors,
        service_monitor_labels=dict(db.service_monitor_labels),
        zone_spread=db.zone_spread,
        depends_on=(namespace.resource,),
        cert_manager=cert_manager,
    )
    endpoints: dict[str, DatabaseEndpoint] = {}
    for key, section in engines.items():
        built = engine_module(key).build(key, ctx, section, cfg, pulumi.ResourceOptions())
        endpoints.update(built)
    if db.vector is not None and db.vector.engine == "pgvector":
        # pgvector lives in the PostgreSQL cluster: the vector store is its first database
        # that carries the extension (the config checks require one).
        postgres = endpoints["postgres"]
        database = pgvector_database(cfg)
        secret = postgres.extra.get("databases", {}).get(database, postgres.secret_name)
        endpoints["vector"] = replace(postgres, engine="pgvector", database=database, secret_name=secret,
                                      extra={})
    return DataLayer(namespace=ns, endpoints=endpoints)


def pgvector_database(cfg: PlatformConfig) -> Optional[str]:
    postgres = cfg.databases.postgres
    if postgres is None:
        return None
    return next((d.name for d in postgres.databases if "vector" in d.extensions), None)
