"""``databases.vector`` -> Qdrant (default), Milvus, or pgvector on the PostgreSQL cluster.

pgvector creates nothing here: the data layer maps the vector endpoint to PostgreSQL's.
"""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

import pulumi

from components.cluster.info import ClusterInfo, IdentityRequest
from components.data import milvus_specs as ms
from components.data import qdrant_collections_specs as qc
from components.data import qdrant_specs as qs
from components.data.common import BackupTarget, DatabaseEndpoint, DataContext, backup_target, resources
from components.data.milvus import Milvus, MilvusArgs, root_secret_name
from components.data.milvus import s3_keys_secret_name as milvus_keys_secret
from components.data.qdrant import Qdrant, QdrantArgs, api_key_secret_name
from components.data.qdrant import s3_keys_secret_name as qdrant_keys_secret
from infra.checks_data import has_object_store
from infra.problems import Problem
from infra.schema import PlatformConfig
from infra.schema_data import VectorConfig

AT = "databases.vector"
KEY = "vector"
IDENTITY = f"{KEY}-backups"     # the name the cluster hands the bound identity back under
PREFIX = KEY                    # where the engine writes in the bucket


def _alias(section: VectorConfig, field: str) -> str:
    return type(section).model_fields[field].alias or field


def _pgvector_problems(section: VectorConfig, cfg: PlatformConfig) -> list[Problem]:
    out: list[Problem] = []
    postgres = cfg.databases.postgres
    if postgres is None:
        out.append((f"{AT}.engine", "pgvector runs inside the PostgreSQL cluster, and databases.postgres is not set: "
                    "add databases.postgres (its default database 'app' has the 'vector' extension) or choose "
                    "engine qdrant"))
    elif not any("vector" in db.extensions for db in postgres.databases):
        out.append((f"{AT}.engine", "pgvector needs a PostgreSQL database with the 'vector' extension, and none of "
                    "databases.postgres.databases lists it: add 'vector' to one database's extensions"))
    for field in sorted(section.model_fields_set - {"engine"}):
        out.append((f"{AT}.{_alias(section, field)}", "only applies to qdrant and milvus; with pgvector the vectors "
                    "live in PostgreSQL and follow databases.postgres: remove this key"))
    return out


def _qdrant_problems(section: VectorConfig, cfg: PlatformConfig) -> list[Problem]:
    out: list[Problem] = []
    if section.replication_factor > section.replicas:
        out.append((f"{AT}.replicationFactor", f"{section.replication_factor} copies of each shard need as many "
                    f"peers, and replicas is {section.replicas}: raise replicas or lower replicationFactor"))
    target = cfg.cluster.target
    if section.backup.enabled and target in ("gke", "aks"):
        store = {"gke": "GCS (its S3 interface takes HMAC keys, not Workload Identity)",
                 "aks": "Azure Blob (it has no S3 interface)"}[target]
        out.append((f"{AT}.backup.enabled", f"Qdrant writes snapshots only to S3 or an S3-compatible store, not to "
                    f"{store}: set backup.enabled to false and rely on volume snapshots, or use engine pgvector, "
                    "whose PostgreSQL backups reach every cloud"))
    return out


def _milvus_problems(section: VectorConfig, cfg: PlatformConfig) -> list[Problem]:
    out: list[Problem] = []
    if section.replicas == 2:
        out.append((f"{AT}.replicas", "Milvus runs standalone (1) or distributed over a 3-member etcd (3 or more); "
                    "2 has no meaning: set 1 or at least 3"))
    if "replication_factor" in section.model_fields_set:
        out.append((f"{AT}.replicationFactor", "only Qdrant replicates shards across peers; Milvus keeps its segments "
                    "in the bucket and sets in-memory replicas per collection when loading: remove this key"))
    if section.backup.enabled:
        out.append((f"{AT}.backup.enabled", "Milvus keeps its segments, indexes and log in the object store, so its "
                    "backup is the bucket's own versioning and retention (plus etcd's volumes); set backup.enabled "
                    "to false"))
    if not has_object_store(cfg):
        out.append((f"{AT}.engine", "Milvus keeps its data in an object store, and an existing cluster has none: set "
                    "objectStore (endpoint, bucket) with the secrets objectStoreAccessKeyId and "
                    "objectStoreSecretAccessKey, or choose engine qdrant"))
    if cfg.cluster.target == "aks" and section.replicas > 1:
        out.append((f"{AT}.replicas", "distributed Milvus keeps its write-ahead log (Woodpecker) in the bucket, and "
                    "Woodpecker cannot write to Azure Blob: set replicas to 1 (standalone keeps the log on its "
                    "volume) or choose engine qdrant"))
    return out


def problems(section: VectorConfig, cfg: PlatformConfig) -> list[Problem]:
    if section.engine == "pgvector":
        return _pgvector_problems(section, cfg)
    if section.engine == "milvus":
        return _milvus_problems(section, cfg)
    return _qdrant_problems(section, cfg)


def backup_identity(section: VectorConfig, namespace: str) -> Optional[IdentityRequest]:
    if section.engine == "qdrant" and section.backup.enabled:
        # Qdrant uploads its snapshots itself: its pods' service account writes the bucket.
        return IdentityRequest(name=IDENTITY, namespace=namespace, service_account=qs.RELEASE, access="read-write")
    if section.engine == "milvus":
        # Milvus' data lives in the bucket whether or not anything is called a backup.
        return IdentityRequest(name=IDENTITY, namespace=namespace, service_account=ms.SERVICE_ACCOUNT,
                               access="read-write")
    return None


def pod_security(section: VectorConfig) -> str:
    if section.engine == "milvus":
        # Milvus' image only runs as root (see milvus_specs); ``baseline`` admits that while
        # still refusing privileged pods, host namespaces and host paths.
        return "baseline"
    return "restricted"


def _snapshots(section: VectorConfig, target: BackupTarget, keys_secret: str) -> qs.SnapshotSettings:
    store, identity = target.store, target.identity
    return qs.SnapshotSettings(
        bucket=store.bucket,
        region=store.region,
        prefix=target.prefix,
        schedule=section.backup.schedule,
        retention_days=section.backup.retention_days,
        endpoint=store.endpoint if target.static_keys else None,
        keys_secret=keys_secret if target.static_keys else None,
        sa_annotations=dict(identity.annotations) if identity else {},
        pod_labels=dict(identity.pod_labels) if identity else {},
    )


def _build_qdrant(name: str, ctx: DataContext, section: VectorConfig, opts: pulumi.ResourceOptions,
                  tenants: tuple[str, ...] = (), collections: tuple[qc.TenantCollection, ...] = ()
                  ) -> dict[str, DatabaseEndpoint]:
    res = section.resources
    snapshots = None
    target = backup_target(ctx.cluster, IDENTITY, PREFIX) if section.backup.enabled else None
    if target is not None:
        snapshots = _snapshots(section, target, qdrant_keys_secret())
    settings = qs.QdrantSettings(
        namespace=ctx.namespace,
        replicas=section.replicas,
        replication_factor=section.replication_factor,
        storage_gib=section.storage_gib,
        storage_class=section.storage_class or ctx.cluster.storage.rwo,
        resources=resources(res.cpu, res.memory, res.cpu_limit, res.memory_limit),
        api_key_secret=api_key_secret_name(section.credentials.existing_secret),
        zone_spread=ctx.zone_spread,
        service_monitors=ctx.service_monitors,
        service_monitor_labels=dict(ctx.service_monitor_labels),
        snapshots=snapshots,
    )
    qdrant = Qdrant(name, QdrantArgs(
        ctx=ctx, settings=settings, create_api_key=section.credentials.existing_secret is None,
        static_key_store=target.store if target is not None and target.static_keys else None,
        allow_from=tuple(section.allow_from),
        tenants=tenants,
        collections=collections,
    ), opts)
    return {KEY: qdrant.endpoint, **qdrant.tenant_endpoints}


def _split_endpoint(endpoint: str) -> tuple[str, int, bool]:
    url = urlsplit(endpoint)
    secure = url.scheme == "https"
    return url.hostname or "", url.port or (443 if secure else 80), secure


def milvus_storage(cluster: ClusterInfo) -> ms.MilvusStorage:
    """Where Milvus keeps its data: the cluster's bucket, through the workload identity or static keys."""
    target = backup_target(cluster, IDENTITY, PREFIX)
    if target is None:
        raise ValueError("Milvus needs the cluster's object store (the config checks require one)")
    store, identity = target.store, target.identity
    bound = {"sa_annotations": dict(identity.annotations) if identity else {},
             "pod_labels": dict(identity.pod_labels) if identity else {}}
    common = {"bucket": store.bucket, "root_path": target.prefix}
    if store.kind == "gcs":
        return ms.MilvusStorage(cloud_provider="gcp", host="storage.googleapis.com", port=443, use_ssl=True,
                                **common, **bound)
    if store.kind == "azure-blob":
        return ms.MilvusStorage(cloud_provider="azure", host="core.windows.net", port=443, use_ssl=True,
                                account=store.account, **common, **bound)
    if target.static_keys:
        if not isinstance(store.endpoint, str):
            raise ValueError("an S3-compatible store needs its endpoint URL")
        host, port, secure = _split_endpoint(store.endpoint)
        return ms.MilvusStorage(cloud_provider="aws", host=host, port=port, use_ssl=secure, region=store.region,
                                use_iam=False, keys_secret=milvus_keys_secret(), **common)
    return ms.MilvusStorage(cloud_provider="aws", host=f"s3.{store.region}.amazonaws.com", port=443, use_ssl=True,
                            region=store.region, use_virtual_host=True, **common, **bound)


def _build_milvus(name: str, ctx: DataContext, section: VectorConfig, opts: pulumi.ResourceOptions) -> DatabaseEndpoint:
    res = section.resources
    storage = milvus_storage(ctx.cluster)
    settings = ms.MilvusSettings(
        namespace=ctx.namespace,
        replicas=section.replicas,
        storage_gib=section.storage_gib,
        storage_class=section.storage_class or ctx.cluster.storage.rwo,
        resources=resources(res.cpu, res.memory, res.cpu_limit, res.memory_limit),
        root_secret=root_secret_name(section.credentials.existing_secret),
        storage=storage,
        zone_spread=ctx.zone_spread,
        service_monitors=ctx.service_monitors,
        service_monitor_labels=dict(ctx.service_monitor_labels),
    )
    milvus = Milvus(name, MilvusArgs(
        ctx=ctx, settings=settings, create_root_secret=section.credentials.existing_secret is None,
        static_key_store=ctx.cluster.object_store if storage.keys_secret else None,
        allow_from=tuple(section.allow_from),
    ), opts)
    return milvus.endpoint


def build(name: str, ctx: DataContext, section: VectorConfig, cfg: PlatformConfig,
          opts: pulumi.ResourceOptions, tenants: tuple[str, ...] = (),
          collections: tuple[qc.TenantCollection, ...] = ()) -> dict[str, DatabaseEndpoint]:
    """Tenants (and the collections made for them) only apply to Qdrant; pgvector tenants use
    their own PostgreSQL database."""
    if section.engine == "pgvector":
        return {}
    if section.engine == "milvus":
        return {KEY: _build_milvus(name, ctx, section, opts)}
    return _build_qdrant(name, ctx, section, opts, tenants, collections)
