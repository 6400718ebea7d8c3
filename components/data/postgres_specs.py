"""Pure builders for PostgreSQL with pgvector on CloudNativePG (operator 1.30, chart 0.29.0).

- ``operator_values``: the ``cloudnative-pg`` chart's values (CRDs, resources, its PodMonitor).
- ``cluster``: the ``Cluster`` (instances, pinned image with pgvector, storage, resources,
  parameters, spread, PDBs, initdb owner, the other owners as managed roles, backups and the
  service account / pod labels a workload identity needs).
- ``database``: one ``Database`` per application database with its extensions.
- ``scheduled_backup``: the ``ScheduledBackup`` (CloudNativePG cron has a seconds field).
- ``owner_secret``: metadata of a role's ``kubernetes.io/basic-auth`` Secret.

The pooler, monitors and network policies are in ``postgres_access``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi

from components.common.k8s import HOSTNAME_KEY, topology_spread
from components.common.labels import standard_labels
from components.common.security import Resources

OPERATOR_CHART = "cloudnative-pg"
OPERATOR_REPOSITORY = "https://cloudnative-pg.github.io/charts"
OPERATOR_CHART_VERSION = "0.29.0"          # CloudNativePG 1.30.0
OPERATOR_RELEASE = "cnpg"
OPERATOR_RESOURCES = Resources(cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="512Mi")

API_VERSION = "postgresql.cnpg.io/v1"
# The ``system`` flavour is ``standard`` (pgvector, pgaudit, failover slots, all locales)
# plus the Barman Cloud binaries the operator's in-tree ``barmanObjectStore`` runs inside the
# instance pods. One flavour whether backups are on or off: switching flavour would roll
# every instance the day backups are turned on.
IMAGE_REPOSITORY = "ghcr.io/cloudnative-pg/postgresql"
IMAGES = {
    "16": f"{IMAGE_REPOSITORY}:16.15-system-trixie",
    "17": f"{IMAGE_REPOSITORY}:17.11-system-trixie",
    "18": f"{IMAGE_REPOSITORY}:18.6-system-trixie",
}

POSTGRES_PORT = 5432
STATUS_PORT = 8000             # instance manager: the operator polls each instance's status
METRICS_PORT = 9187            # instance exporter (container port ``metrics``)
POOLER_METRICS_PORT = 9127     # PgBouncer exporter (container port ``metrics``)
WEBHOOK_PORT = 9443            # operator admission webhooks
OPERATOR_METRICS_PORT = 8080   # operator's own metrics (container port ``metrics``)

CLUSTER_LABEL = "cnpg.io/cluster"
POD_ROLE_LABEL = "cnpg.io/podRole"
POOLER_LABEL = "cnpg.io/poolerName"
# Secrets labelled so are re-read at once when they change (password rotation).
RELOAD_LABEL = "cnpg.io/reload"

# pgvector plus contrib modules of the image that need no shared_preload_libraries (those that
# do, like pg_stat_statements or pgaudit, are switched on through ``parameters`` instead).
EXTENSIONS = frozenset({
    "vector", "pg_trgm", "btree_gin", "btree_gist", "citext", "hstore", "pgcrypto", "uuid-ossp", "unaccent",
    "fuzzystrmatch", "ltree", "intarray", "cube", "tablefunc", "pg_buffercache", "pgstattuple", "amcheck", "bloom",
})
# Databases PostgreSQL creates itself; the operator refuses a Database for them.
RESERVED_DATABASES = frozenset({"postgres", "template0", "template1"})
# ``postgres`` is the superuser; the operator's own Secrets (and the backup keys Secret) are
# ``<cluster>-<suffix>``, which an owner's Secret ``<cluster>-<owner>`` would overwrite.
RESERVED_OWNERS = frozenset({"postgres", "ca", "server", "replication", "superuser", "pooler", "pull-secret",
                             "backup-s3"})
# postgresql.conf settings the operator owns (its webhook rejects them).
OPERATOR_PARAMETERS = frozenset({
    "allow_system_table_mods", "archive_cleanup_command", "archive_command", "archive_mode", "bonjour", "bonjour_name",
    "cluster_name", "config_file", "data_directory", "data_sync_retry", "event_source", "external_pid_file",
    "hba_file", "hot_standby", "ident_file", "jit_provider", "listen_addresses", "log_destination", "log_directory",
    "log_file_mode", "log_filename", "log_rotation_age", "log_rotation_size", "log_truncate_on_rotation",
    "logging_collector", "port", "primary_conninfo", "primary_slot_name", "promote_trigger_file",
    "recovery_end_command", "recovery_min_apply_delay", "recovery_target", "recovery_target_action",
    "recovery_target_inclusive", "recovery_target_lsn", "recovery_target_name", "recovery_target_time",
    "recovery_target_timeline", "recovery_target_xid", "restart_after_crash", "restore_command",
    "shared_preload_libraries", "ssl", "ssl_ca_file", "ssl_cert_file", "ssl_crl_file", "ssl_dh_params_file",
    "ssl_ecdh_curve", "ssl_key_file", "ssl_passphrase_command", "ssl_passphrase_command_supports_reload",
    "ssl_prefer_server_ciphers", "stats_temp_directory", "synchronized_standby_slots", "synchronous_standby_names",
    "syslog_facility", "syslog_ident", "syslog_sequence_numbers", "syslog_split_messages", "temp_tablespaces",
    "unix_socket_directories", "unix_socket_group", "unix_socket_permissions",
})
# Barman Cloud compresses every WAL segment and base backup before upload.
COMPRESSION = "gzip"


@dataclass(frozen=True)
class DatabaseSpec:
    name: str
    owner: str
    extensions: tuple[str, ...] = ("vector",)


@dataclass(frozen=True)
class PoolerSettings:
    enabled: bool = False
    instances: int = 2
    pool_mode: Literal["session", "transaction"] = "transaction"
    max_client_connections: int = 1000
    default_pool_size: int = 20


@dataclass(frozen=True)
class BackupSettings:
    """Where and how often Barman Cloud writes base backups and WAL."""

    destination: pulumi.Input[str]            # s3://, gs:// or the Azure container URL
    store_kind: Literal["s3", "gcs", "azure-blob"]
    schedule: str                             # five-field cron
    retention_days: int
    region: Optional[str] = None              # S3
    endpoint: Optional[pulumi.Input[str]] = None   # S3-compatible store
    keys_secret: Optional[str] = None         # Secret with ACCESS_KEY_ID / ACCESS_SECRET_KEY (static keys)
    # Cloud stores: the instances' service account is bound to the bucket (EKS Pod Identity
    # binds by name alone; IRSA, GKE and AKS also need its annotations, AKS the pod label).
    workload_identity: bool = False
    sa_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PostgresSettings:
    name: str                                 # the Cluster, its Services <name>-rw/-ro and its service account
    namespace: str
    version: str
    instances: int
    databases: tuple[DatabaseSpec, ...]
    storage_gib: int
    storage_class: str
    resources: Resources
    parameters: Mapping[str, str] = field(default_factory=dict)
    wal_storage_gib: Optional[int] = None
    existing_secret: Optional[str] = None     # basic-auth Secret of the first database's owner
    pooler: PoolerSettings = field(default_factory=PoolerSettings)
    operator_namespace: str = "cnpg-system"
    allow_from: tuple[str, ...] = ()
    zone_spread: bool = False
    # Namespaces holding clusters of their own (tenants' dedicated databases) the operator manages.
    managed_namespaces: tuple[str, ...] = ()

    @property
    def image(self) -> str:
        return IMAGES[self.version]

    @property
    def owners(self) -> tuple[str, ...]:
        """Every database owner once, the first database's owner first."""
        return tuple(dict.fromkeys(db.owner for db in self.databases))

    def secret_name(self, owner: str) -> str:
        """The basic-auth Secret holding ``owner``'s credentials."""
        if self.existing_secret and owner == self.owners[0]:
            return self.existing_secret
        return f"{self.name}-{owner}"

    @property
    def pooler_name(self) -> str:
        return f"{self.name}-pooler-rw"

    @property
    def instance_selector(self) -> dict[str, str]:
        # Pooler pods carry the cluster label too; the pod role tells instances apart.
        return {CLUSTER_LABEL: self.name, POD_ROLE_LABEL: "instance"}

    @property
    def pooler_selector(self) -> dict[str, str]:
        return {POOLER_LABEL: self.pooler_name}


def tenant_database(tenant: str) -> DatabaseSpec:
    """A tenant's database in the shared cluster: database and owner role ``tenant-<name>``
    (CloudNativePG quotes both, so the hyphen needs no care from clients)."""
    name = f"tenant-{tenant}"
    return DatabaseSpec(name=name, owner=name, extensions=("vector",))


def labels(settings: PostgresSettings, component: str = "database") -> dict[str, str]:
    return standard_labels("postgres", settings.name, component)


def operator_values(service_monitors: bool, monitor_labels: Mapping[str, str]) -> dict:
    values: dict = {
        # The chart carries the CRDs in its templates: uninstalling it deletes every database,
        # which is why the release follows ``protect``.
        "crds": {"create": True},
        "replicaCount": 1,
        "resources": OPERATOR_RESOURCES.to_k8s(),
        "monitoring": {"podMonitorEnabled": service_monitors},
    }
    if service_monitors and monitor_labels:
        values["monitoring"]["podMonitorAdditionalLabels"] = dict(monitor_labels)
    return values


def owner_secret(settings: PostgresSettings, owner: str) -> dict:
    """Metadata of an owner's Secret (type ``kubernetes.io/basic-auth``, keys username/password)."""
    return {"name": settings.secret_name(owner), "namespace": settings.namespace,
            "labels": {**labels(settings, "credentials"), RELOAD_LABEL: "true"}}


def backup_keys_secret(settings: PostgresSettings) -> dict:
    """Metadata of the S3-compatible store's access keys Secret (ACCESS_KEY_ID, ACCESS_SECRET_KEY)."""
    return {"name": f"{settings.name}-backup-s3", "namespace": settings.namespace,
            "labels": {**labels(settings, "backup"), RELOAD_LABEL: "true"}}


def _storage(gib: int, storage_class: str) -> dict:
    return {"size": f"{gib}Gi", "storageClass": storage_class}


def _credentials(backup: BackupSettings) -> dict:
    if backup.store_kind == "gcs":
        return {"googleCredentials": {"gkeEnvironment": True}}
    if backup.store_kind == "azure-blob":
        # ``managed-identity`` in barman-cloud: azure-identity's ManagedIdentityCredential,
        # which takes the federated token the workload identity webhook mounts.
        return {"azureCredentials": {"inheritFromAzureAD": True}}
    if backup.keys_secret:
        return {"endpointURL": backup.endpoint, "s3Credentials": {
            "accessKeyId": {"name": backup.keys_secret, "key": "ACCESS_KEY_ID"},
            "secretAccessKey": {"name": backup.keys_secret, "key": "ACCESS_SECRET_KEY"},
        }}
    # IRSA or EKS Pod Identity: boto3's default chain reads what the EKS webhook injects.
    return {"s3Credentials": {"inheritFromIAMRole": True}}


def backup_spec(settings: PostgresSettings, backup: BackupSettings) -> dict:
    store = {
        "destinationPath": backup.destination,
        "serverName": settings.name,
        "wal": {"compression": COMPRESSION},
        "data": {"compression": COMPRESSION},
        **_credentials(backup),
    }
    return {"barmanObjectStore": store, "retentionPolicy": f"{backup.retention_days}d"}


def cluster(settings: PostgresSettings, backup: Optional[BackupSettings] = None) -> dict:
    s = settings
    first, owners = s.databases[0], s.owners
    spec: dict = {
        "instances": s.instances,
        "imageName": s.image,
        "imagePullPolicy": "IfNotPresent",
        "enableSuperuserAccess": False,
        # A single instance's PDB would block every node drain for good.
        "enablePDB": s.instances > 1,
        "storage": _storage(s.storage_gib, s.storage_class),
        "resources": s.resources.to_k8s(),
        "affinity": {"enablePodAntiAffinity": True, "podAntiAffinityType": "preferred", "topologyKey": HOSTNAME_KEY},
        "topologySpreadConstraints": topology_spread(s.instance_selector, s.zone_spread),
        "bootstrap": {"initdb": {"database": first.name, "owner": first.owner,
                                 "secret": {"name": s.secret_name(first.owner)}}},
    }
    if s.wal_storage_gib:
        spec["walStorage"] = _storage(s.wal_storage_gib, s.storage_class)
    if s.parameters:
        spec["postgresql"] = {"parameters": dict(s.parameters)}
    if len(owners) > 1:
        spec["managed"] = {"roles": [
            {"name": owner, "ensure": "present", "login": True, "inherit": True,
             "passwordSecret": {"name": s.secret_name(owner)}}
            for owner in owners[1:]
        ]}
    if backup is not None:
        spec["backup"] = backup_spec(s, backup)
        if backup.sa_annotations:
            # The instances run as the service account named like the Cluster; the operator
            # creates it from this template.
            spec["serviceAccountTemplate"] = {"metadata": {"annotations": dict(backup.sa_annotations)}}
        if backup.pod_labels:
            # Inherited labels reach the instance pods (and the Cluster's jobs) at creation,
            # where the workload identity webhook looks for them.
            spec["inheritedMetadata"] = {"labels": dict(backup.pod_labels)}
        if backup.store_kind == "s3" and backup.region:
            spec["env"] = [{"name": "AWS_DEFAULT_REGION", "value": backup.region}]
    return {
        "apiVersion": API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": s.name, "namespace": s.namespace, "labels": labels(s)},
        "spec": spec,
    }


def database(settings: PostgresSettings, db: DatabaseSpec) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "Database",
        "metadata": {"name": f"{settings.name}-{db.name}", "namespace": settings.namespace,
                     "labels": labels(settings)},
        "spec": {
            "cluster": {"name": settings.name},
            "name": db.name,
            "owner": db.owner,
            "ensure": "present",
            # Deleting the object never drops the data.
            "databaseReclaimPolicy": "retain",
            "extensions": [{"name": ext, "ensure": "present"} for ext in db.extensions],
        },
    }


def cnpg_schedule(cron: str) -> str:
    """A five-field cron as CloudNativePG reads it (seconds first)."""
    return f"0 {cron}"


def scheduled_backup(settings: PostgresSettings, backup: BackupSettings) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "ScheduledBackup",
        "metadata": {"name": f"{settings.name}-scheduled", "namespace": settings.namespace,
                     "labels": labels(settings, "backup")},
        "spec": {
            "cluster": {"name": settings.name},
            "schedule": cnpg_schedule(backup.schedule),
            "method": "barmanObjectStore",
            # A base backup right away: point-in-time recovery needs one before any WAL is useful.
            "immediate": True,
            "backupOwnerReference": "self",
        },
    }
