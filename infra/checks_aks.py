"""Cross-field rules of the aks cluster target."""

from __future__ import annotations

import ipaddress
import re

from infra.schema import PlatformConfig
from infra.schema_aks import AksConfig, AksNetworkConfig

Problem = tuple[str, str]

AZURE_ZONES = ("1", "2", "3")
SYSTEM_POOL_NAME = "system"
USER_POOL_NAME = "user"
MAX_OS_DISK_GIB = 2048
_LOCATION = re.compile(r"^[a-z][a-z0-9]*$")
# Linux agent pool names: AKS accepts 1-12 lowercase letters and digits, starting with a letter.
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
# Ranges AKS keeps for itself; pod and service ranges must stay out of them.
AKS_RESERVED = tuple(ipaddress.ip_network(n) for n in
                     ("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24"))


def _location_problems(aks: AksConfig) -> list[Problem]:
    if _LOCATION.match(aks.location):
        return []
    hint = re.sub(r"[^a-z0-9]", "", aks.location.lower())
    return [("cluster.aks.location", "must be an Azure region's programmatic name (lowercase letters and digits, "
             f"e.g. 'eastus'); got {aks.location!r}" + (f"; did you mean {hint!r}?" if hint else ""))]


def _zone_problems(at: str, zones: list[str]) -> list[Problem]:
    bad = [z for z in zones if z not in AZURE_ZONES]
    if bad:
        return [(at, f"Azure availability zones are \"1\", \"2\" and \"3\" (quoted); got {', '.join(map(repr, bad))}")]
    if len(set(zones)) != len(zones):
        return [(at, "lists a zone twice")]
    return []


def _network_problems(net: AksNetworkConfig) -> list[Problem]:
    at = "cluster.aks.network"
    vnet = ipaddress.ip_network(net.vnet_cidr)
    nodes = ipaddress.ip_network(net.node_subnet_cidr)
    pods = ipaddress.ip_network(net.pod_cidr)
    services = ipaddress.ip_network(net.service_cidr)
    dns = ipaddress.ip_address(net.dns_service_ip)
    out: list[Problem] = []
    if not nodes.subnet_of(vnet):
        out.append((f"{at}.nodeSubnetCidr", f"{nodes} is not inside vnetCidr {vnet}"))
    # With Azure CNI overlay, pod and service ranges are virtual: they must not collide with the
    # VNet (or anything routed from it), nor with each other.
    if pods.overlaps(vnet):
        out.append((f"{at}.podCidr", f"{pods} overlaps vnetCidr {vnet}; the overlay pod range must lie outside the VNet"))
    if services.overlaps(vnet):
        out.append((f"{at}.serviceCidr", f"{services} overlaps vnetCidr {vnet}; the service range must lie outside the VNet"))
    if pods.overlaps(services):
        out.append((f"{at}.serviceCidr", f"{services} overlaps podCidr {pods}"))
    for key, net_ in (("podCidr", pods), ("serviceCidr", services)):
        reserved = next((r for r in AKS_RESERVED if net_.overlaps(r)), None)
        if reserved is not None:
            out.append((f"{at}.{key}", f"{net_} overlaps {reserved}, which AKS reserves"))
    if dns not in services:
        out.append((f"{at}.dnsServiceIp", f"{dns} is not inside serviceCidr {services}"))
    elif dns in (services.network_address, services.network_address + 1, services.broadcast_address):
        # .0 is the network, .1 the kubernetes Service's ClusterIP.
        out.append((f"{at}.dnsServiceIp", f"{dns} is reserved in serviceCidr {services}; use e.g. "
                    f"{services.network_address + 10}"))
    return out


def _access_problems(aks: AksConfig) -> list[Problem]:
    out: list[Problem] = []
    if aks.private_cluster and aks.authorized_ip_ranges:
        out.append(("cluster.aks.authorizedIpRanges", "only applies to a public API server; a private cluster "
                    "(privateCluster: true) is reached from its VNet, remove the ranges or the private setting"))
    if aks.disable_local_accounts and aks.entra_id is None:
        out.append(("cluster.aks.disableLocalAccounts", "true needs cluster.aks.entraId (adminGroupObjectIds): "
                    "without Entra ID and local accounts no one could sign in"))
    if "kubelogin_mode" in aks.model_fields_set and aks.entra_id is None:
        out.append(("cluster.aks.kubeloginMode", "only applies with cluster.aks.entraId (the kubeconfig uses "
                    "client certificates otherwise)"))
    for key in aks.tags:
        if not key or len(key) > 512 or any(c in key for c in '<>%&\\?/'):
            out.append((f"cluster.aks.tags.{key}", "Azure tag names are 1-512 characters without < > % & \\ ? /"))
    if aks.resource_group and aks.existing_resource_group:
        out.append(("cluster.aks.existingResourceGroup", "set either resourceGroup (created) or "
                    "existingResourceGroup (adopted), not both"))
    return out


def _pool_problems(cfg: PlatformConfig, aks: AksConfig) -> list[Problem]:
    out: list[Problem] = []
    system = cfg.cluster.system_pool
    if system.spot:
        out.append(("cluster.systemPool.spot", "AKS system pools cannot run on spot VMs; set it false "
                    "(GPU pools may use spot)"))
    if system.disk_size_gib > MAX_OS_DISK_GIB:
        out.append(("cluster.systemPool.diskSizeGiB", f"AKS OS disks are at most {MAX_OS_DISK_GIB} GiB"))
    user = aks.user_pool
    if user.min_size > user.max_size:
        out.append(("cluster.aks.userPool.minSize", f"{user.min_size} is above maxSize {user.max_size}"))
    if user.desired_size is not None and not user.min_size <= user.desired_size <= user.max_size:
        out.append(("cluster.aks.userPool.desiredSize",
                    f"must lie between minSize {user.min_size} and maxSize {user.max_size}"))
    out += _zone_problems("cluster.aks.zones", aks.zones)
    for i, pool in enumerate(cfg.gpu_pools):
        at = f"gpuPools[{i}]"
        if not _POOL_NAME.match(pool.name):
            out.append((f"{at}.name", "AKS agent pool names are 1-12 lowercase letters and digits starting with "
                        f"a letter; got {pool.name!r}"))
        elif pool.name in (SYSTEM_POOL_NAME, USER_POOL_NAME):
            out.append((f"{at}.name", f"{pool.name!r} is the platform's own CPU pool; choose another name"))
        if pool.disk_size_gib > MAX_OS_DISK_GIB:
            out.append((f"{at}.diskSizeGiB", f"AKS OS disks are at most {MAX_OS_DISK_GIB} GiB"))
        out += _zone_problems(f"{at}.zones", pool.zones)
    return out


def _operator_problems(cfg: PlatformConfig) -> list[Problem]:
    # AKS GPU pools are created without AKS's driver (gpuProfile.driver None): the operator
    # must install driver and container toolkit itself.
    op = cfg.gpu_operator
    return [(f"gpuOperator.{key}", "AKS GPU pools skip the AKS-installed driver, so the GPU Operator installs "
             "it: only 'managed' applies on the aks target")
            for key, value in (("driver", op.driver), ("toolkit", op.toolkit)) if value != "managed"]


def aks_problems(cfg: PlatformConfig) -> list[Problem]:
    """Problems in `cluster.aks` and in the GPU pools as the aks target sees them."""
    aks = cfg.cluster.aks
    if aks is None:
        return []
    return (_location_problems(aks)
            + _network_problems(aks.network)
            + _access_problems(aks)
            + _pool_problems(cfg, aks)
            + _operator_problems(cfg))
