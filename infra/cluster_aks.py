"""The aks target: maps `cluster.aks`, `cluster.systemPool` and the GPU pools onto AksCluster.

The only module outside ``components/cluster/aks*.py`` that imports the Azure SDK (through
those components); ``infra/program.py`` imports it lazily, for aks stacks only.
"""

from __future__ import annotations

import pulumi

from components.cluster.aks import AksCluster, AksClusterArgs
from components.cluster.aks_specs import (
    SYSTEM_POOL,
    USER_POOL,
    AccessSettings,
    CpuPool,
    NetworkSettings,
    ObjectStoreSettings,
    RegistrySettings,
    tags,
    with_spot_taint,
)
from components.cluster.info import ClusterInfo, GpuPool, IdentityRequest
from infra.schema import PlatformConfig
from infra.schema_aks import DEFAULT_SYSTEM_VM_SIZE


def default_cluster_name(stack: str) -> str:
    return f"genai-{stack}"


def build(cfg: PlatformConfig, pools: tuple[GpuPool, ...], identities: tuple[IdentityRequest, ...]) -> ClusterInfo:
    aks = cfg.cluster.aks
    assert aks is not None, "checked by infra.checks"
    stack = pulumi.get_stack()
    name = aks.cluster_name or default_cluster_name(stack)
    system, user, net = cfg.cluster.system_pool, aks.user_pool, aks.network
    entra = aks.entra_id
    cluster = AksCluster("cluster", AksClusterArgs(
        cluster_name=name,
        location=aks.location,
        subscription_id=aks.subscription_id,
        resource_group=aks.existing_resource_group or aks.resource_group or f"{name}-rg",
        create_resource_group=aks.existing_resource_group is None,
        dns_prefix=aks.dns_prefix or name,
        node_resource_group=aks.node_resource_group,
        kubernetes_version=cfg.cluster.kubernetes_version,
        sku_tier=aks.sku_tier,
        upgrade_channel=aks.upgrade_channel,
        node_os_upgrade_channel=aks.node_os_upgrade_channel,
        zones=tuple(aks.zones),
        network=NetworkSettings(
            vnet_cidr=net.vnet_cidr,
            node_subnet_cidr=net.node_subnet_cidr,
            pod_cidr=net.pod_cidr,
            service_cidr=net.service_cidr,
            dns_service_ip=net.dns_service_ip,
            policy=net.policy,
        ),
        access=AccessSettings(
            private_cluster=aks.private_cluster,
            authorized_ip_ranges=tuple(aks.authorized_ip_ranges),
            entra_admin_group_ids=tuple(entra.admin_group_object_ids) if entra else None,
            azure_rbac=entra.azure_rbac if entra else False,
            tenant_id=entra.tenant_id if entra else None,
            disable_local_accounts=aks.disable_local_accounts,
            kubelogin_mode=aks.kubelogin_mode,
        ),
        system_pool=CpuPool(
            name=SYSTEM_POOL,
            vm_size=system.instance_type or DEFAULT_SYSTEM_VM_SIZE,
            min_size=system.min_size,
            max_size=system.max_size,
            desired_size=system.desired_size,
            disk_size_gib=system.disk_size_gib,
        ),
        user_pool=CpuPool(
            name=USER_POOL,
            vm_size=user.vm_size,
            min_size=user.min_size,
            max_size=user.max_size,
            desired_size=user.desired_size,
            disk_size_gib=user.disk_size_gib,
        ),
        # Spot pools carry AKS's spot taint; the layers above must tolerate it to use them.
        gpu_pools=tuple(with_spot_taint(p) for p in pools),
        identities=identities,
        registry=RegistrySettings(name=aks.registry.name, sku=aks.registry.sku),
        object_store=ObjectStoreSettings(
            account_name=aks.object_store.account_name,
            container=aks.object_store.container,
            replication=aks.object_store.replication,
            soft_delete_days=aks.object_store.soft_delete_days,
            allowed_ip_ranges=tuple(aks.object_store.allowed_ip_ranges),
        ),
        encryption_at_host=aks.encryption_at_host,
        protect=cfg.protect,
        tags=tags(stack, aks.tags),
    ))
    return cluster.info
