"""Pure builders for Milvus from its official chart (``milvus`` 5.0.19, Milvus v2.6.15).

- ``milvus_values``: the chart's values. Standalone (one pod, its write-ahead log on its own
  volume) for one replica, the distributed deployment (proxies, active-standby coordinators,
  query/data/streaming nodes, the log in the bucket) for three or more. Segments and indexes
  live in the cluster's bucket (``externalS3``: S3, GCS or Azure Blob through the workload
  identity, or an S3-compatible store with static keys) instead of the bundled MinIO; Pulsar is
  off (Woodpecker, 2.6's object-store log, is the message queue); the bundled etcd keeps the
  metadata (1 or 3 members). Authentication is on; the root password comes from our Secret.
- ``component_pdbs``: one PDB per multi-pod component (the chart has none).
- ``network_policy``: clients on 19530, Prometheus on 9091.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi
import yaml

from components.common.k8s import topology_spread
from components.common.labels import PART_OF
from components.common.security import Resources
from components.data.common import DataContext, engine_ingress, pdb

CHART = "milvus"
REPOSITORY = "https://zilliztech.github.io/milvus-helm/"
CHART_VERSION = "5.0.19"                 # Milvus v2.6.15, etcd chart 8.12.0 (etcd 3.5)
RELEASE = "milvus"                       # also fullnameOverride: Service milvus
PORT = 19530
METRICS_PORT = 9091                      # also /healthz, which the chart's readiness probe reads
SERVICE_ACCOUNT = "milvus"
ROOT_USER = "root"
USERNAME_KEY, PASSWORD_KEY = "username", "password"
# Milvus reads any setting from the environment (upper case, separators dropped) over its
# YAML files: secrets go there, from Secrets, never into the chart's ConfigMap.
ROOT_PASSWORD_ENV = "COMMON_SECURITY_DEFAULTROOTPASSWORD"
S3_KEY_ID_ENV, S3_SECRET_ENV = "MINIO_ACCESS_KEY_ID", "MINIO_SECRET_ACCESS_KEY"
S3_KEY_ID, S3_SECRET = "accessKeyID", "secretAccessKey"

ETCD_STORAGE_GIB = 10                    # the chart caps etcd's backend at 4 GiB
ETCD_RESOURCES = Resources(cpu_request="250m", memory_request="512Mi", cpu_limit="1", memory_limit="2Gi")
ETCD_UID = 1001                          # the etcd chart's user
PROXIES = 2
COORDINATORS = 2                         # one active, one standby
# Components whose replicas follow ``replicas`` in the distributed deployment.
SCALED = ("queryNode", "dataNode", "streamingNode")
# Chart values key -> the pods' ``component`` label.
COMPONENT_LABELS = {"standalone": "standalone", "proxy": "proxy", "mixCoordinator": "mixcoord",
                    "queryNode": "querynode", "dataNode": "datanode", "streamingNode": "streamingnode"}

CloudProvider = Literal["aws", "gcp", "azure"]


@dataclass(frozen=True)
class MilvusStorage:
    """The bucket Milvus keeps its data (and, distributed, its write-ahead log) in."""

    cloud_provider: CloudProvider             # aws also for S3-compatible stores
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    use_ssl: bool
    bucket: pulumi.Input[str]
    root_path: str                            # key prefix in the bucket
    region: str = ""
    use_iam: bool = True
    use_virtual_host: bool = False
    account: Optional[pulumi.Input[str]] = None     # Azure storage account (Milvus' accessKeyID)
    keys_secret: Optional[str] = None         # static keys (accessKeyID / secretAccessKey)
    sa_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MilvusSettings:
    namespace: str
    replicas: int
    storage_gib: int
    storage_class: str
    resources: Resources
    root_secret: str                          # keys username / password
    storage: MilvusStorage
    zone_spread: bool = False
    service_monitors: bool = False
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def distributed(self) -> bool:
        return self.replicas > 1


def selector(component: Optional[str] = None) -> dict[str, str]:
    out = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE}
    return {**out, "component": component} if component else out


def instance_selector() -> dict[str, str]:
    """Every pod of the release: Milvus' and the bundled etcd's (its chart labels the release too)."""
    return {"app.kubernetes.io/instance": RELEASE}


def service_host(namespace: str) -> str:
    return f"{RELEASE}.{namespace}.svc.cluster.local"


def _secret_env(name: str, secret: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def extra_env(settings: MilvusSettings) -> list[dict]:
    env = [_secret_env(ROOT_PASSWORD_ENV, settings.root_secret, PASSWORD_KEY)]
    if settings.storage.keys_secret:
        env += [_secret_env(S3_KEY_ID_ENV, settings.storage.keys_secret, S3_KEY_ID),
                _secret_env(S3_SECRET_ENV, settings.storage.keys_secret, S3_SECRET)]
    return env


def user_config(settings: MilvusSettings) -> str:
    """``user.yaml``: merged over the chart's config; nothing secret."""
    config: dict = {"common": {"security": {"authorizationEnabled": True}}}
    if settings.distributed:
        # The chart picks Pulsar for a distributed Milvus unless told otherwise.
        config["mq"] = {"type": "woodpecker"}
    return yaml.safe_dump(config, sort_keys=True)


def _external_s3(storage: MilvusStorage) -> dict:
    out: dict = {
        "enabled": True, "cloudProvider": storage.cloud_provider, "host": storage.host, "port": storage.port,
        "useSSL": storage.use_ssl, "bucketName": storage.bucket, "rootPath": storage.root_path,
        "useIAM": storage.use_iam, "region": storage.region, "useVirtualHost": storage.use_virtual_host,
    }
    if storage.account is not None:
        # With Azure, Milvus takes the storage account name from accessKeyID (not a secret).
        out["accessKey"] = storage.account
    return out


# Milvus' image is built to run as root: its binary, libraries and config directories are
# root-owned 0774 and /var/lib/milvus is root's (zilliztech/milvus-helm#9, milvus-io/milvus#25565
# and #46897 track running it as another user). It keeps root but nothing else: no privilege
# escalation, every capability dropped, RuntimeDefault seccomp. Its root filesystem stays
# writable for the same reason.
POD_SECURITY_CONTEXT = {"seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY_CONTEXT = {"allowPrivilegeEscalation": False, "privileged": False,
                              "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
ETCD_POD_SECURITY_CONTEXT = {"enabled": True, "fsGroup": ETCD_UID, "runAsNonRoot": True,
                             "seccompProfile": {"type": "RuntimeDefault"}}
ETCD_CONTAINER_SECURITY_CONTEXT = {"enabled": True, "runAsUser": ETCD_UID, "runAsNonRoot": True,
                                   "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                   "seccompProfile": {"type": "RuntimeDefault"}}


def _component(settings: MilvusSettings, key: str, replicas: Optional[int] = None) -> dict:
    out: dict = {"resources": settings.resources.to_k8s(), "extraEnv": extra_env(settings)}
    if replicas is not None:
        out["replicas"] = replicas
    # The streaming node has no key of its own in the chart's values; it takes the global one.
    if key != "streamingNode":
        out["topologySpreadConstraints"] = topology_spread(selector(COMPONENT_LABELS[key]), settings.zone_spread)
    return out


def _etcd(settings: MilvusSettings) -> dict:
    members = 3 if settings.distributed else 1
    return {
        "replicaCount": members,
        "persistence": {"enabled": True, "storageClass": settings.storage_class, "size": f"{ETCD_STORAGE_GIB}Gi"},
        "resources": ETCD_RESOURCES.to_k8s(),
        "podSecurityContext": ETCD_POD_SECURITY_CONTEXT,
        "containerSecurityContext": ETCD_CONTAINER_SECURITY_CONTEXT,
        "topologySpreadConstraints": topology_spread({"app.kubernetes.io/name": "etcd",
                                                      "app.kubernetes.io/instance": RELEASE}, settings.zone_spread),
        # A quorum (2 of 3) stays up through a drain; a lone member has nothing to keep.
        "pdb": {"create": members > 1, "minAvailable": "51%"},
    }


def milvus_values(settings: MilvusSettings) -> dict:
    storage = settings.storage
    values: dict = {
        "fullnameOverride": RELEASE,
        "cluster": {"enabled": settings.distributed},
        "labels": {"app.kubernetes.io/part-of": PART_OF, **storage.pod_labels},
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": dict(storage.sa_annotations)},
        "securityContext": POD_SECURITY_CONTEXT,
        "containerSecurityContext": CONTAINER_SECURITY_CONTEXT,
        "extraConfigFiles": {"user.yaml": user_config(settings)},
        "metrics": {"enabled": True, "serviceMonitor": {
            "enabled": settings.service_monitors,
            "additionalLabels": dict(settings.service_monitor_labels) if settings.service_monitors else {}}},
        "livenessProbe": {"enabled": True},
        "readinessProbe": {"enabled": True},
        "minio": {"enabled": False},
        "pulsarv3": {"enabled": False},
        "externalS3": _external_s3(storage),
        "etcd": _etcd(settings),
    }
    if settings.distributed:
        values["topologySpreadConstraints"] = topology_spread(selector("streamingnode"), settings.zone_spread)
        values["proxy"] = _component(settings, "proxy", PROXIES)
        values["mixCoordinator"] = {**_component(settings, "mixCoordinator", COORDINATORS),
                                    "activeStandby": {"enabled": True}}
        for key in SCALED:
            values[key] = _component(settings, key, settings.replicas)
        # The log lives in the bucket next to the segments.
        values["streaming"] = {"woodpecker": {"storage": {"type": "minio"}}}
    else:
        values["standalone"] = {
            **_component(settings, "standalone"),
            "persistence": {"enabled": True, "persistentVolumeClaim": {
                "storageClass": settings.storage_class, "size": f"{settings.storage_gib}Gi"}},
        }
        # The log sits on the standalone volume: no object-store round trip per write.
        values["streaming"] = {"woodpecker": {"storage": {"type": "local"}}}
    return values


def component_pdbs(settings: MilvusSettings, labels: Mapping[str, str]) -> list[dict]:
    """The chart ships no PDB: one per component running more than one pod."""
    if not settings.distributed:
        return []
    counts = {"proxy": PROXIES, "mixCoordinator": COORDINATORS, **{k: settings.replicas for k in SCALED}}
    return [pdb(f"{RELEASE}-{COMPONENT_LABELS[key]}", settings.namespace, labels, selector(COMPONENT_LABELS[key]))
            for key, count in counts.items() if count > 1]


def s3_keys_secret(settings: MilvusSettings, name: str, labels: Mapping[str, str]) -> dict:
    return {"name": name, "namespace": settings.namespace, "labels": dict(labels)}


def network_policy(ctx: DataContext, labels: Mapping[str, str], allow_from: tuple[str, ...], metrics: bool) -> dict:
    # Milvus components and etcd members reach each other through the "own pods" rule.
    return engine_ingress(RELEASE, ctx, labels, instance_selector(), client_ports=[PORT], allow_from=allow_from,
                          metrics_ports=[METRICS_PORT] if metrics else [])
