"""The ``databases`` section: each engine is optional and present only when its key is set.

Every engine shares the same shape for storage, resources, credentials, backups and who may
reach it (``EngineConfig``); engine sections add what only that engine has. Cross-field rules
(odd replica sets, racks against zones, backups without an object store, ...) live in
``infra/checks_data.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from infra.schema_base import DnsLabel, DnsSubdomain, Section, matches

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")
_CRON_FIELD = r"(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*"
_CRON = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")

Quantity = Annotated[str, AfterValidator(matches(_QUANTITY, "a Kubernetes quantity such as '500m', '2' or '4Gi'"))]
Cron = Annotated[str, AfterValidator(matches(
    _CRON, "a five-field cron schedule 'minute hour day-of-month month day-of-week' such as '0 3 * * *'"))]


class ResourcesConfig(Section):
    """Container resources (of a database instance, a proxy, an app); limits default to the requests."""

    cpu: Quantity = "500m"
    memory: Quantity = "1Gi"
    cpu_limit: Optional[Quantity] = None
    memory_limit: Optional[Quantity] = None


class BackupConfig(Section):
    """Backups to the cluster's object store (``objectStore`` on an existing cluster)."""

    enabled: bool = False
    schedule: Cron = "0 3 * * *"
    retention_days: int = Field(default=14, ge=1, le=3650, strict=True)


class CredentialsConfig(Section):
    """Where the engine's credentials come from: generated, or a Secret that already exists."""

    # A Secret in the data namespace holding the keys the README lists for the engine.
    existing_secret: Optional[DnsSubdomain] = None


class EngineConfig(Section):
    storage_gib: int = Field(default=20, ge=1, le=65536, strict=True, alias="storageGiB")
    storage_class: Optional[DnsSubdomain] = None          # None: the cluster's RWO class
    resources: ResourcesConfig = ResourcesConfig()
    credentials: CredentialsConfig = CredentialsConfig()
    backup: BackupConfig = BackupConfig()
    # Namespaces whose pods may reach this engine, besides databases.allowFrom.
    allow_from: list[DnsLabel] = []


class PostgresDatabase(Section):
    name: DnsLabel
    owner: Optional[DnsLabel] = None                      # None: a role named like the database
    extensions: list[str] = ["vector"]


class PoolerConfig(Section):
    enabled: bool = False
    instances: int = Field(default=2, ge=1, le=16, strict=True)
    pool_mode: Literal["session", "transaction"] = "transaction"
    max_client_connections: int = Field(default=1000, ge=10, le=100000, strict=True)
    default_pool_size: int = Field(default=20, ge=1, le=10000, strict=True)


class PostgresConfig(EngineConfig):
    """CloudNativePG ``Cluster`` with pgvector."""

    instances: int = Field(default=3, ge=1, le=9, strict=True)
    version: Literal["16", "17", "18"] = "17"
    databases: list[PostgresDatabase] = [PostgresDatabase(name="app")]
    pooler: PoolerConfig = PoolerConfig()
    parameters: dict[str, str] = {}
    wal_storage_gib: Optional[int] = Field(default=None, ge=1, le=65536, strict=True, alias="walStorageGiB")
    operator_namespace: DnsLabel = "cnpg-system"


class MysqlConfig(EngineConfig):
    """Oracle MySQL Operator ``InnoDBCluster`` (Group Replication + MySQL Router)."""

    instances: int = Field(default=3, ge=1, le=9, strict=True)
    router_instances: int = Field(default=2, ge=0, le=16, strict=True)
    databases: list[DnsLabel] = ["app"]
    operator_namespace: DnsLabel = "mysql-operator"


class MongodbConfig(EngineConfig):
    """Percona Server for MongoDB replica set."""

    members: int = Field(default=3, ge=1, le=7, strict=True)
    databases: list[DnsLabel] = ["app"]
    operator_namespace: DnsLabel = "psmdb-operator"


class CassandraRack(Section):
    name: DnsLabel
    zone: Optional[str] = None                            # None: the cluster's zones, in order


class CassandraConfig(EngineConfig):
    """K8ssandra ``K8ssandraCluster`` with one datacenter; Medusa backs it up."""

    datacenter: DnsLabel = "dc1"
    size: int = Field(default=3, ge=1, le=100, strict=True)
    racks: list[CassandraRack] = []
    heap: Quantity = "1Gi"
    # Cassandra wants the heap at most half the container's memory.
    resources: ResourcesConfig = ResourcesConfig(cpu="1", memory="4Gi")
    operator_namespace: DnsLabel = "k8ssandra-operator"


class RedisConfig(EngineConfig):
    """Valkey (the Redis fork kept by the Linux Foundation) as the prompt/response cache."""

    replicas: int = Field(default=0, ge=0, le=8, strict=True)   # read replicas beside the primary
    persistence: bool = True
    max_memory: Optional[Quantity] = None                 # None: 80% of the memory limit
    eviction_policy: Literal["allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu",
                             "allkeys-random", "volatile-ttl", "noeviction"] = "allkeys-lru"


class VectorConfig(EngineConfig):
    """The vector database: Qdrant (default), Milvus, or pgvector on the PostgreSQL cluster."""

    engine: Literal["qdrant", "milvus", "pgvector"] = "qdrant"
    replicas: int = Field(default=1, ge=1, le=16, strict=True)
    # Qdrant: shards are replicated this many times across the replicas.
    replication_factor: int = Field(default=1, ge=1, le=16, strict=True)


class DatabasesConfig(Section):
    namespace: DnsLabel = "genai-data"
    # Namespaces whose pods may reach every engine (tenants are added by the tenancy layer).
    allow_from: list[DnsLabel] = []
    service_monitors: bool = True
    service_monitor_labels: dict[str, str] = {}
    # Spread instances across the cluster's zones (DoNotSchedule); always spread across nodes.
    zone_spread: bool = False
    postgres: Optional[PostgresConfig] = None
    mysql: Optional[MysqlConfig] = None
    mongodb: Optional[MongodbConfig] = None
    cassandra: Optional[CassandraConfig] = None
    redis: Optional[RedisConfig] = None
    vector: Optional[VectorConfig] = None

    def engines(self) -> dict[str, EngineConfig]:
        """The engines this stack runs, by key."""
        return {key: section for key in ENGINE_KEYS if (section := getattr(self, key)) is not None}


ENGINE_KEYS = ("postgres", "mysql", "mongodb", "cassandra", "redis", "vector")


class ObjectStoreConfig(Section):
    """An S3-compatible bucket for an existing (on-prem) cluster's backups.

    The access keys are secrets: ``objectStoreAccessKeyId`` and ``objectStoreSecretAccessKey``.
    """

    endpoint: str = Field(pattern=r"^https?://[^\s/]+(:\d+)?/?$")
    bucket: DnsSubdomain
    region: str = "us-east-1"
