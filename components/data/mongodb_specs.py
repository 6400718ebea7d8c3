"""Pure builders for MongoDB on the Percona Server for MongoDB (PSMDB) operator.

- ``operator_values``: the ``psmdb-operator`` chart's values (one namespace watched, hardened pod);
- ``cluster_spec``: the ``PerconaServerMongoDB`` spec (one replica set, users, TLS, backups,
  the mongodb_exporter sidecar);
- ``backup_spec``: PBM storage, schedule and retention;
- ``users_secret_data`` / ``app_user_secret_data``: the Secrets' key layout;
- ``pod_monitor``, ``network_policy``, ``operator_network_policies``, ``service_account``.

Versions: operator 1.21.2 (the release whose CRD matches the reference schema), its chart
1.21.3 and the images its release was tested with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit

from components.common.k8s import ZONE_KEY
from components.common.labels import standard_labels
from components.common.security import Resources, container_security_context, pod_security_context
from components.data.common import Backup, DataContext, engine_ingress, operator_policies

OPERATOR_VERSION = "1.21.2"
CHART = "psmdb-operator"
CHART_VERSION = "1.21.3"                  # the chart release that ships operator 1.21.2
CHART_REPOSITORY = "https://percona.github.io/percona-helm-charts/"
OPERATOR_IMAGE = "percona/percona-server-mongodb-operator"
MONGOD_IMAGE = "percona/percona-server-mongodb:8.0.17-6"
PBM_IMAGE = "percona/percona-backup-mongodb:2.11.0"
EXPORTER_IMAGE = "percona/mongodb_exporter:0.52.0"

API_VERSION = "psmdb.percona.com/v1"
KIND = "PerconaServerMongoDB"
REPLSET = "rs0"
PORT = 27017
METRICS_PORT = 9216
# The release name is also the operator's service account (the chart's fullname).
OPERATOR_RELEASE = "psmdb-operator"
# The replica set's pods (mongod, PBM agent, exporter) run as this service account.
SERVICE_ACCOUNT = "mongodb-replset"
STORAGE_NAME = "object-store"
BACKUP_TASK = "scheduled"
MONGOD_UID = 1001                         # the percona-server-mongodb image's user
EXPORTER_UID = 65535                      # the mongodb_exporter image's user
# Labels the operator puts on every pod of a cluster (pkg/naming/labels.go).
POD_NAME_LABEL = {"app.kubernetes.io/name": "percona-server-mongodb"}

# Keys of the system users Secret the operator reads (``spec.secrets.users``), with the
# user names it would pick itself.
SYSTEM_USERS = {
    "MONGODB_DATABASE_ADMIN": "databaseAdmin",
    "MONGODB_CLUSTER_ADMIN": "clusterAdmin",
    "MONGODB_USER_ADMIN": "userAdmin",
    "MONGODB_CLUSTER_MONITOR": "clusterMonitor",
    "MONGODB_BACKUP": "backup",
}
# Databases MongoDB keeps for itself, and names the operator refuses for application users.
RESERVED_DATABASES = ("admin", "local", "config")
RESERVED_USERS = tuple(SYSTEM_USERS.values())

OPERATOR_RESOURCES = Resources(cpu_request="100m", memory_request="128Mi", cpu_limit="500m", memory_limit="512Mi")
# PBM streams logical dumps through the agent; the limit leaves room for compression buffers.
PBM_RESOURCES = Resources(cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi")
EXPORTER_RESOURCES = Resources(cpu_request="50m", memory_request="64Mi", cpu_limit="200m", memory_limit="128Mi")


@dataclass(frozen=True)
class MongoSettings:
    """What one PSMDB cluster looks like, from the stack's ``databases.mongodb``."""

    name: str                                     # the PerconaServerMongoDB's name
    namespace: str
    members: int
    storage_gib: int
    storage_class: str
    resources: Resources
    databases: tuple[str, ...]
    existing_secret: Optional[str] = None         # application passwords, ``<db>-password``
    zone_spread: bool = False
    metrics: bool = False
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)   # the backup identity's (AKS)

    @property
    def users_secret(self) -> str:
        return f"{self.name}-system-users"

    @property
    def backup_secret(self) -> str:
        return f"{self.name}-backup-s3"

    @property
    def service(self) -> str:
        """The replica set's headless Service."""
        return f"{self.name}-{REPLSET}"

    @property
    def selector(self) -> dict[str, str]:
        return {**POD_NAME_LABEL, "app.kubernetes.io/instance": self.name}

    def app_secret(self, database: str) -> str:
        """The Secret holding ``database``'s user credentials."""
        return self.existing_secret or f"{self.name}-{database}-user"

    def app_password_key(self, database: str) -> str:
        return f"{database}-password" if self.existing_secret else "password"


# --- security contexts -------------------------------------------------------------------

def writable_root(run_as_user: int) -> dict:
    # The operator's entrypoints (ps-entry.sh, pbm-entry.sh) assemble /tmp/tls.pem from the TLS
    # Secret and mongod keeps its socket in /tmp; the pod template has no /tmp volume for them.
    return {**container_security_context(run_as_user), "readOnlyRootFilesystem": False}


# --- operator ------------------------------------------------------------------------------

def operator_values(data_namespace: str, identity_annotations: Mapping[str, Any] = {},  # noqa: B006 - read only
                    identity_pod_labels: Mapping[str, str] = {}) -> dict:  # noqa: B006 - read only
    """Values of the ``psmdb-operator`` chart.

    ``watchNamespace`` rather than ``watchAllNamespaces``: the operator only reconciles the
    data namespace, so a PerconaServerMongoDB created elsewhere is ignored. The operator reads
    and deletes backups itself (retention, restore checks), so on a cloud its service account
    carries the same bucket identity as the replica set's.
    """
    values: dict[str, Any] = {
        "image": {"repository": OPERATOR_IMAGE, "tag": OPERATOR_VERSION},
        "watchNamespace": data_namespace,
        # Telemetry goes to check.percona.com, which the namespace's egress policy blocks anyway.
        "disableTelemetry": True,
        "resources": OPERATOR_RESOURCES.to_k8s(),
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        # With a read-only root filesystem the chart mounts an emptyDir on /tmp.
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if identity_annotations:
        values["serviceAccount"] = {"create": True, "annotations": dict(identity_annotations)}
    if identity_pod_labels:
        values["podLabels"] = dict(identity_pod_labels)
    return values


# --- backups -------------------------------------------------------------------------------

def backup_storage(backup: Backup, credentials_secret: str) -> dict:
    """PBM's storage entry for the cluster's object store.

    On EKS no credentials Secret: PBM then uses the AWS SDK's chain, which picks up the Pod
    Identity or IRSA credentials of the service account. On an S3-compatible store, the
    endpoint and a Secret with the store's keys. GCS and Azure Blob need keys PBM 2.11 can't
    get from a workload identity, so ``problems()`` rejects them before this is reached.
    """
    target = backup.target
    store = target.store
    if store.kind != "s3":
        raise ValueError(f"PBM cannot reach a {store.kind} store with a workload identity")
    s3: dict[str, Any] = {"bucket": store.bucket, "region": store.region, "prefix": target.prefix.strip("/")}
    if target.static_keys:
        s3["endpointUrl"] = store.endpoint
        s3["credentialsSecret"] = credentials_secret
    return {"type": "s3", "s3": s3}


def backup_spec(backup: Backup, credentials_secret: str, keep: int) -> dict:
    """``spec.backup``: PBM agents, the storage, one scheduled logical backup keeping the
    ``keep`` newest (a count is the operator's only retention type)."""
    return {
        "enabled": True,
        "image": PBM_IMAGE,
        "resources": PBM_RESOURCES.to_k8s(),
        "containerSecurityContext": writable_root(MONGOD_UID),
        "storages": {STORAGE_NAME: backup_storage(backup, credentials_secret)},
        "pitr": {"enabled": False},
        "tasks": [{
            "name": BACKUP_TASK,
            "enabled": True,
            # The operator schedules tasks itself with five-field cron expressions.
            "schedule": backup.schedule,
            "storageName": STORAGE_NAME,
            "type": "logical",
            "compressionType": "gzip",
            "retention": {"type": "count", "count": keep, "deleteFromStorage": True},
        }],
    }


def backup_keys_secret_data(backup: Backup) -> dict[str, Any]:
    """The Secret PBM reads an S3-compatible store's keys from."""
    store = backup.target.store
    return {"AWS_ACCESS_KEY_ID": store.access_key_id, "AWS_SECRET_ACCESS_KEY": store.secret_access_key}


def store_port(backup: Optional[Backup]) -> Optional[int]:
    """The port of an on-prem store's endpoint when it isn't 443 (already open everywhere)."""
    if backup is None or not backup.target.static_keys or not isinstance(backup.target.store.endpoint, str):
        return None
    url = urlsplit(backup.target.store.endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    return None if port == 443 else port


# --- the cluster ---------------------------------------------------------------------------

def exporter_sidecar(s: MongoSettings) -> dict:
    """mongodb_exporter next to mongod, signed in as the read-only clusterMonitor user."""
    def secret_env(name: str, key: str) -> dict:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": s.users_secret, "key": key}}}
    probe = {"tcpSocket": {"port": "metrics"}, "periodSeconds": 10, "timeoutSeconds": 2}
    return {
        "name": "mongodb-exporter",
        "image": EXPORTER_IMAGE,
        "args": [
            f"--mongodb.uri=mongodb://127.0.0.1:{PORT}/admin",
            f"--web.listen-address=:{METRICS_PORT}",
            "--compatible-mode",
            "--collector.diagnosticdata",
            "--collector.replicasetstatus",
            "--collector.dbstats",
        ],
        # The exporter adds these to the URI itself, so the password never sits in an argument.
        "env": [secret_env("MONGODB_USER", "MONGODB_CLUSTER_MONITOR_USER"),
                secret_env("MONGODB_PASSWORD", "MONGODB_CLUSTER_MONITOR_PASSWORD")],
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "resources": EXPORTER_RESOURCES.to_k8s(),
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 10, "failureThreshold": 6},
        "securityContext": container_security_context(EXPORTER_UID),
    }


def replset(s: MongoSettings) -> dict:
    rs: dict[str, Any] = {
        "name": REPLSET,
        "size": s.members,
        "serviceAccountName": SERVICE_ACCOUNT,
        # Never two members on one node (required anti-affinity, the operator's own knob) ...
        "affinity": {"antiAffinityTopologyKey": "kubernetes.io/hostname"},
        "podDisruptionBudget": {"maxUnavailable": 1},
        "resources": s.resources.to_k8s(),
        "volumeSpec": {"persistentVolumeClaim": {
            "storageClassName": s.storage_class,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{s.storage_gib}Gi"}},
        }},
        "containerSecurityContext": writable_root(MONGOD_UID),
        "podSecurityContext": pod_security_context(MONGOD_UID),
        "expose": {"enabled": False},
    }
    if s.zone_spread:
        # ... and, asked to, members spread evenly over zones (5 members fit 3 zones).
        rs["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {**s.selector, "app.kubernetes.io/replset": REPLSET}},
        }]
    if s.pod_labels:
        rs["labels"] = dict(s.pod_labels)
    if s.metrics:
        rs["sidecars"] = [exporter_sidecar(s)]
    return rs


def app_users(s: MongoSettings) -> list[dict]:
    """One user per database, named like it, with readWrite on it alone."""
    return [{
        "name": db,
        "db": db,
        "passwordSecretRef": {"name": s.app_secret(db), "key": s.app_password_key(db)},
        "roles": [{"name": "readWrite", "db": db}],
    } for db in s.databases]


def cluster_spec(s: MongoSettings, backup: Optional[Backup] = None, keep: int = 1) -> dict:
    spec: dict[str, Any] = {
        "crVersion": OPERATOR_VERSION,
        "image": MONGOD_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        # The init container only copies the operator's scripts into the /opt/percona volume.
        "initContainerSecurityContext": container_security_context(MONGOD_UID),
        # Versions are pinned here; the operator must not upgrade MongoDB on its own.
        "upgradeOptions": {"apply": "disabled"},
        "updateStrategy": "SmartUpdate",
        # The operator's default: TLS between members, clients may still connect without it.
        # Certificates come from cert-manager when it runs, else the operator makes its own.
        "tls": {"mode": "preferTLS"},
        "secrets": {"users": s.users_secret},
        "replsets": [replset(s)],
        "sharding": {"enabled": False},
        "users": app_users(s),
    }
    if s.members == 1:
        # The operator refuses a one-member replica set unless told it is meant (laptops, dev).
        spec["unsafeFlags"] = {"replsetSize": True}
    if backup is not None:
        spec["backup"] = backup_spec(backup, s.backup_secret, keep)
    return spec


def cluster(s: MongoSettings, backup: Optional[Backup] = None, keep: int = 1) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": s.name,
            "namespace": s.namespace,
            "labels": standard_labels("mongodb", s.name, "database"),
            # Pods go down in order (primary last) when the cluster is deleted.
            "finalizers": ["percona.com/delete-psmdb-pods-in-order"],
        },
        "spec": cluster_spec(s, backup, keep),
    }


# --- secrets -------------------------------------------------------------------------------

def users_secret_data(passwords: Mapping[str, Any]) -> dict[str, Any]:
    """The system users Secret: ``<ROLE>_USER`` and ``<ROLE>_PASSWORD`` for every role."""
    data: dict[str, Any] = {}
    for role, user in SYSTEM_USERS.items():
        data[f"{role}_USER"] = user
        data[f"{role}_PASSWORD"] = passwords[role]
    return data


def connection_uri(database: str, password: Any, host: str) -> list[Any]:
    """The parts of the application's connection string (joined with ``Output.concat``)."""
    return ["mongodb://", database, ":", password, "@", host, f":{PORT}/", database,
            f"?replicaSet={REPLSET}&authSource={database}"]


def app_user_secret_data(database: str, password: Any, uri: Any) -> dict[str, Any]:
    # The operator reads ``password``; applications read all three.
    return {"username": database, "password": password, "uri": uri}


def secret_metadata(s: MongoSettings, name: str, component: str) -> dict:
    return {"name": name, "namespace": s.namespace, "labels": standard_labels("mongodb", s.name, component)}


def service_account(s: MongoSettings, annotations: Mapping[str, Any] = {}) -> dict:  # noqa: B006 - read only
    """The replica set's service account; on a cloud it carries the backup identity."""
    meta: dict[str, Any] = {"name": SERVICE_ACCOUNT, "namespace": s.namespace,
                            "labels": standard_labels("mongodb", s.name, "database")}
    if annotations:
        meta["annotations"] = dict(annotations)
    # Nothing in the pods calls the Kubernetes API; cloud identity webhooks mount their own token.
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta, "automountServiceAccountToken": False}


# --- monitoring and policies --------------------------------------------------------------------

def pod_monitor(s: MongoSettings) -> dict:
    """Prometheus scrapes each member's exporter (the operator's Services carry no metrics port)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": s.name, "namespace": s.namespace,
                     "labels": {**standard_labels("mongodb", s.name, "metrics"), **s.service_monitor_labels}},
        "spec": {
            "selector": {"matchLabels": {**s.selector, "app.kubernetes.io/component": "mongod"}},
            "namespaceSelector": {"matchNames": [s.namespace]},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        },
    }


def network_policy(s: MongoSettings, ctx: DataContext, allow_from: Sequence[str], operator_namespace: str) -> dict:
    """Clients on 27017; the operator on 27017 (it signs in to manage users, replica set and
    PBM); Prometheus on the exporter's port when it runs."""
    return engine_ingress(s.name, ctx, standard_labels("network-policy", s.name, "mongodb"), s.selector,
                          client_ports=[PORT], allow_from=allow_from, operator_namespace=operator_namespace,
                          operator_ports=[PORT], metrics_ports=[METRICS_PORT] if s.metrics else [])


def operator_network_policies(operator_namespace: str, data_namespace: str, extra_store_port: Optional[int]) -> list[dict]:
    """The operator's namespace: API server, the members' 27017, and the object store.

    The chart registers no webhook and nothing scrapes the operator, so nothing comes in.
    S3 on 443 is covered by the API-server rule (ports only, the address isn't selectable);
    an on-prem store on another port gets its own rule, as the operator deletes expired
    backups and checks a backup's files before a restore itself.
    """
    labels = standard_labels("network-policy", operator_namespace, "mongodb-operator")
    out = operator_policies(operator_namespace, labels, data_namespace=data_namespace, instance_ports=[PORT])
    if extra_store_port is not None:
        out.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-egress-object-store", "namespace": operator_namespace, "labels": labels},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                     "egress": [{"ports": [{"protocol": "TCP", "port": extra_store_port}]}]},
        })
    return out

