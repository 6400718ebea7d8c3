"""Pure builders for the AKS target: names, role-assignment ids, node labels and taints,
the user kubeconfig and the storage classes. No Pulumi, no Azure SDK: tested as plain data.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, Optional

import yaml

from components.cluster.info import GpuPool, Taint
from components.common.labels import standard_labels
from components.platform.gpu_operator_values import platform_node_labels

GPU_PLATFORM = "aks"
SYSTEM_POOL = "system"
USER_POOL = "user"
# Keeps everything but critical add-ons (CoreDNS, metrics-server, konnectivity...) off the
# system pool, so an application can't starve the cluster's own components.
CRITICAL_ADDONS_TAINT = "CriticalAddonsOnly=true:NoSchedule"
# AKS puts this label and taint on every spot node whether asked or not; declaring them keeps
# the agent pool free of drift, and listing the taint with the pool's taints makes the
# platform's GPU workloads (and the GPU Operator) tolerate it.
SPOT_KEY = "kubernetes.azure.com/scalesetpriority"
SPOT_TAINT = Taint(SPOT_KEY, "spot", "NoSchedule")
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"
# Azure built-in role definitions (the same GUIDs in every tenant).
ROLES: dict[str, str] = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
}
BLOB_ROLE_OF_ACCESS = {"read": "Storage Blob Data Reader", "read-write": "Storage Blob Data Contributor"}
# Fixed namespace for role-assignment names: the same (scope, principal, role) always gives the
# same GUID, so a re-run updates the assignment instead of creating a second one.
_ROLE_NAMESPACE = uuid.UUID("5b0c1a52-7a4e-4c53-9a0e-6f1f7d3c2a10")
DISK_CSI = "disk.csi.azure.com"
FILE_CSI = "file.csi.azure.com"
# Not AKS's own names (managed-csi, managed-csi-premium, azurefile-csi-premium, ...): AKS's
# add-on manager reconciles those, and a second writer would fight it.
RWO_CLASS = "genai-disk-premium"
RWX_CLASS = "genai-files-nfs"
KubeloginMode = Literal["azurecli", "workloadidentity", "msi", "devicecode"]


def taint_string(taint: Taint) -> str:
    """AKS's ``key=value:Effect`` form of a taint."""
    return f"{taint.key}={taint.value}:{taint.effect}" if taint.value else f"{taint.key}:{taint.effect}"


def with_spot_taint(pool: GpuPool) -> GpuPool:
    """The pool as its nodes really are: a spot pool also carries AKS's spot taint."""
    if not pool.spot or SPOT_TAINT in pool.taints:
        return pool
    return replace(pool, taints=(*pool.taints, SPOT_TAINT))


def gpu_node_labels(pool: GpuPool) -> dict[str, str]:
    """Every label the pool's nodes carry: selector, operator config, platform, spot."""
    extra = platform_node_labels(GPU_PLATFORM)
    if pool.spot:
        extra[SPOT_KEY] = "spot"
    return pool.node_labels(extra)


def initial_count(min_size: int, desired: Optional[int]) -> int:
    """The node count a pool starts with; the autoscaler owns it afterwards."""
    return desired if desired is not None else min_size


def role_assignment_name(scope: str, principal_id: str, role: str) -> str:
    """A GUID that depends only on what is assigned, where and to whom."""
    return str(uuid.uuid5(_ROLE_NAMESPACE, f"{scope.lower()}|{principal_id.lower()}|{ROLES[role]}"))


def role_definition_id(scope: str, role: str) -> str:
    """The subscription-scoped id of a built-in role, from any resource id in that subscription."""
    parts = scope.split("/")
    if len(parts) < 3 or parts[1].lower() != "subscriptions":
        raise ValueError(f"not an Azure resource id: {scope!r}")
    return f"/subscriptions/{parts[2]}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}"


def global_name(base: str, seed: str, max_len: int) -> str:
    """A name for a globally unique Azure resource (registry, storage account).

    Lowercase letters and digits of ``base`` plus eight hex digits of ``seed`` (the subscription
    and resource group), so two subscriptions deploying the same stack don't collide.
    """
    suffix = hashlib.sha256(seed.encode()).hexdigest()[:8]
    stem = re.sub(r"[^a-z0-9]", "", base.lower())[: max_len - len(suffix)]
    return f"{stem}{suffix}"


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def _flag(args: list[str], name: str) -> Optional[str]:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


def user_kubeconfig(encoded: str, login_mode: Optional[KubeloginMode]) -> str:
    """The kubeconfig AKS returns (base64), with kubelogin set to a non-interactive login.

    An Entra ID cluster's user kubeconfig runs ``kubelogin get-token --login devicecode``,
    which would stop ``pulumi up`` at a browser prompt; the mode given here (e.g. ``azurecli``:
    the token of ``az login``) is what ``kubelogin convert-kubeconfig -l <mode>`` would write.
    Without Entra ID (``login_mode`` None) the kubeconfig is returned as AKS built it.
    """
    text = base64.b64decode(encoded).decode()
    if login_mode is None or login_mode == "devicecode":
        return text
    doc = yaml.safe_load(text)
    for user in doc.get("users") or []:
        exec_ = (user.get("user") or {}).get("exec")
        if not exec_ or exec_.get("command") != "kubelogin":
            continue
        args = [str(a) for a in exec_.get("args") or []]
        server_id = _flag(args, "--server-id")
        exec_["args"] = ["get-token", "--login", login_mode, *(["--server-id", server_id] if server_id else [])]
    return yaml.safe_dump(doc, sort_keys=False)


@dataclass(frozen=True)
class StorageClassSpec:
    name: str
    provisioner: str
    parameters: Mapping[str, str]
    reclaim_policy: str
    volume_binding_mode: str
    mount_options: tuple[str, ...] = ()

    def manifest(self) -> dict:
        body: dict = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": self.name, "labels": standard_labels(self.name, "cluster", "storage")},
            "provisioner": self.provisioner,
            "parameters": dict(self.parameters),
            "reclaimPolicy": self.reclaim_policy,
            "volumeBindingMode": self.volume_binding_mode,
            "allowVolumeExpansion": True,
        }
        if self.mount_options:
            body["mountOptions"] = list(self.mount_options)
        return body


def storage_classes(protect: bool) -> tuple[StorageClassSpec, StorageClassSpec]:
    """(RWO, RWX): premium managed disks for databases and caches, premium NFS file shares for
    the model catalog. Retain keeps the data of a deleted claim in a protected stack."""
    reclaim = "Retain" if protect else "Delete"
    rwo = StorageClassSpec(
        name=RWO_CLASS,
        provisioner=DISK_CSI,
        parameters={"skuName": "Premium_LRS"},
        reclaim_policy=reclaim,
        # Disks are zonal: bind once the pod's node (and so its zone) is known.
        volume_binding_mode="WaitForFirstConsumer",
    )
    rwx = StorageClassSpec(
        name=RWX_CLASS,
        provisioner=FILE_CSI,
        # NFS shares exist on premium (FileStorage) accounts only; NFS also avoids SMB's
        # per-file locking cost when many model servers read the same weights.
        parameters={"skuName": "Premium_LRS", "protocol": "nfs"},
        reclaim_policy=reclaim,
        volume_binding_mode="Immediate",
        # Azure Files' recommended NFS client options: parallel connections for throughput,
        # new source ports after reconnects, attribute caching for read-mostly weights.
        mount_options=("nconnect=4", "noresvport", "actimeo=30"),
    )
    return rwo, rwx


def tags(stack: str, extra: Mapping[str, str]) -> dict[str, str]:
    """Azure tags of every resource (Azure tag names can't hold '/', so not the k8s labels)."""
    return {"part-of": "genai-platform", "managed-by": "pulumi", "stack": stack, **extra}


@dataclass(frozen=True)
class NetworkSettings:
    vnet_cidr: str
    node_subnet_cidr: str
    pod_cidr: str
    service_cidr: str
    dns_service_ip: str
    policy: Literal["cilium", "calico", "azure"] = "cilium"


@dataclass(frozen=True)
class AccessSettings:
    """Who reaches the API server, and how they sign in."""

    private_cluster: bool = False
    authorized_ip_ranges: tuple[str, ...] = ()
    entra_admin_group_ids: Optional[tuple[str, ...]] = None     # None: no Entra ID integration
    azure_rbac: bool = False
    tenant_id: Optional[str] = None
    disable_local_accounts: bool = False
    kubelogin_mode: KubeloginMode = "azurecli"

    @property
    def entra_id(self) -> bool:
        return self.entra_admin_group_ids is not None


@dataclass(frozen=True)
class RegistrySettings:
    name: Optional[str] = None        # None: derived from the cluster name and subscription
    sku: Literal["Standard", "Premium"] = "Premium"


@dataclass(frozen=True)
class ObjectStoreSettings:
    account_name: Optional[str] = None
    container: str = "platform"
    replication: Literal["LRS", "ZRS", "GRS", "GZRS"] = "ZRS"
    soft_delete_days: int = 14
    allowed_ip_ranges: tuple[str, ...] = ()


@dataclass(frozen=True)
class CpuPool:
    """The system pool or the CPU user pool."""

    name: str
    vm_size: str
    min_size: int
    max_size: int
    desired_size: Optional[int]
    disk_size_gib: int
