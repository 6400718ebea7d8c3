"""Pure builders of the Velero chart's values: the cloud's object-store plugin, the backup
storage location in the cluster's bucket, and how Velero signs in to it.

Velero 1.18 (chart ``velero`` 12.1.0 of vmware-tanzu's repository) with one object-store
plugin per bucket kind, each from the v1.14 line its README pairs with Velero 1.18:

- S3 (EKS): velero-plugin-for-aws; ``config.region``; the ``backups`` identity (EKS Pod
  Identity, or IRSA's role annotation on the service account).
- S3-compatible (existing cluster): the same plugin with ``s3ForcePathStyle`` and ``s3Url``;
  access keys in a Secret the component creates, never in these values.
- GCS (GKE): velero-plugin-for-gcp; ``config.serviceAccount``, the Google service account the
  plugin signs download URLs as; GKE Workload Identity.
- Blob (AKS): velero-plugin-for-microsoft-azure; ``storageAccount``, ``storageAccountURI`` and
  ``useAAD``; workload identity (client-id annotation and the ``azure.workload.identity/use``
  pod label).

Volumes go through CSI snapshots (``EnableCSI``; the CSI plugin is built into Velero since
1.14), so there is no VolumeSnapshotLocation: a location only serves the cloud plugin's own
snapshotter (for volumes that aren't CSI), which needs compute permissions the identities
don't grant. With the
data mover on, the node agent runs without host paths (the built-in data mover reads the
volume through a pod that mounts a claim made from the snapshot; host paths are only for
file-system backups, which the platform doesn't use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi

from components.cluster.info import ObjectStore, WorkloadIdentity
from components.common.labels import PART_OF
from components.common.security import Resources, container_security_context
from components.ops.contracts import VELERO_SERVICE_ACCOUNT

CHART = "velero"
REPOSITORY = "https://vmware-tanzu.github.io/helm-charts"
CHART_VERSION = "12.1.0"
# The chart's own default image for 12.1.0 (appVersion 1.18.1), pinned here so a chart bump
# can't move the server without a review.
VELERO_IMAGE = "docker.io/velero/velero"
VELERO_TAG = "v1.18.1"
# Plugin v1.14.x is the line each plugin's compatibility table pairs with Velero v1.18.x.
PLUGIN_IMAGES = {
    "s3": "docker.io/velero/velero-plugin-for-aws:v1.14.2",
    "gcs": "docker.io/velero/velero-plugin-for-gcp:v1.14.2",
    "azure-blob": "docker.io/velero/velero-plugin-for-microsoft-azure:v1.14.2",
}
PROVIDERS = {"s3": "aws", "gcs": "gcp", "azure-blob": "azure"}
STORAGE_LOCATION = "default"
METRICS_PORT = 8085
# The Velero image runs as ``cnb`` (paketo jammy-tiny run image: uid 1002, gid 1000); the user
# is named, not numbered, so the kubelet can only enforce runAsNonRoot with the number given.
VELERO_UID = 1002
VELERO_GID = 1000
# The plugin images run as 65532 and only copy their binary into the shared ``plugins`` volume.
PLUGIN_UID = 65532
# Kopia keeps its repository config and cache under the user's home; with a read-only root
# filesystem those must be volumes (Velero's "Support ReadOnlyRootFilesystem setting").
HOME = "/home/cnb"
CREDENTIALS_SECRET = "velero-cloud-credentials"
CREDENTIALS_KEY = "cloud"        # the key the chart mounts as /credentials/cloud
NODE_AGENT_CONFIG = "velero-node-agent"
FEATURES = "EnableCSI"
# The standard labels the chart leaves to us (it sets name, instance and managed-by itself).
OWN_LABELS = {"app.kubernetes.io/component": "backups", "app.kubernetes.io/part-of": PART_OF}

CredentialsMode = Literal["identity", "keys"]


@dataclass(frozen=True)
class VeleroSettings:
    namespace: str
    prefix: str
    resources: Resources                              # the Velero server
    node_agent: bool                                  # data mover on: the node agent runs
    # Namespaces the schedules back up: each gets a Kopia repository with its own maintenance Job.
    repository_namespaces: tuple[str, ...] = ()
    metrics_namespace: Optional[str] = None
    node_agent_resources: Resources = field(default_factory=lambda: Resources("100m", "128Mi", "1", "512Mi"))
    maintenance_resources: Resources = field(default_factory=lambda: Resources("100m", "256Mi", "1", "1Gi"))
    plugin_resources: Resources = field(default_factory=lambda: Resources("10m", "32Mi", "200m", "128Mi"))
    upgrade_job_resources: Resources = field(default_factory=lambda: Resources("50m", "64Mi", "500m", "256Mi"))


def credentials_mode(store: ObjectStore, identity: Optional[WorkloadIdentity]) -> CredentialsMode:
    """How Velero signs in to the bucket: the cluster's workload identity, else static keys (S3 only)."""
    if identity is not None:
        return "identity"
    if store.kind == "s3" and store.access_key_id is not None and store.secret_access_key is not None:
        return "keys"
    raise ValueError(f"backups: no credentials for the {store.kind} bucket: the cluster grants no 'backups' "
                     "workload identity and the object store has no access keys")


def aws_credentials_file(access_key_id: str, secret_access_key: str) -> str:
    """The shared-credentials file the AWS plugin (and Kopia) read from /credentials/cloud."""
    return f"[default]\naws_access_key_id={access_key_id}\naws_secret_access_key={secret_access_key}\n"


def location_config(store: ObjectStore, identity: Optional[WorkloadIdentity]) -> dict[str, pulumi.Input[str]]:
    """The BackupStorageLocation's provider ``config`` (every value a string: the chart quotes them)."""
    if store.kind == "s3":
        config: dict[str, pulumi.Input[str]] = {"region": store.region}
        if store.endpoint is not None:
            # S3-compatible stores (MinIO, Ceph) serve buckets under the path, not as subdomains.
            config.update({"s3ForcePathStyle": "true", "s3Url": store.endpoint})
        return config
    if store.kind == "gcs":
        # Without a key file the plugin requires the Google service account: it signs download
        # URLs (``velero backup logs``/``describe``) as that account through IAM signBlob.
        if identity is None or identity.cloud_principal is None:
            raise ValueError("backups: the GCP plugin needs the Google service account of the 'backups' identity")
        return {"serviceAccount": identity.cloud_principal}
    if store.account is None:
        raise ValueError("backups: an Azure Blob object store needs its storage account")
    # The account allows no shared keys: Entra ID (the workload identity) signs every request.
    # With the blob endpoint given, the plugin needs no ARM read of the account, so neither
    # resource group nor subscription.
    config = {"storageAccount": store.account, "useAAD": "true"}
    if store.endpoint is not None:
        config["storageAccountURI"] = store.endpoint
    return config


def storage_location(store: ObjectStore, identity: Optional[WorkloadIdentity], prefix: str) -> dict:
    return {
        "name": STORAGE_LOCATION,
        "provider": PROVIDERS[store.kind],
        "bucket": store.bucket,
        "prefix": prefix,
        "default": True,
        "accessMode": "ReadWrite",
        "config": location_config(store, identity),
    }


def plugin_init_container(store: ObjectStore, resources: Resources) -> dict:
    image = PLUGIN_IMAGES[store.kind]
    return {
        "name": image.rsplit("/", 1)[-1].split(":", 1)[0],
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        "securityContext": container_security_context(PLUGIN_UID),
        "resources": resources.to_k8s(),
    }


def pod_labels(identity: Optional[WorkloadIdentity]) -> dict[str, str]:
    """Extra labels of Velero's pods. The chart already sets the ``app.kubernetes.io`` name,
    instance and managed-by labels (restating them would duplicate keys in its templates);
    the identity's labels (Azure's ``azure.workload.identity/use``) get the token injected."""
    return {**OWN_LABELS, **dict(identity.pod_labels if identity else {})}


def _maintenance(settings: VeleroSettings) -> dict:
    """Kopia repository maintenance Jobs: one repository per backed-up namespace
    (``<namespace>-<location>-kopia``), each with requests and limits."""
    r = settings.maintenance_resources
    pod_resources = {"cpuRequest": r.cpu_request, "memoryRequest": r.memory_request,
                     "cpuLimit": r.cpu_limit, "memoryLimit": r.memory_limit}
    return {"repositoryConfigData": {"repositories": {
        f"{ns}-{STORAGE_LOCATION}-kopia": {"podResources": pod_resources}
        for ns in settings.repository_namespaces}}}


def _server_security(pod: bool) -> dict:
    if pod:
        return {"runAsNonRoot": True, "runAsUser": VELERO_UID, "runAsGroup": VELERO_GID, "fsGroup": VELERO_GID,
                "seccompProfile": {"type": "RuntimeDefault"}}
    return {**container_security_context(VELERO_UID), "runAsGroup": VELERO_GID}


def _node_agent(settings: VeleroSettings, identity: Optional[WorkloadIdentity]) -> dict:
    return {
        # The built-in data mover needs no host paths; they would force PSA ``privileged``.
        "disableHostPath": True,
        "resources": settings.node_agent_resources.to_k8s(),
        "labels": dict(OWN_LABELS),
        "podLabels": pod_labels(identity),
        # Root, as upstream ships it; without host paths and with every capability dropped it
        # can reach nothing of the node. Its root filesystem stays writable as upstream ships
        # it: Velero documents a read-only root (Kopia's home on volumes) for the server only.
        "podSecurityContext": {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                     "seccompProfile": {"type": "RuntimeDefault"}},
        "extraArgs": [f"--node-agent-configmap={NODE_AGENT_CONFIG}"],
    }


def velero_values(store: ObjectStore, identity: Optional[WorkloadIdentity], settings: VeleroSettings) -> dict:
    """The release's values. Static keys never appear here: in ``keys`` mode the chart mounts
    the Secret ``velero-cloud-credentials`` the component creates."""
    mode = credentials_mode(store, identity)
    scraped = settings.metrics_namespace is not None
    values: dict = {
        "image": {"repository": VELERO_IMAGE, "tag": VELERO_TAG, "pullPolicy": "IfNotPresent"},
        "initContainers": [plugin_init_container(store, settings.plugin_resources)],
        "resources": settings.resources.to_k8s(),
        "labels": dict(OWN_LABELS),
        "podLabels": pod_labels(identity),
        "podSecurityContext": _server_security(pod=True),
        "containerSecurityContext": _server_security(pod=False),
        "extraVolumes": [{"name": "udmrepo", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}],
        "extraVolumeMounts": [{"name": "udmrepo", "mountPath": f"{HOME}/udmrepo"},
                              {"name": "cache", "mountPath": f"{HOME}/.cache"}],
        "upgradeJobResources": settings.upgrade_job_resources.to_k8s(),
        "metrics": {
            "enabled": True,
            # Explicit rather than detected: the release waits for the Prometheus Operator's
            # CRDs, and a missing CRD should fail the install, not drop the monitor silently.
            "serviceMonitor": {"enabled": scraped, "autodetect": False},
            "nodeAgentPodMonitor": {"enabled": scraped and settings.node_agent, "autodetect": False},
        },
        "configuration": {
            "backupStorageLocation": [storage_location(store, identity, settings.prefix)],
            "volumeSnapshotLocation": [],
            "features": FEATURES,
            "uploaderType": "kopia",
        },
        "serviceAccount": {"server": {
            "create": True,
            "name": VELERO_SERVICE_ACCOUNT,
            "labels": dict(OWN_LABELS),
            # Velero watches and restores every kind of object through the API.
            "automountServiceAccountToken": True,
        }},
        "credentials": ({"useSecret": False} if mode == "identity"
                        else {"useSecret": True, "existingSecret": CREDENTIALS_SECRET}),
        "backupsEnabled": True,
        "snapshotsEnabled": False,
        "deployNodeAgent": settings.node_agent,
        # Schedules are Pulumi resources (``backup_specs.schedule``), validated against the CRD.
        "schedules": {},
    }
    if identity is not None and identity.annotations:
        values["serviceAccount"]["server"]["annotations"] = dict(identity.annotations)
    if settings.node_agent:
        values["nodeAgent"] = _node_agent(settings, identity)
        values["configuration"]["defaultSnapshotMoveData"] = True
        values["configuration"]["repositoryMaintenanceJob"] = _maintenance(settings)
    return values
