"""Pure builders for the GKE target: locations, node-pool settings, names, IAM members,
storage classes and the kubeconfig.

Data in, data out: no cloud SDK, no Pulumi resources. The config checks use the same
functions as the components, so what is checked is what gets built.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Optional

import yaml

from components.cluster.info import GpuPool, Taint
from components.common.labels import standard_labels
from components.platform.gpu_operator_values import platform_node_labels

DEFAULT_SYSTEM_MACHINE_TYPE = "e2-standard-8"
SYSTEM_POOL = "system"
# Machine families with attached GPUs: never the CPU system pool.
GPU_MACHINE_PREFIXES = ("g2-", "g4-", "a2-", "a3-", "a4-", "a4x-")
POOL_LABEL = "genai-platform.io/pool"
RWO_CLASS = "genai-rwo"
RWX_CLASS = "genai-rwx"
PD_CSI = "pd.csi.storage.gke.io"
FILESTORE_CSI = "filestore.csi.storage.gke.io"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
GSA_ANNOTATION = "iam.gke.io/gcp-service-account"
AUTH_PLUGIN = "gke-gcloud-auth-plugin"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# The least-privilege role Google defines for node service accounts (logging, monitoring,
# autoscaling metrics); image pulls get reader on the platform's repository only.
NODE_ROLES = ("roles/container.defaultNodeServiceAccount",)
BUCKET_ROLES = {"read": "roles/storage.objectViewer", "read-write": "roles/storage.objectAdmin"}
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
KMS_ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
KEY_ROTATION = "7776000s"   # 90 days
# Ports admission webhooks and aggregated API servers of the platform's charts listen on
# (KEDA's metrics server 6443, common webhooks 8443/9443). A private control plane reaches
# nodes only on 443 and 10250 unless a firewall rule opens more.
WEBHOOK_PORTS = ("6443", "8443", "9443")
_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}

LocationType = Literal["regional", "zonal"]


@dataclass(frozen=True)
class Locations:
    """Where the control plane and the nodes of a cluster are."""

    region: str
    location_type: LocationType
    zone: Optional[str]
    zones: tuple[str, ...]

    @property
    def location(self) -> str:
        """The cluster's location: a region (regional control plane) or a zone (zonal)."""
        return self.zone if self.location_type == "zonal" and self.zone else self.region

    @property
    def node_zones(self) -> tuple[str, ...]:
        """Every zone nodes may run in; a zonal cluster defaults to its own zone."""
        if self.zones:
            return self.zones
        return (self.zone,) if self.zone else ()

    @property
    def cluster_node_locations(self) -> Optional[list[str]]:
        """The cluster's ``node_locations``: a zonal cluster lists only its additional zones."""
        if self.location_type == "regional":
            return list(self.node_zones) or None
        extra = [z for z in self.node_zones if z != self.zone]
        return extra or None


def apis(secrets_encryption: bool) -> tuple[str, ...]:
    """The Google APIs the cluster and its add-ons call."""
    services = ["cloudresourcemanager", "compute", "container", "iam", "iamcredentials", "file",
                "artifactregistry", "storage", "containerfilesystem", "logging", "monitoring"]
    if secrets_encryption:
        services.append("cloudkms")
    return tuple(f"{s}.googleapis.com" for s in services)


def per_zone_count(total: int, zones: int) -> int:
    """GKE's initial node count is per zone; the smallest per-zone count that reaches ``total``."""
    return math.ceil(total / zones) if zones else total


def pool_zones(pool_zones: Sequence[str], cluster_zones: Sequence[str]) -> tuple[str, ...]:
    return tuple(pool_zones) or tuple(cluster_zones)


def gke_taints(taints: Iterable[Taint]) -> list[dict[str, str]]:
    return [{"key": t.key, "value": t.value, "effect": _TAINT_EFFECTS[t.effect]} for t in taints]


def gpu_node_labels(pool: GpuPool) -> dict[str, str]:
    """Selector, operator and GKE labels of a GPU pool's nodes.

    ``gke-no-default-nvidia-gpu-device-plugin=true`` keeps GKE's own device plugin off the
    node so the GPU Operator's (with the pool's sharing config) is the only one.
    """
    return pool.node_labels(platform_node_labels("gke"))


def system_node_labels() -> dict[str, str]:
    return {POOL_LABEL: SYSTEM_POOL}


def is_gpu_machine(machine_type: str) -> bool:
    return machine_type.startswith(GPU_MACHINE_PREFIXES)


def workload_pool(project: str) -> str:
    return f"{project}.svc.id.goog"


def workload_member(project: str, namespace: str, service_account: str) -> str:
    """The IAM member of a Kubernetes service account under Workload Identity."""
    return f"serviceAccount:{workload_pool(project)}[{namespace}/{service_account}]"


def gke_service_agent(project_number: str) -> str:
    return f"serviceAccount:service-{project_number}@container-engine-robot.iam.gserviceaccount.com"


def account_id(prefix: str, suffix: str) -> str:
    """A service-account id (6-30 characters, a letter first) from the cluster name and a role.

    The prefix is shortened to fit; a suffix too long on its own gets a short hash instead.
    """
    if len(suffix) > 24:
        suffix = f"{suffix[:17].rstrip('-')}-{hashlib.sha256(suffix.encode()).hexdigest()[:6]}"
    head = prefix[: 30 - len(suffix) - 1].rstrip("-")
    out = f"{head}-{suffix}" if head else suffix
    return out if len(out) >= 6 else f"{out}-sa"[:30]


def default_bucket_name(project: str, name: str) -> str:
    return f"{project}-{name}"


def kubeconfig(context: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig that authenticates through ``gke-gcloud-auth-plugin`` (no static token)."""
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": f"https://{endpoint}",
                                                   "certificate-authority-data": ca_data}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "users": [{"name": context, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": AUTH_PLUGIN,
            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
        }}}],
    }, sort_keys=False)


def context_name(project: str, location: str, name: str) -> str:
    # The name gcloud gives the context, so `gcloud container clusters get-credentials` matches.
    return f"gke_{project}_{location}_{name}"


def _class_metadata(name: str, default: bool) -> dict:
    meta: dict = {"name": name, "labels": standard_labels(name, "storage", "storage")}
    if default:
        meta["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true"}
    return meta


def rwo_storage_class(protect: bool) -> dict:
    """pd-balanced block volumes, the default class of the cluster.

    GKE's own ``standard-rwo`` is also marked default; Kubernetes uses the most recently created
    default class, which is this one, and the platform's layers name their class explicitly.
    """
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": _class_metadata(RWO_CLASS, default=True),
        "provisioner": PD_CSI,
        "parameters": {"type": "pd-balanced"},
        "reclaimPolicy": "Retain" if protect else "Delete",
        # A disk is zonal: create it where the pod is scheduled.
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def rwx_storage_class(tier: str, network: str, protect: bool) -> dict:
    """Filestore shares on the cluster's VPC, one instance per volume (the model catalog)."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": _class_metadata(RWX_CLASS, default=False),
        "provisioner": FILESTORE_CSI,
        "parameters": {"tier": tier, "network": network},
        "reclaimPolicy": "Retain" if protect else "Delete",
        # Zonal tiers are created in the zone of the first consumer's node.
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def resource_labels(name: str) -> Mapping[str, str]:
    """GCE labels on every resource the provider creates (keys can't hold '/' or '.')."""
    return {"part-of": "genai-platform", "managed-by": "pulumi", "cluster": name}
