"""Pure builders for MySQL: the Oracle MySQL Operator's Helm values and namespace objects, the
``InnoDBCluster`` (Group Replication members + MySQL Router), its backups to the object store,
the Job that creates the application databases and users, and the engine's policies.

Facts read off the operator's source at tag 9.1.0-2.2.2 (chart mysql-operator 2.2.2):

- Server pods carry ``component=mysqld, tier=mysql, mysql.oracle.com/cluster=<name>``; router
  pods ``component=mysqlrouter`` with the same two. The operator creates a PodDisruptionBudget
  ``<name>-pdb`` (maxUnavailable 1) for the servers only, and no NetworkPolicy.
- ``podSpec`` / ``router.podSpec`` are merged into the pods the operator renders, containers and
  init containers matched by name, so resources and the seccomp profile are set through them.
- Services: ``<name>`` (the routers: 3306 -> read-write 6446, 33060 -> X read-write 6448, plus
  6446..6450 and the REST port 8443) and ``<name>-instances`` (headless: 3306, 33060, the Group
  Replication port 33061 and, with metrics on, 9104).
- Backup Jobs and their CronJob run as the cluster's ``serviceAccountName`` (also the servers'
  account); an S3 ``config`` Secret is mounted as ``~/.aws`` of MySQL Shell 9.1.0, whose
  credential chain ends with the container (ECS / EKS Pod Identity) provider. MySQL Shell has no
  GCS support and reaches Azure Blob only with a shared key or SAS token.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

from components.common.k8s import topology_spread
from components.common.security import Resources, secure_pod_spec
from components.data.common import Backup, BackupTarget, DataContext, engine_ingress, operator_policies

OPERATOR_CHART = "mysql-operator"
OPERATOR_REPOSITORY = "https://mysql.github.io/mysql-operator/"
OPERATOR_CHART_VERSION = "2.2.2"
OPERATOR_VERSION = "9.1.0-2.2.2"                    # the chart's appVersion: operator, sidecar and backup image
MYSQL_VERSION = "9.1.0"                             # server and router; the newest this operator supports
IMAGE_REPOSITORY = "container-registry.oracle.com/mysql"
OPERATOR_IMAGE = f"{IMAGE_REPOSITORY}/community-operator:{OPERATOR_VERSION}"
# A tag the operator's own CI mirrors; 0.15+ reads the my.cnf the operator writes for it.
EXPORTER_IMAGE = "docker.io/prom/mysqld-exporter:v0.15.1"

MYSQL_PORT = 3306
MYSQLX_PORT = 33060
GROUP_REPLICATION_PORT = 33061
METRICS_PORT = 9104
ROUTER_RW_PORT = 6446
ROUTER_RO_PORT = 6447
ROUTER_X_RW_PORT = 6448
ROUTER_X_RO_PORT = 6449
ROUTER_RW_SPLIT_PORT = 6450
ROUTER_PORTS = (ROUTER_RW_PORT, ROUTER_RO_PORT, ROUTER_X_RW_PORT, ROUTER_X_RO_PORT, ROUTER_RW_SPLIT_PORT)
# The operator opens classic sessions (AdminAPI) and X sessions (group monitor) to the servers.
OPERATOR_PORTS = (MYSQL_PORT, MYSQLX_PORT)

# Keys of the root Secret the operator reads (sidecar_main.py).
ROOT_KEYS = ("rootUser", "rootHost", "rootPassword")
# Schemas and accounts the server or the operator own; an application database may not take them.
RESERVED_SCHEMAS = frozenset({"mysql", "sys", "information_schema", "performance_schema",
                              "mysql_innodb_cluster_metadata"})
RESERVED_USERS = frozenset({"root", "localroot", "mysqladmin", "mysqlrouter", "mysqlbackup", "mysqlmetrics",
                            "mysqlhealthchecker", "mysql.sys", "mysql.session", "mysql.infoschema"})
MAX_USER_NAME = 32

BACKUP_PROFILE = "dump"
BACKUP_SCHEDULE = "scheduled"
BACKUP_POD_LABEL = "genai-platform.io/mysql-backup"
# EKS Pod Identity agent: link-local address (IPv4 and IPv6) and port the credentials come from.
POD_IDENTITY_AGENT = ("169.254.170.23/32", "fd00:ec2::23/128")
POD_IDENTITY_AGENT_PORT = 80

SIDECAR_RESOURCES = Resources("100m", "256Mi", "500m", "512Mi")      # MySQL Shell (Python) in each server pod
ROUTER_RESOURCES = Resources("100m", "128Mi", "1", "256Mi")
EXPORTER_RESOURCES = Resources("50m", "64Mi", "200m", "128Mi")
JOB_RESOURCES = Resources("100m", "128Mi", "500m", "256Mi")
# The operator's chart sets no resources; a LimitRange gives its pod these.
OPERATOR_DEFAULTS = Resources("100m", "256Mi", "500m", "512Mi")


@dataclass(frozen=True)
class MysqlSettings:
    instances: int
    router_instances: int
    databases: tuple[str, ...]
    storage_gib: int
    storage_class: str
    resources: Resources
    operator_namespace: str = "mysql-operator"
    existing_secret: Optional[str] = None
    allow_from: tuple[str, ...] = ()
    backup: Optional[Backup] = None
    # EKS Pod Identity: backup pods fetch credentials from the node's agent (link-local, port 80).
    pod_identity_agent: bool = False


def service_account(name: str) -> str:
    """The servers' and backup pods' account: the operator's default name, set explicitly."""
    return f"{name}-sidecar-sa"


def root_secret(name: str, s: MysqlSettings) -> str:
    return s.existing_secret or f"{name}-root"


def app_secret(name: str, s: MysqlSettings, database: str) -> tuple[str, dict[str, str]]:
    """(Secret name, role -> key) holding the credentials of one application database's user."""
    if s.existing_secret:
        return s.existing_secret, {"username": f"{database}-username", "password": f"{database}-password"}
    return f"{name}-user-{database}", {"username": "username", "password": "password", "database": "database"}


def backup_config_secret(name: str) -> str:
    return f"{name}-backup-s3"


def cluster_selector(name: str) -> dict[str, str]:
    return {"tier": "mysql", "mysql.oracle.com/cluster": name}


def server_selector(name: str) -> dict[str, str]:
    return {"component": "mysqld", **cluster_selector(name)}


def router_selector(name: str) -> dict[str, str]:
    return {"component": "mysqlrouter", **cluster_selector(name)}


def backup_pod_labels(name: str, identity_labels: Mapping[str, str]) -> dict[str, str]:
    return {BACKUP_POD_LABEL: name, **identity_labels}


def operator_values() -> dict:
    # The images are pinned tags: pulling them again on every pod start only adds a registry dependency.
    return {"envs": {"imagesPullPolicy": "IfNotPresent"}}


def operator_limit_range(namespace: str, labels: Mapping[str, str]) -> dict:
    d = OPERATOR_DEFAULTS
    return {
        "apiVersion": "v1", "kind": "LimitRange",
        "metadata": {"name": "container-defaults", "namespace": namespace, "labels": dict(labels)},
        "spec": {"limits": [{"type": "Container",
                             "defaultRequest": {"cpu": d.cpu_request, "memory": d.memory_request},
                             "default": {"cpu": d.cpu_limit, "memory": d.memory_limit}}]},
    }


def operator_namespace_policies(s: MysqlSettings, data_namespace: str, labels: Mapping[str, str]) -> list[dict]:
    # No webhooks and no metrics endpoint in this chart: egress to the API server and the servers only.
    return operator_policies(s.operator_namespace, labels, data_namespace=data_namespace, instance_ports=OPERATOR_PORTS)


def aws_config_file(region: str) -> str:
    return f"[default]\nregion = {region}\n"


def aws_credentials_file(access_key_id: str, secret_access_key: str) -> str:
    return f"[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret_access_key}\n"


def backup_storage(name: str, target: BackupTarget) -> dict:
    """The ``dumpInstance.storage`` of the backup profile (S3 and S3-compatible stores only)."""
    store = target.store
    if store.kind != "s3":
        raise ValueError(f"MySQL Shell cannot write dumps to a {store.kind} store")
    s3: dict = {"bucketName": store.bucket, "prefix": target.prefix.strip("/"), "config": backup_config_secret(name)}
    if target.static_keys and store.endpoint is not None:
        s3["endpoint"] = store.endpoint
    return {"s3": s3}


def _pod_spec(containers: Sequence[tuple[str, Resources]], init: Sequence[tuple[str, Resources]],
              selector: Mapping[str, str], zone_spread: bool) -> dict:
    # Merged into the operator's pod template: the seccomp profile is the one restricted-level
    # setting its pods lack; containers are matched by name.
    spec: dict = {
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": n, "resources": r.to_k8s()} for n, r in containers],
        "topologySpreadConstraints": topology_spread(selector, zone_spread),
    }
    if init:
        spec["initContainers"] = [{"name": n, "resources": r.to_k8s()} for n, r in init]
    return spec


def innodb_cluster(name: str, namespace: str, labels: Mapping[str, str], s: MysqlSettings, *,
                   zone_spread: bool, metrics: bool, backup_labels: Mapping[str, str] = {}) -> dict:  # noqa: B006
    containers = [("mysql", s.resources), ("sidecar", SIDECAR_RESOURCES)]
    if metrics:
        containers.append(("metrics", EXPORTER_RESOURCES))
    spec: dict = {
        "secretName": root_secret(name, s),
        "version": MYSQL_VERSION,
        "imagePullPolicy": "IfNotPresent",
        "tlsUseSelfSigned": True,
        "serviceAccountName": service_account(name),
        "instances": s.instances,
        "datadirVolumeClaimTemplate": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": s.storage_class,
            "resources": {"requests": {"storage": f"{s.storage_gib}Gi"}},
        },
        # fsGroup 27 already gives mysqld its data directory; the chown init container would run as
        # root with added capabilities, which the restricted Pod Security level forbids.
        "datadirPermissions": {"setRightsUsingInitContainer": False, "fsGroupChangePolicy": "OnRootMismatch"},
        "podSpec": _pod_spec(containers, [("initconf", SIDECAR_RESOURCES), ("initmysql", s.resources)],
                             server_selector(name), zone_spread),
        "router": {
            "instances": s.router_instances,
            "podSpec": _pod_spec([("router", ROUTER_RESOURCES)], [], router_selector(name), zone_spread),
        },
        "service": {"type": "ClusterIP", "defaultPort": "mysql-rw"},
    }
    if metrics:
        # Our own ServiceMonitor carries the platform's labels; the operator's would not.
        spec["metrics"] = {"enable": True, "image": EXPORTER_IMAGE, "monitor": False}
    if s.backup is not None:
        spec["backupProfiles"] = [{
            "name": BACKUP_PROFILE,
            "podLabels": dict(backup_labels),
            "dumpInstance": {"storage": backup_storage(name, s.backup.target)},
        }]
        spec["backupSchedules"] = [{
            "name": BACKUP_SCHEDULE,
            "schedule": s.backup.schedule,
            "timeZone": "Etc/UTC",
            "backupProfileName": BACKUP_PROFILE,
            "enabled": True,
            # Deleting a MySQLBackup object must never delete the dump it points to.
            "deleteBackupData": False,
        }]
    return {
        "apiVersion": "mysql.oracle.com/v2",
        "kind": "InnoDBCluster",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }


def service_account_manifest(name: str, namespace: str, labels: Mapping[str, str],
                             annotations: Mapping[str, str] = {}) -> dict:  # noqa: B006
    # The sidecars read the cluster through the API, so the token stays mounted (the operator's
    # own account would mount it too).
    meta: dict = {"name": service_account(name), "namespace": namespace, "labels": dict(labels)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def network_policies(name: str, ctx: DataContext, labels: Mapping[str, str], s: MysqlSettings, *,
                     metrics: bool) -> list[dict]:
    """Ingress to routers and servers; with EKS Pod Identity, backup pods' egress to the agent."""
    client_ports = [MYSQL_PORT, MYSQLX_PORT, *(ROUTER_PORTS if s.router_instances else ())]
    out = [engine_ingress(name, ctx, labels, cluster_selector(name), client_ports=client_ports,
                          allow_from=s.allow_from, operator_namespace=s.operator_namespace,
                          operator_ports=OPERATOR_PORTS, metrics_ports=(METRICS_PORT,) if metrics else ())]
    if s.backup is not None and s.pod_identity_agent:
        out.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"allow-{name}-backup-credentials", "namespace": ctx.namespace, "labels": dict(labels)},
            "spec": {
                "podSelector": {"matchLabels": {BACKUP_POD_LABEL: name}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": c}} for c in POD_IDENTITY_AGENT],
                            "ports": [{"protocol": "TCP", "port": POD_IDENTITY_AGENT_PORT}]}],
            },
        })
    return out


def router_pdb(name: str, namespace: str, labels: Mapping[str, str]) -> dict:
    return {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": f"{name}-router", "namespace": namespace, "labels": dict(labels)},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": router_selector(name)}},
    }


def service_monitor(name: str, namespace: str, labels: Mapping[str, str], extra_labels: Mapping[str, str]) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": f"{name}-mysqld", "namespace": namespace, "labels": {**labels, **extra_labels}},
        "spec": {
            # The headless instances Service: the only one carrying the exporter's port.
            "selector": {"matchLabels": {**cluster_selector(name), "mysql.oracle.com/instance-type": "group-member"}},
            "endpoints": [{"port": "metrics", "path": "/metrics"}],
        },
    }


# Runs inside MySQL Shell (Python mode, the whole text at once). run_sql quotes every value
# itself: "?" as a string literal, "!" as an identifier. ALTER USER keeps a rotated password in effect.
INIT_SCRIPT = """\
import time
from os import environ
target = {"scheme": "mysql", "host": environ["MYSQL_HOST"], "port": int(environ["MYSQL_PORT"]),
          "user": environ["ROOT_USER"], "password": environ["ROOT_PASSWORD"]}
for attempt in range(120):
    try:
        session = mysql.get_classic_session(target)
        break
    except Exception as e:
        print("waiting for the primary:", e)
        time.sleep(10)
else:
    raise RuntimeError("the primary did not accept connections within 20 minutes")
for i, db in enumerate(environ["DATABASES"].split(",")):
    user, password = environ["USER_%d" % i], environ["PASSWORD_%d" % i]
    session.run_sql("CREATE DATABASE IF NOT EXISTS !", [db])
    session.run_sql("CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [user, password])
    session.run_sql("ALTER USER ?@'%' IDENTIFIED BY ?", [user, password])
    session.run_sql("GRANT ALL PRIVILEGES ON !.* TO ?@'%'", [db, user])
    print("database", db, "ready")
"""


def _secret_env(var: str, secret: str, key: str) -> dict:
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def databases_job(name: str, namespace: str, labels: Mapping[str, str], s: MysqlSettings, *,
                  host: str, port: int) -> dict:
    """An idempotent Job creating each application database and its user (the operator creates none).

    Its name carries a digest of what it does, so a changed database list replaces it and runs again.
    """
    root = root_secret(name, s)
    env = [
        {"name": "MYSQL_HOST", "value": host},
        {"name": "MYSQL_PORT", "value": str(port)},
        _secret_env("ROOT_USER", root, "rootUser"),
        _secret_env("ROOT_PASSWORD", root, "rootPassword"),
        {"name": "DATABASES", "value": ",".join(s.databases)},
        {"name": "MYSQLSH_USER_CONFIG_HOME", "value": "/mysqlsh"},
    ]
    for i, db in enumerate(s.databases):
        secret, keys = app_secret(name, s, db)
        env += [_secret_env(f"USER_{i}", secret, keys["username"]), _secret_env(f"PASSWORD_{i}", secret, keys["password"])]
    digest = hashlib.sha256(json.dumps([env, INIT_SCRIPT, OPERATOR_IMAGE], sort_keys=True).encode()).hexdigest()[:8]
    container = {
        "name": "create-databases",
        "image": OPERATOR_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["mysqlsh", "--no-wizard", "--py", "-e", INIT_SCRIPT],
        "env": env,
        "resources": JOB_RESOURCES.to_k8s(),
        "volumeMounts": [{"name": "shell-home", "mountPath": "/mysqlsh"}],
    }
    pod = secure_pod_spec([container], restartPolicy="Never", volumes=[{"name": "shell-home", "emptyDir": {}}])
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": f"{name}-databases-{digest}", "namespace": namespace, "labels": dict(labels)},
        "spec": {"backoffLimit": 3, "template": {"metadata": {"labels": dict(labels)}, "spec": pod}},
    }
