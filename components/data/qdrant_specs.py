"""Pure builders for Qdrant from its official chart (``qdrant`` 1.19.0, Qdrant v1.19.0).

- ``qdrant_values``: the chart's values (replicas and distributed mode, replication factor of
  new collections, storage, resources, API key from our Secret through the environment,
  probes, PDB, spread, ServiceMonitor, restricted security contexts, S3 snapshot storage).
- ``snapshot_script`` / ``snapshot_cronjob``: the scheduled job that snapshots every
  collection on every peer and deletes snapshots older than the retention.
- ``network_policy``: clients on REST and gRPC, the peers among themselves, Prometheus on REST.

Snapshots go straight to the bucket: Qdrant's ``s3`` snapshot storage uploads each one, with
credentials from the AWS environment (EKS Pod Identity / IRSA, or static keys).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi

from components.common.k8s import topology_spread
from components.common.labels import PART_OF, standard_labels
from components.common.security import Resources, container_security_context, secure_pod_spec
from components.data.common import DataContext, engine_ingress

CHART = "qdrant"
REPOSITORY = "https://qdrant.github.io/qdrant-helm"
CHART_VERSION = "1.19.0"                  # Qdrant v1.19.0 (chart appVersion)
RELEASE = "qdrant"                        # also fullnameOverride: Service qdrant, pods qdrant-<i>
HTTP_PORT = 6333
GRPC_PORT = 6334
P2P_PORT = 6335
API_KEY_KEY = "api-key"
# The chart's user (the ``-unprivileged`` image runs as it) and its default groups.
UID, GID, FS_GROUP = 1000, 2000, 3000
STARTUP_FAILURES = 120                    # x 5 s: large collections take minutes to load
# Static keys of an S3-compatible store, read by Qdrant's S3 client from the environment.
S3_KEY_ID, S3_SECRET = "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"

SNAPSHOT_IMAGE = "python:3.12.12-slim-bookworm"
SNAPSHOT_RESOURCES = Resources(cpu_request="50m", memory_request="64Mi", cpu_limit="200m", memory_limit="128Mi")
SNAPSHOT_DEADLINE_SECONDS = 6 * 3600
SNAPSHOT_RUN_AS = 65532


@dataclass(frozen=True)
class SnapshotSettings:
    """Where snapshots go (the cluster's S3 or S3-compatible bucket) and how long they stay."""

    bucket: pulumi.Input[str]
    region: str
    prefix: str                               # key prefix in the bucket, e.g. "vector"
    schedule: str                             # five-field cron
    retention_days: int
    endpoint: Optional[pulumi.Input[str]] = None   # S3-compatible store; None: AWS S3
    keys_secret: Optional[str] = None         # Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    sa_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)   # IRSA role
    pod_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QdrantSettings:
    namespace: str
    replicas: int
    replication_factor: int
    storage_gib: int
    storage_class: str
    resources: Resources
    api_key_secret: str                       # key ``api-key``
    zone_spread: bool = False
    service_monitors: bool = False
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    snapshots: Optional[SnapshotSettings] = None
    # Tokens signed with the API key may then narrow access to single collections (tenants).
    jwt_rbac: bool = False

    @property
    def distributed(self) -> bool:
        return self.replicas > 1


def selector() -> dict[str, str]:
    return {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE}


def service_host(namespace: str) -> str:
    return f"{RELEASE}.{namespace}.svc.cluster.local"


def peer_urls(settings: QdrantSettings) -> list[str]:
    """Each peer's REST address through the headless Service (snapshots are made per peer)."""
    return [f"http://{RELEASE}-{i}.{RELEASE}-headless.{settings.namespace}.svc.cluster.local:{HTTP_PORT}"
            for i in range(settings.replicas)]


def _secret_env(name: str, secret: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _env(settings: QdrantSettings) -> list[dict]:
    # Qdrant reads QDRANT__SECTION__KEY over its config files: the key stays in our Secret and
    # never lands in the chart's values or ConfigMap (the chart's own ``apiKey`` option copies
    # it into a second Secret at render time).
    env = [_secret_env("QDRANT__SERVICE__API_KEY", settings.api_key_secret, API_KEY_KEY)]
    snap = settings.snapshots
    if snap is not None and snap.keys_secret:
        env += [_secret_env(S3_KEY_ID, snap.keys_secret, S3_KEY_ID), _secret_env(S3_SECRET, snap.keys_secret, S3_SECRET)]
    return env


def _storage_config(settings: QdrantSettings) -> dict:
    storage: dict = {"collection": {"replication_factor": settings.replication_factor}}
    snap = settings.snapshots
    if snap is not None:
        s3: dict = {"bucket": snap.bucket, "region": snap.region}
        if snap.endpoint is not None:
            s3["endpoint_url"] = snap.endpoint
        # Qdrant names an S3 snapshot after its local path with the leading "/" dropped, so
        # the snapshots path is the key prefix in the bucket.
        storage["snapshots_path"] = f"/{snap.prefix}"
        storage["snapshots_config"] = {"snapshots_storage": "s3", "s3_config": s3}
    return storage


def _config(settings: QdrantSettings) -> dict:
    config: dict = {"cluster": {"enabled": settings.distributed}, "storage": _storage_config(settings)}
    if settings.jwt_rbac:
        config["service"] = {"jwt_rbac": True}
    return config


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def collection_token(api_key: str, collection: str) -> str:
    """A JWT (HS256, signed with the API key) granting read-write on one collection only.

    Qdrant (``service.jwt_rbac``) checks the signature with its API key and reads the
    ``access`` claim; ``rw`` reads and writes points and payload indexes, while creating or
    deleting collections needs global ``m`` access. No expiry: it lives as long as the key.
    """
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"access": [{"collection": collection, "access": "rw"}]}
    signing_input = ".".join(_b64url(json.dumps(part, separators=(",", ":"), sort_keys=True).encode())
                             for part in (header, claims))
    signature = hmac.new(api_key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def qdrant_values(settings: QdrantSettings) -> dict:
    snap = settings.snapshots
    values: dict = {
        "fullnameOverride": RELEASE,
        "replicaCount": settings.replicas,
        # The unprivileged image runs as the chart's user, so no root init container chowns
        # the volumes (fsGroup makes fresh volumes writable).
        "image": {"useUnprivilegedImage": True},
        "updateVolumeFsOwnership": False,
        "additionalLabels": {"app.kubernetes.io/part-of": PART_OF},
        "env": _env(settings),
        "resources": settings.resources.to_k8s(),
        "containerSecurityContext": {**container_security_context(UID), "runAsGroup": GID, "privileged": False},
        "podSecurityContext": {"runAsNonRoot": True, "fsGroup": FS_GROUP, "fsGroupChangePolicy": "OnRootMismatch",
                               "seccompProfile": {"type": "RuntimeDefault"}},
        # The chart documents ``storageClassName`` only as a comment; its StatefulSet reads it.
        "persistence": {"size": f"{settings.storage_gib}Gi", "storageClassName": settings.storage_class},
        "readinessProbe": {"enabled": True},
        "livenessProbe": {"enabled": True},
        "startupProbe": {"enabled": True, "failureThreshold": STARTUP_FAILURES},
        "config": _config(settings),
        "topologySpreadConstraints": topology_spread(selector(), settings.zone_spread),
        "podDisruptionBudget": {"enabled": settings.distributed, "maxUnavailable": 1},
    }
    if snap is not None:
        values["serviceAccount"] = {"annotations": dict(snap.sa_annotations)}
        values["podLabels"] = dict(snap.pod_labels)
        # Qdrant creates the snapshots path locally even when it uploads to S3; the root
        # filesystem is read-only, so the path is a volume.
        values["additionalVolumes"] = [{"name": "snapshot-keys", "emptyDir": {}}]
        values["additionalVolumeMounts"] = [{"name": "snapshot-keys", "mountPath": f"/{snap.prefix}"}]
    if settings.service_monitors:
        values["metrics"] = {"serviceMonitor": {
            "enabled": True,
            "additionalLabels": dict(settings.service_monitor_labels),
            # /metrics needs the API key once one is set.
            "authorization": {"type": "Bearer", "credentials": {"name": settings.api_key_secret, "key": API_KEY_KEY}},
        }}
    return values


def network_policy(ctx: DataContext, labels: Mapping[str, str], allow_from: tuple[str, ...], metrics: bool) -> dict:
    # Peers reach each other on 6335 through the "own pods, any port" rule; clients never do.
    return engine_ingress(RELEASE, ctx, labels, selector(), client_ports=[HTTP_PORT, GRPC_PORT],
                          allow_from=allow_from, metrics_ports=[HTTP_PORT] if metrics else [])


SNAPSHOT_SCRIPT = '''\
"""Snapshot every Qdrant collection on every peer, then delete snapshots past the retention."""
import datetime
import json
import os
import sys
import urllib.parse
import urllib.request

KEY = os.environ["QDRANT_API_KEY"]
PEERS = os.environ["QDRANT_PEERS"].split()
RETENTION_DAYS = int(os.environ["RETENTION_DAYS"])
TIMEOUT = int(os.environ.get("REQUEST_TIMEOUT", "3600"))


def call(method, url):
    request = urllib.request.Request(url, method=method, headers={"api-key": KEY})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.load(response)["result"]


def main():
    first = PEERS[0]
    now = datetime.datetime.now(datetime.timezone.utc)
    cutoff = (now - datetime.timedelta(days=RETENTION_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
    failures = 0
    for collection in call("GET", first + "/collections")["collections"]:
        name = collection["name"]
        path = "/collections/" + urllib.parse.quote(name, safe="") + "/snapshots"
        # A peer snapshots only the shards it holds, so every peer is asked.
        for peer in PEERS:
            try:
                made = call("POST", peer + path + "?wait=true")
                print(name + ": " + made["name"] + " from " + peer, flush=True)
            except Exception as err:
                failures += 1
                print(name + ": snapshot on " + peer + " failed: " + str(err), file=sys.stderr, flush=True)
        # Every peer writes under the same bucket prefix: one listing sees all their snapshots.
        for snap in call("GET", first + path):
            created = (snap.get("creation_time") or "")[:19]
            if created and created < cutoff:
                try:
                    call("DELETE", first + path + "/" + urllib.parse.quote(snap["name"], safe="") + "?wait=true")
                    print(name + ": deleted " + snap["name"] + " from " + created, flush=True)
                except Exception as err:
                    failures += 1
                    print(name + ": deleting " + snap["name"] + " failed: " + str(err), file=sys.stderr, flush=True)
    return 1 if failures else 0


sys.exit(main())
'''


def snapshot_labels() -> dict[str, str]:
    return standard_labels("qdrant-snapshots", RELEASE, "backup")


def snapshot_configmap(settings: QdrantSettings, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": settings.namespace, "labels": snapshot_labels()},
            "data": {"snapshot.py": SNAPSHOT_SCRIPT}}


def snapshot_cronjob(settings: QdrantSettings, name: str, script_configmap: str) -> dict:
    snap = settings.snapshots
    if snap is None:
        raise ValueError("snapshot_cronjob needs snapshot settings")
    container = {
        "name": "snapshot",
        "image": SNAPSHOT_IMAGE,
        "command": ["python", "-B", "/scripts/snapshot.py"],
        "env": [
            _secret_env("QDRANT_API_KEY", settings.api_key_secret, API_KEY_KEY),
            {"name": "QDRANT_PEERS", "value": " ".join(peer_urls(settings))},
            {"name": "RETENTION_DAYS", "value": str(snap.retention_days)},
            {"name": "REQUEST_TIMEOUT", "value": str(SNAPSHOT_DEADLINE_SECONDS)},
        ],
        "resources": SNAPSHOT_RESOURCES.to_k8s(),
        "securityContext": container_security_context(SNAPSHOT_RUN_AS),
        "volumeMounts": [{"name": "scripts", "mountPath": "/scripts", "readOnly": True}],
    }
    pod = secure_pod_spec([container], restartPolicy="Never",
                          volumes=[{"name": "scripts", "configMap": {"name": script_configmap}}])
    labels = snapshot_labels()
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "namespace": settings.namespace, "labels": labels},
        "spec": {
            "schedule": snap.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": SNAPSHOT_DEADLINE_SECONDS,
                "template": {"metadata": {"labels": labels}, "spec": pod},
            }},
        },
    }


def s3_keys_secret(settings: QdrantSettings, name: str) -> dict:
    """Metadata of the static-keys Secret of an S3-compatible store."""
    return {"name": name, "namespace": settings.namespace, "labels": snapshot_labels()}
