"""Stack settings of the aks cluster target (`cluster.aks`).

Field-level rules only (formats, ranges, enums); rules that relate fields (CIDR overlaps,
zones, Entra ID and local accounts, private cluster and authorized ranges, AKS pool names)
live in ``infra/checks_aks.py`` so every problem is reported at once.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from infra.schema_base import Cidr, Section, matches

DEFAULT_SYSTEM_VM_SIZE = "Standard_D4s_v5"
DEFAULT_USER_VM_SIZE = "Standard_D8s_v5"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
_DNS_PREFIX = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{0,89}[-\w_()]$")
_REGISTRY = re.compile(r"^[A-Za-z0-9]{5,50}$")
_STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


def _guid(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError(f"must be a GUID such as 00000000-0000-0000-0000-000000000000; got {value!r}")
    return value




def _ip_range(value: str) -> str:
    # Authorized ranges and storage firewall rules take single addresses or CIDR blocks.
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"must be an IPv4 address or CIDR block such as 203.0.113.0/24; got {value!r}") from None
    return value


def _ipv4(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"must be an IPv4 address such as 10.0.0.10; got {value!r}") from None
    return value




Guid = Annotated[str, AfterValidator(_guid)]
IpRange = Annotated[str, AfterValidator(_ip_range)]
IPv4 = Annotated[str, AfterValidator(_ipv4)]
ClusterName = Annotated[str, AfterValidator(matches(
    _CLUSTER_NAME, "1-63 letters, digits, '-' or '_', starting and ending with a letter or digit"))]
DnsPrefix = Annotated[str, AfterValidator(matches(
    _DNS_PREFIX, "1-54 letters, digits or '-', starting and ending with a letter or digit"))]
ResourceGroupName = Annotated[str, AfterValidator(matches(
    _RESOURCE_GROUP, "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'"))]
RegistryName = Annotated[str, AfterValidator(matches(
    _REGISTRY, "a globally unique registry name of 5-50 letters and digits"))]
StorageAccountName = Annotated[str, AfterValidator(matches(
    _STORAGE_ACCOUNT, "a globally unique storage account name of 3-24 lowercase letters and digits"))]
ContainerName = Annotated[str, AfterValidator(matches(
    _CONTAINER, "3-63 lowercase letters, digits and single '-', starting and ending with a letter or digit"))]


class AksNetworkConfig(Section):
    """The VNet the nodes live in and the overlay ranges of pods and services."""

    vnet_cidr: Cidr = "10.40.0.0/16"
    node_subnet_cidr: Cidr = "10.40.0.0/20"
    pod_cidr: Cidr = "10.244.0.0/16"
    service_cidr: Cidr = "10.0.0.0/16"
    dns_service_ip: IPv4 = Field(default="10.0.0.10", alias="dnsServiceIp")
    # No "none": the platform's namespaces rely on NetworkPolicies being enforced.
    policy: Literal["cilium", "calico", "azure"] = "cilium"


class AksEntraIdConfig(Section):
    """AKS-managed Microsoft Entra ID integration."""

    admin_group_object_ids: list[Guid] = Field(min_length=1)
    azure_rbac: bool = False
    tenant_id: Optional[Guid] = None


class AksUserPoolConfig(Section):
    """The CPU user pool: platform workloads (databases, downloads, apps) run here, since the
    system pool only admits critical add-ons."""

    vm_size: str = Field(default=DEFAULT_USER_VM_SIZE, min_length=1)
    min_size: int = Field(default=1, ge=0, le=1000, strict=True)
    max_size: int = Field(default=6, ge=1, le=1000, strict=True)
    desired_size: Optional[int] = Field(default=None, ge=0, le=1000, strict=True)
    disk_size_gib: int = Field(default=128, ge=30, le=2048, strict=True, alias="diskSizeGiB")


class AksRegistryConfig(Section):
    name: Optional[RegistryName] = None
    sku: Literal["Standard", "Premium"] = "Premium"


class AksObjectStoreConfig(Section):
    """The storage account and blob container for backups and model sources."""

    account_name: Optional[StorageAccountName] = None
    container: ContainerName = "platform"
    replication: Literal["LRS", "ZRS", "GRS", "GZRS"] = "ZRS"
    soft_delete_days: int = Field(default=14, ge=1, le=365, strict=True)
    allowed_ip_ranges: list[IpRange] = []


class AksConfig(Section):
    location: str
    subscription_id: Optional[Guid] = None
    cluster_name: Optional[ClusterName] = None
    dns_prefix: Optional[DnsPrefix] = None
    resource_group: Optional[ResourceGroupName] = None
    existing_resource_group: Optional[ResourceGroupName] = None
    node_resource_group: Optional[ResourceGroupName] = None
    sku_tier: Literal["Free", "Standard", "Premium"] = "Standard"
    # The minor version is pinned by cluster.kubernetesVersion: patch releases only, or nothing.
    upgrade_channel: Literal["patch", "none"] = "patch"
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch", "Unmanaged", "None"] = "NodeImage"
    zones: list[str] = ["1", "2", "3"]
    private_cluster: bool = False
    authorized_ip_ranges: list[IpRange] = []
    entra_id: Optional[AksEntraIdConfig] = None
    disable_local_accounts: bool = False
    kubelogin_mode: Literal["azurecli", "workloadidentity", "msi", "devicecode"] = "azurecli"
    encryption_at_host: bool = False
    network: AksNetworkConfig = AksNetworkConfig()
    user_pool: AksUserPoolConfig = AksUserPoolConfig()
    registry: AksRegistryConfig = AksRegistryConfig()
    object_store: AksObjectStoreConfig = AksObjectStoreConfig()
    tags: dict[str, str] = {}
