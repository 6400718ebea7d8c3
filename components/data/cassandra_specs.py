"""Pure builders for Cassandra on K8ssandra: operator values, the K8ssandraCluster, Medusa.

- ``operator_values``: the k8ssandra-operator chart (it bundles cass-operator as a subchart),
  cluster scoped because the databases live in the data namespace, not the operator's.
- ``plan_racks``: one rack per known zone (up to three) unless racks are listed; a rack is a
  failure domain Cassandra puts one replica of every row in, so racks follow zones.
- ``k8ssandra_cluster``: one datacenter with racks pinned to zones, one Cassandra pod per node
  (hard anti-affinity), restricted-PSA security contexts on every container cass-operator and
  k8ssandra-operator inject, auth with a superuser Secret, heap, telemetry and Medusa.
- ``medusa_storage``: where Medusa writes (S3 with the pod's AWS identity, GCS with GKE
  Workload Identity, an S3-compatible store with static keys).
- ``backup_schedule``: the MedusaBackupSchedule; the operator adds the daily purge itself.
- Network policies for the Cassandra pods and the operator namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit

from components.cluster.info import IDENTITY_ENDPOINTS
from components.common.k8s import ZONE_KEY
from components.common.security import Resources, container_security_context
from components.data.common import BackupTarget, DataContext, engine_ingress

OPERATOR_CHART = "k8ssandra-operator"
OPERATOR_REPOSITORY = "https://helm.k8ssandra.io/stable"
OPERATOR_VERSION = "1.32.5"
# The published chart stamps its own tag into image.tag (the source holds a placeholder); pinning it
# here keeps a values-only upgrade from drifting to another operator build.
OPERATOR_IMAGE_TAG = "v1.32.5"
# Exercised by the operator's own end-to-end fixtures at 1.32.5 (single-dc-mgmt-auth).
SERVER_VERSION = "5.0.6"

CQL_PORT = 9042
MGMT_API_PORT = 8080
MEDUSA_GRPC_PORT = 50051
# The management API's metrics endpoint: Cassandra >= 4.1 runs with a read-only root
# filesystem, where cass-operator turns the legacy MCAC agent (9103) off.
METRICS_PORT = 9000
# Both operators serve their admission webhooks here (the API server calls them).
WEBHOOK_PORT = 9443

# The Cassandra images run as cassandra (999) and need their data owned by that group.
CASSANDRA_UID = 999
CLUSTER_LABEL = "cassandra.datastax.com/cluster"
MAX_DEFAULT_RACKS = 3
# cass-operator's webhook refuses StatefulSet names longer than this.
MAX_STATEFULSET_NAME = 60

OPERATOR_RESOURCES = Resources(cpu_request="100m", memory_request="128Mi", cpu_limit="500m", memory_limit="512Mi")
LOGGER_RESOURCES = Resources(cpu_request="50m", memory_request="64Mi", cpu_limit="200m", memory_limit="128Mi")
CONFIG_INIT_RESOURCES = Resources(cpu_request="250m", memory_request="256Mi", cpu_limit="1", memory_limit="384Mi")
BASE_CONFIG_INIT_RESOURCES = Resources(cpu_request="50m", memory_request="32Mi", cpu_limit="200m", memory_limit="64Mi")
MEDUSA_RESOURCES = Resources(cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="2Gi")


@dataclass(frozen=True)
class Rack:
    name: str
    zone: Optional[str] = None          # the nodes' topology.kubernetes.io/zone; None: unpinned


@dataclass(frozen=True)
class CassandraSettings:
    cluster_name: str
    datacenter: str
    size: int
    racks: tuple[Rack, ...]
    storage_gib: int
    storage_class: str
    resources: Resources
    heap: str
    superuser_secret: str
    service_account: str
    server_version: str = SERVER_VERSION
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    service_monitors: bool = False
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)


def default_rack_count(zones: Sequence[str]) -> int:
    return max(1, min(MAX_DEFAULT_RACKS, len(zones)))


def plan_racks(racks: Sequence[tuple[str, Optional[str]]], zones: Sequence[str],
               zone_aliases: Mapping[str, str] = {}) -> tuple[Rack, ...]:  # noqa: B006 - read only
    """The datacenter's racks: as listed (a rack without a zone takes the cluster's zone of the
    same position), or one per known zone up to three; a single unpinned rack when zones are
    unknown. ``zone_aliases`` maps a zone as the stack names it to the nodes' label value
    (AKS zone "1" is labelled "eastus-1")."""
    if racks:
        out = []
        for i, (name, zone) in enumerate(racks):
            if zone is None and i < len(zones):
                zone = zones[i]
            out.append(Rack(name, zone_aliases.get(zone, zone) if zone is not None else None))
        return tuple(out)
    if len(zones) < 2:
        # Pinning one rack to the only zone would add nothing but a label to get wrong.
        return (Rack("rack1"),)
    return tuple(Rack(f"rack{i + 1}", z) for i, z in enumerate(zones[:MAX_DEFAULT_RACKS]))


def statefulset_name(cluster_name: str, datacenter: str, rack: str) -> str:
    """What cass-operator names a rack's StatefulSet."""
    return f"{cluster_name}-{datacenter}-{rack}-sts"


def pod_selector(cluster_name: str) -> dict[str, str]:
    """The label cass-operator puts on every pod of the cluster."""
    return {CLUSTER_LABEL: cluster_name}


def restricted_context() -> dict:
    """A container context PSA ``restricted`` admits, as the Cassandra user."""
    return container_security_context(run_as_user=CASSANDRA_UID)


def pod_security_context() -> dict:
    # OnRootMismatch: the data volume keeps its ownership, so restarts skip a recursive chown.
    return {"runAsUser": CASSANDRA_UID, "runAsGroup": CASSANDRA_UID, "fsGroup": CASSANDRA_UID,
            "fsGroupChangePolicy": "OnRootMismatch", "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _operator_security() -> tuple[dict, dict]:
    container = {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "readOnlyRootFilesystem": True,
                 "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                 "seccompProfile": {"type": "RuntimeDefault"}}
    pod = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    return container, pod


def operator_values(resources: Resources = OPERATOR_RESOURCES) -> dict:
    """k8ssandra-operator chart values; ``cass-operator`` configures the bundled subchart.

    Both operators watch every namespace (``global.clusterScoped``): the K8ssandraCluster lives
    in the data namespace. The chart's own defaults leave capabilities and seccomp unset, which
    PSA ``restricted`` rejects, so both containers get a complete context.
    """
    container, pod = _operator_security()
    return {
        "global": {"clusterScoped": True},
        "image": {"tag": OPERATOR_IMAGE_TAG},
        "securityContext": container,
        "podSecurityContext": pod,
        "resources": resources.to_k8s(),
        "cass-operator": {
            "securityContext": dict(container),
            "podSecurityContext": dict(pod),
            "resources": resources.to_k8s(),
        },
    }


def _named(name: str, resources: Optional[Resources] = None) -> dict:
    """A container entry cass-operator merges by name into the one it builds."""
    out: dict[str, Any] = {"name": name, "securityContext": restricted_context()}
    if resources is not None:
        out["resources"] = resources.to_k8s()
    return out


def datacenter(s: CassandraSettings) -> dict:
    dc: dict[str, Any] = {
        "metadata": {"name": s.datacenter},
        "size": s.size,
        "racks": [{"name": r.name, **({"nodeAffinityLabels": {ZONE_KEY: r.zone}} if r.zone else {})}
                  for r in s.racks],
        "storageConfig": {"cassandraDataVolumeClaimSpec": {
            "storageClassName": s.storage_class,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{s.storage_gib}Gi"}},
        }},
        "resources": s.resources.to_k8s(),
        "config": {"jvmOptions": {"heap_initial_size": s.heap, "heap_max_size": s.heap}},
        # One Cassandra pod per node: two replicas on one node fall together.
        "softPodAntiAffinity": False,
        "serviceAccount": s.service_account,
        "readOnlyRootFilesystem": True,
        "podSecurityContext": pod_security_context(),
        # cass-operator fills image, command and volumes of these by name and keeps what is
        # set here: capabilities and seccomp it would otherwise leave out, and the resources
        # of its logger sidecar and config init containers. server-config-init-base exists
        # from Cassandra 4.1 on (the k8ssandra-client config builder); SERVER_VERSION is 5.0.
        "containers": [_named("cassandra"), _named("server-system-logger", LOGGER_RESOURCES)],
        "initContainers": [_named("server-config-init-base", BASE_CONFIG_INIT_RESOURCES),
                           _named("server-config-init", CONFIG_INIT_RESOURCES)],
    }
    if s.pod_labels:
        dc["metadata"]["pods"] = {"labels": dict(s.pod_labels)}
    if s.service_monitors:
        # The operator creates the ServiceMonitor for the management API's /metrics (9000).
        prometheus: dict[str, Any] = {"enabled": True}
        if s.service_monitor_labels:
            prometheus["commonLabels"] = dict(s.service_monitor_labels)
        dc["telemetry"] = {"prometheus": prometheus}
    return dc


def s3_endpoint(endpoint: str) -> tuple[str, int, bool]:
    """Host, port and TLS of an S3-compatible endpoint URL."""
    url = urlsplit(endpoint)
    secure = url.scheme == "https"
    return url.hostname or "", url.port or (443 if secure else 80), secure


def credentials_file(access_key_id: str, secret_access_key: str) -> str:
    """The AWS shared-credentials file Medusa reads from the Secret's ``credentials`` key."""
    return f"[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret_access_key}\n"


def medusa_storage(target: BackupTarget, retention_days: int, secret_name: Optional[str] = None,
                   endpoint: Optional[tuple[Any, Any, Any]] = None) -> dict:
    """Medusa's ``storageProperties``.

    Without a key file Medusa uses the platform's default credential chain: boto3 picks up
    EKS Pod Identity or IRSA, gcloud-aio the GKE metadata server. ``role-based`` tells the
    operator not to expect a Secret. An S3-compatible store (static keys) needs the Secret
    ``secret_name`` and ``endpoint`` = (host, port, secure). Azure Blob is refused: Medusa
    needs a storage-account key or an environment variable the operator can't set.
    """
    store = target.store
    props: dict[str, Any] = {"bucketName": store.bucket, "prefix": target.prefix, "maxBackupAge": retention_days}
    if store.kind == "gcs":
        return {**props, "storageProvider": "google_storage", "credentialsType": "role-based"}
    if store.kind == "s3" and target.static_keys:
        if secret_name is None or endpoint is None:
            raise ValueError("an S3-compatible store needs the credentials Secret and the endpoint")
        host, port, secure = endpoint
        return {**props, "storageProvider": "s3_compatible", "region": store.region, "host": host, "port": port,
                "secure": secure, "sslVerify": secure, "credentialsType": "credential-based",
                "storageSecretRef": {"name": secret_name}}
    if store.kind == "s3":
        return {**props, "storageProvider": "s3", "region": store.region, "credentialsType": "role-based"}
    raise ValueError(f"Medusa can't write to a {store.kind} store with a workload identity")


def medusa(storage: dict) -> dict:
    return {
        "storageProperties": storage,
        # The operator keeps a daily MedusaBackupSchedule running ``purge`` with maxBackupAge.
        "purgeBackups": True,
        "securityContext": restricted_context(),
        "containerResources": MEDUSA_RESOURCES.to_k8s(),
        "initContainerResources": MEDUSA_RESOURCES.to_k8s(),
    }


def k8ssandra_cluster(s: CassandraSettings, namespace: str, labels: Mapping[str, str],
                      medusa_spec: Optional[dict] = None) -> dict:
    spec: dict[str, Any] = {
        "auth": True,
        "cassandra": {
            "serverVersion": s.server_version,
            "superuserSecretRef": {"name": s.superuser_secret},
            "datacenters": [datacenter(s)],
        },
    }
    if medusa_spec is not None:
        spec["medusa"] = medusa_spec
    return {"apiVersion": "k8ssandra.io/v1alpha1", "kind": "K8ssandraCluster",
            "metadata": {"name": s.cluster_name, "namespace": namespace, "labels": dict(labels)}, "spec": spec}


def backup_schedule(name: str, namespace: str, labels: Mapping[str, str], datacenter_name: str, cron: str) -> dict:
    """A differential Medusa backup of the datacenter on ``cron`` (five fields, as Medusa parses)."""
    return {
        "apiVersion": "medusa.k8ssandra.io/v1alpha1",
        "kind": "MedusaBackupSchedule",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "cronSchedule": cron,
            "backupSpec": {"cassandraDatacenter": datacenter_name, "backupType": "differential"},
            "concurrencyPolicy": "Forbid",
            "operationType": "backup",
        },
    }


def service_account(name: str, namespace: str, labels: Mapping[str, str]) -> dict:
    """The Cassandra pods' account: Medusa runs in them and writes backups with its identity.
    Nothing in those pods calls the Kubernetes API, so no token is mounted."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace,
            "labels": dict(labels)}, "automountServiceAccountToken": False}


def operator_ports(backups: bool) -> list[int]:
    """What the operators call on Cassandra pods: the management API, CQL, Medusa's gRPC."""
    return [MGMT_API_PORT, CQL_PORT, *([MEDUSA_GRPC_PORT] if backups else [])]


def cassandra_ingress(name: str, ctx: DataContext, labels: Mapping[str, str], cluster_name: str, *,
                      allow_from: Sequence[str], operator_namespace: str, backups: bool) -> dict:
    """Clients on CQL, the operators on their ports, Prometheus on the metrics endpoint; gossip
    and streaming (7000/7001) stay among the cluster's own pods."""
    return engine_ingress(name, ctx, labels, pod_selector(cluster_name), client_ports=[CQL_PORT],
                          allow_from=allow_from, operator_namespace=operator_namespace,
                          operator_ports=operator_ports(backups),
                          metrics_ports=[METRICS_PORT] if ctx.service_monitors else [])


def identity_egress(name: str, namespace: str, labels: Mapping[str, str], cluster_name: str,
                    cluster_kind: str) -> Optional[dict]:
    """Medusa's way to its cloud credentials: the EKS Pod Identity agent or the GKE metadata server."""
    cidr = IDENTITY_ENDPOINTS.get(cluster_kind)
    if cidr is None:
        return None
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"allow-{name}-identity", "namespace": namespace, "labels": dict(labels)},
            "spec": {"podSelector": {"matchLabels": pod_selector(cluster_name)}, "policyTypes": ["Egress"],
                     "egress": [{"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": 80}]}]}}
