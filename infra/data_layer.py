"""The data layer of the program: stack ``databases`` -> data namespace -> one component per engine.

Each engine's mapping lives in ``infra/data_<engine>.py`` with the same four functions:
``problems(section, cfg)`` (config rules), ``backup_identity(section, namespace)`` (the
service account the cluster binds to the bucket, when backups are on), ``pod_security(section)``
(what the engine's pods need from Pod Security Admission) and
``build(name, ctx, section, cfg, opts) -> dict[str, DatabaseEndpoint]``; and, where the
operator itself reaches the bucket, ``operator_identity(section, namespace)``. Engines that
serve tenants take them as keywords of ``build`` (see ``_tenant_engine_args``) and return each
tenant's share as an endpoint keyed ``<engine>@<tenant>``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Literal, Optional
from urllib.parse import urlsplit

import pulumi

from components.cluster.info import ClusterInfo, IdentityRequest
from components.common.labels import standard_labels
from components.data.common import DatabaseEndpoint, DataContext, data_namespace_egress
from components.data.qdrant_collections_specs import TenantCollection
from components.models.server_specs import scraper_namespace
from components.platform.namespace import NamespaceArgs, PlatformNamespace
from components.tenancy import contracts as tc
from components.tenancy import data_specs as ds
from components.tenancy.contracts import Egress, TenantData
from components.tenancy.data import DedicatedPostgres, DedicatedPostgresArgs
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
class TenantDataRequest:
    """What one tenant asks of the data layer."""

    name: str
    namespace: str
    database: Literal["shared", "dedicated"] = "shared"
    instances: int = 1                         # dedicated only
    storage_gib: int = 10                      # dedicated only
    vector_store: Optional[Literal["qdrant", "pgvector"]] = None   # resolved; None: no vector store
    # Qdrant only: the collection's vector size and metric (None: no collection is created).
    vector_dimension: Optional[int] = None
    vector_distance: str = "Cosine"
    # Created before the dedicated cluster: the tenant namespace, when the program has it by then.
    depends_on: tuple[pulumi.Resource, ...] = ()


def tenant_vector_store(cfg: PlatformConfig, asked: Optional[str]) -> Optional[Literal["qdrant", "pgvector"]]:
    """pgvector in the tenant's own database, unless the tenant asks for a Qdrant collection.

    Every tenant database carries the vector extension, so pgvector isolates tenants by
    database with nothing to create. A Qdrant collection has to be created by the platform
    (the tenant's collection-scoped token can't) with a known vector size, and apps that name
    their own collections (Open WebUI uses several) can't live in one, so it is opt-in.
    Without databases.postgres there is no tenant database: no store (the config checks say so).
    """
    if asked == "qdrant":
        return "qdrant"
    return "pgvector" if cfg.databases.postgres is not None else None


def tenant_requests(cfg: PlatformConfig) -> tuple[TenantDataRequest, ...]:
    return tuple(TenantDataRequest(
        name=t.name, namespace=t.effective_namespace, database=t.database.mode, instances=t.database.instances,
        storage_gib=t.database.storage_gib, vector_store=tenant_vector_store(cfg, t.vector.store),
        vector_dimension=t.vector.dimension, vector_distance=t.vector.distance,
    ) for t in cfg.tenants)


@dataclass(frozen=True)
class DataLayer:
    namespace: str
    endpoints: dict[str, DatabaseEndpoint]
    # Per tenant: its share of each engine, keyed "<engine>@<tenant>" (never exported).
    tenant_endpoints: dict[str, DatabaseEndpoint] = field(default_factory=dict)
    tenants: dict[str, TenantData] = field(default_factory=dict)

    def outputs(self) -> dict:
        return {key: ep.outputs() for key, ep in self.endpoints.items()}

    def tenant_data(self, name: str) -> TenantData:
        """What the tenancy layer writes into the tenant's ConfigMap/Secret and policies."""
        return self.tenants.get(name, TenantData(config={}, secrets={}))


def needs_cert_manager(cfg: PlatformConfig) -> bool:
    """K8ssandra's webhooks take their certificates from cert-manager."""
    return cfg.databases.cassandra is not None


def _tenant_engine_args(key: str, section, tenants: tuple[TenantDataRequest, ...]) -> dict:
    """The tenants each engine serves, as its mapper's ``build`` takes them (none: no keyword)."""
    if key == "postgres":
        shared = tuple(t.name for t in tenants if t.database == "shared")
        dedicated = tuple((t.name, t.namespace) for t in tenants if t.database == "dedicated")
        return {"tenants": shared, "dedicated": dedicated} if shared or dedicated else {}
    if key == "redis":
        names = tuple(t.name for t in tenants)
        return {"tenants": names} if names else {}
    if key == "vector" and section.engine == "qdrant":
        qdrant = [t for t in tenants if t.vector_store == "qdrant"]
        collections = tuple(TenantCollection(t.name, t.vector_dimension, t.vector_distance)
                            for t in qdrant if t.vector_dimension is not None)
        return ({"tenants": tuple(t.name for t in qdrant), **({"collections": collections} if collections else {})}
                if qdrant else {})
    return {}


def _tenant_namespaces(key: str, section, tenants: tuple[TenantDataRequest, ...]) -> tuple[str, ...]:
    """Tenant namespaces whose pods may reach an engine: only the engines they use."""
    if key == "postgres":
        return tuple(t.namespace for t in tenants if t.database == "shared")
    if key == "redis":
        return tuple(t.namespace for t in tenants)
    if key == "vector" and section.engine == "qdrant":
        return tuple(t.namespace for t in tenants if t.vector_store == "qdrant")
    return ()


def build_data(cfg: PlatformConfig, cluster: ClusterInfo, cert_manager: Optional[pulumi.Resource] = None,
               tenants: tuple[TenantDataRequest, ...] = ()) -> Optional[DataLayer]:
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
        engine_ctx = replace(ctx, allow_from=tuple(sorted({*ctx.allow_from, *_tenant_namespaces(key, section, tenants)})))
        built = engine_module(key).build(key, engine_ctx, section, cfg, pulumi.ResourceOptions(),
                                         **_tenant_engine_args(key, section, tenants))
        endpoints.update(built)
    tenant_endpoints = {k: endpoints.pop(k) for k in [k for k in endpoints if "@" in k]}
    if db.vector is not None and db.vector.engine == "pgvector":
        # pgvector lives in the PostgreSQL cluster: the vector store is its first database
        # that carries the extension (the config checks require one).
        postgres = endpoints["postgres"]
        database = pgvector_database(cfg)
        secret = postgres.extra.get("databases", {}).get(database, postgres.secret_name)
        endpoints["vector"] = replace(postgres, engine="pgvector", database=database, secret_name=secret,
                                      extra={})
    shares = {t.name: tenant_share(cfg, cluster, t, tenant_endpoints) for t in tenants}
    return DataLayer(namespace=ns, endpoints=endpoints, tenant_endpoints=tenant_endpoints, tenants=shares)


def _postgres_share(cfg: PlatformConfig, cluster: ClusterInfo, t: TenantDataRequest,
                    ep: DatabaseEndpoint) -> tuple[dict, dict, list[Egress], tuple, Optional[str]]:
    """ConfigMap keys, Secret keys, egress, objects to wait for and the dedicated cluster's name."""
    if ep.extra.get("dedicated"):
        postgres = cfg.databases.postgres
        assert postgres is not None
        settings = ds.dedicated_settings(
            t.name, t.namespace, version=postgres.version, instances=t.instances, storage_gib=t.storage_gib,
            storage_class=postgres.storage_class or cluster.storage.rwo,
            operator_namespace=postgres.operator_namespace, zone_spread=cfg.databases.zone_spread)
        db = DedicatedPostgres(f"tenant-{t.name}-postgres", DedicatedPostgresArgs(
            cluster=cluster, settings=settings, depends_on=(*t.depends_on, *ep.extra["resources"])))
        host, user, database = f"{settings.name}-rw.{t.namespace}.svc.cluster.local", settings.databases[0].owner, \
            settings.databases[0].name
        password: pulumi.Input[str] = db.password
        egress = [ds.postgres_egress(t.namespace, settings.instance_selector)]
        waits, dedicated = db.resources, settings.name
    else:
        host, user, database, password = ep.host, ep.extra["username"], ep.database or "", ep.extra["password"]
        egress = [ds.postgres_egress(ep.secret_namespace, ep.extra["instance_selector"])]
        if ep.extra.get("pooler_selector"):
            egress.append(ds.postgres_egress(ep.secret_namespace, ep.extra["pooler_selector"]))
        waits, dedicated = tuple(ep.extra["resources"]), None
    config = {tc.PGHOST: host, tc.PGPORT: str(ep.port), tc.PGUSER: user, tc.PGDATABASE: database}
    # A password not yet known resolves to None where an engine offers no preview value: the
    # URL is then unknown too, instead of a failed quote.
    url = pulumi.Output.secret(pulumi.Output.from_input(password).apply(
        lambda p: None if p is None else ds.database_url(user, p, host, ep.port, database)))
    secrets = {tc.DATABASE_URL: url, tc.PGPASSWORD: password}
    return config, secrets, egress, waits, dedicated


def tenant_share(cfg: PlatformConfig, cluster: ClusterInfo, t: TenantDataRequest,
                 tenant_endpoints: dict[str, DatabaseEndpoint]) -> TenantData:
    config: dict[str, str] = {}
    secrets: dict[str, pulumi.Input[str]] = {}
    egress: list[Egress] = []
    waits: list[pulumi.Resource] = []
    dedicated = None
    pg = tenant_endpoints.get(f"postgres@{t.name}")
    if pg is not None:
        c, s, e, w, dedicated = _postgres_share(cfg, cluster, t, pg)
        config.update(c)
        secrets.update(s)
        egress += e
        waits += w
    qdrant = tenant_endpoints.get(f"vector@{t.name}")
    if t.vector_store == "qdrant" and qdrant is not None:
        config.update({tc.VECTOR_STORE: "qdrant", tc.VECTOR_URL: f"http://{qdrant.host}:{qdrant.port}",
                       tc.VECTOR_COLLECTION: qdrant.extra["collection"]})
        secrets[tc.VECTOR_API_KEY] = qdrant.extra["token"]
        egress.append(Egress(namespace=qdrant.secret_namespace, pod_selector=dict(qdrant.extra["selector"]),
                             ports=(qdrant.port,)))
        waits += qdrant.extra["resources"]
    elif t.vector_store == "pgvector" and pg is not None:
        # The tenant's own database carries the extension; tables share a per-tenant prefix.
        config.update({tc.VECTOR_STORE: "pgvector", tc.VECTOR_COLLECTION: f"tenant_{t.name.replace('-', '_')}"})
    redis = tenant_endpoints.get(f"redis@{t.name}")
    if redis is not None:
        user, host, port = redis.extra["username"], redis.host, redis.port
        secrets[tc.REDIS_URL] = pulumi.Output.secret(pulumi.Output.from_input(redis.extra["password"]).apply(
            lambda p: None if p is None else ds.redis_url(user, p, host, port)))
        config[tc.REDIS_KEY_PREFIX] = redis.extra["key_prefix"]
        egress.append(Egress(namespace=redis.secret_namespace, pod_selector=dict(redis.extra["selector"]),
                             ports=(port,)))
        waits += redis.extra["resources"]
    return TenantData(config=config, secrets=secrets, egress=tuple(egress), depends_on=tuple(waits),
                      dedicated_cluster=dedicated)


def pgvector_database(cfg: PlatformConfig) -> Optional[str]:
    postgres = cfg.databases.postgres
    if postgres is None:
        return None
    return next((d.name for d in postgres.databases if "vector" in d.extensions), None)
