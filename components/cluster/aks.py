"""AksCluster: an Azure Kubernetes Service cluster with GPU pools, ready for the platform.

Creates:
- the explicit azure-native provider (location and, when set, subscription of the stack);
- the resource group (or adopts an existing one by name), protected with ``protect``;
- the network (``AksNetwork``: VNet and node subnet);
- the control-plane identity (user-assigned, so it can be granted Network Contributor on the
  node subnet before the cluster exists: AKS manages load balancers, the private endpoint and
  Azure Files network rules in that subnet from its first minute);
- the managed cluster, protected: pinned Kubernetes minor version with patch auto-upgrades (or
  none), Azure CNI overlay with Cilium, Calico or Azure network policy, OIDC issuer and
  workload identity, optional Entra ID with admin groups and local accounts disabled, optional
  private API server or authorized IP ranges, Azure Disk/Files CSI and the snapshot
  controller, and the system pool (``system``: CriticalAddonsOnly, zonal, autoscaled; its node
  count is the autoscaler's, so it is ignored on updates);
- the CPU user pool and the GPU pools (``AksNodePools``);
- the registry with AcrPull for the kubelet identity (``AksRegistry``);
- the storage account and blob container (``AksObjectStore``);
- the workload identities of the later layers (``AksWorkloadIdentities``);
- the Kubernetes provider, from the cluster's user kubeconfig (secret), and the platform's
  storage classes (``AksStorageClasses``).

Exposes ``info`` (ClusterInfo).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, managedidentity, resources
from pulumi_azure_native import containerservice as cs

from components.cluster.aks_identity import AksWorkloadIdentities, AksWorkloadIdentitiesArgs
from components.cluster.aks_network import AksNetwork, AksNetworkArgs
from components.cluster.aks_nodes import AksNodePools, AksNodePoolsArgs
from components.cluster.aks_object_store import AksObjectStore, AksObjectStoreArgs
from components.cluster.aks_registry import AksRegistry, AksRegistryArgs
from components.cluster.aks_roles import assign_role
from components.cluster.aks_specs import (
    CRITICAL_ADDONS_TAINT,
    GPU_PLATFORM,
    AccessSettings,
    CpuPool,
    NetworkSettings,
    ObjectStoreSettings,
    RegistrySettings,
    global_name,
    initial_count,
    user_kubeconfig,
)
from components.cluster.aks_storage_classes import AksStorageClasses, AksStorageClassesArgs
from components.cluster.info import ClusterInfo, GpuPool, IdentityRequest, ObjectStore, StorageClasses

# The system pool is the first (and only) profile inside the cluster resource.
SYSTEM_POOL_COUNT_PATH = "agentPoolProfiles[0].count"


@dataclass(frozen=True)
class AksClusterArgs:
    cluster_name: str
    location: str
    resource_group: str
    create_resource_group: bool
    dns_prefix: str
    kubernetes_version: str
    network: NetworkSettings
    access: AccessSettings
    system_pool: CpuPool
    user_pool: CpuPool
    gpu_pools: tuple[GpuPool, ...]
    identities: tuple[IdentityRequest, ...]
    registry: RegistrySettings
    object_store: ObjectStoreSettings
    zones: tuple[str, ...] = ("1", "2", "3")
    subscription_id: Optional[str] = None
    node_resource_group: Optional[str] = None
    sku_tier: Literal["Free", "Standard", "Premium"] = "Standard"
    upgrade_channel: Literal["patch", "none"] = "patch"
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch", "Unmanaged", "None"] = "NodeImage"
    encryption_at_host: bool = False
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class AksCluster(pulumi.ComponentResource):
    info: ClusterInfo

    def __init__(self, name: str, args: AksClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:AksCluster", name, None, opts)
        self._args = args
        tags = dict(args.tags)
        self.azure = azure_native.Provider(
            f"{name}-azure",
            location=args.location,
            subscription_id=args.subscription_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        azure = self.azure
        if args.create_resource_group:
            group = resources.ResourceGroup(
                f"{name}-rg",
                resource_group_name=args.resource_group,
                location=args.location,
                tags=tags,
                opts=self._opts(protect=args.protect),
            )
            rg: pulumi.Input[str] = group.name
        else:
            rg = args.resource_group
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self, provider=azure))

        net = AksNetwork(f"{name}-network", AksNetworkArgs(
            provider=azure, resource_group=rg, location=args.location, vnet_name=f"{args.cluster_name}-vnet",
            settings=args.network, tags=tags,
        ), opts=pulumi.ResourceOptions(parent=self))
        control_plane = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_name_=f"{args.cluster_name}-control-plane",
            resource_group_name=rg,
            location=args.location,
            tags=tags,
            opts=self._opts(),
        )
        subnet_role = assign_role(f"{name}-control-plane-network", net.node_subnet.id, control_plane.principal_id,
                                  "Network Contributor", parent=self, provider=azure)
        self.cluster = self._managed_cluster(name, rg, net.node_subnet.id, control_plane.id, subnet_role, tags)

        kubeconfig = self._kubeconfig(rg)
        nodes = AksNodePools(f"{name}-pools", AksNodePoolsArgs(
            provider=azure, resource_group=rg, cluster_name=self.cluster.name,
            kubernetes_version=args.kubernetes_version, node_subnet_id=net.node_subnet.id, zones=args.zones,
            user_pool=args.user_pool, gpu_pools=args.gpu_pools, encryption_at_host=args.encryption_at_host, tags=tags,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            # Server-side apply lets co-owned objects merge instead of fighting over whole objects.
            enable_server_side_apply=True,
            # Most platform pods run on the user pool (the system pool only admits add-ons).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[nodes]),
        )

        seed = client.subscription_id.apply(lambda s: f"{s}/{args.resource_group}/{args.cluster_name}")
        kubelet = self.cluster.identity_profile.apply(lambda p: p["kubeletidentity"].object_id)
        registry = AksRegistry(f"{name}-registry", AksRegistryArgs(
            provider=azure, resource_group=rg, location=args.location,
            registry_name=args.registry.name or seed.apply(lambda s: global_name(args.cluster_name, s, 50)),
            sku=args.registry.sku, kubelet_object_id=kubelet, protect=args.protect, tags=tags,
        ), opts=pulumi.ResourceOptions(parent=self))
        store = AksObjectStore(f"{name}-object-store", AksObjectStoreArgs(
            provider=azure, resource_group=rg, location=args.location,
            account_name=args.object_store.account_name or seed.apply(lambda s: global_name(args.cluster_name, s, 24)),
            node_subnet_id=net.node_subnet.id, settings=args.object_store, protect=args.protect, tags=tags,
        ), opts=pulumi.ResourceOptions(parent=self))
        identities = AksWorkloadIdentities(f"{name}-identities", AksWorkloadIdentitiesArgs(
            provider=azure, resource_group=rg, location=args.location, name_prefix=args.cluster_name,
            oidc_issuer_url=self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url),
            storage_account_id=store.account.id, requests=args.identities, tags=tags,
        ), opts=pulumi.ResourceOptions(parent=self))
        classes = AksStorageClasses(f"{name}-storage", AksStorageClassesArgs(provider=self.provider, protect=args.protect),
                                    opts=pulumi.ResourceOptions(parent=self))

        self.info = ClusterInfo(
            kind="aks",
            name=args.cluster_name,
            provider=self.provider,
            kubernetes_version=args.kubernetes_version,
            gpu_pools=args.gpu_pools,
            storage=StorageClasses(rwo=classes.rwo, rwx=classes.rwx),
            protect=args.protect,
            gpu_platform=GPU_PLATFORM,
            identities=identities.identities,
            object_store=ObjectStore(kind="azure-blob", bucket=store.container.name, region=args.location,
                                     account=store.account.name, endpoint=store.blob_endpoint),
            registry=registry.login_server,
            zones=args.zones,
            zone_labels=tuple(f"{args.location}-{z}" for z in args.zones),
            kubeconfig=kubeconfig,
        )
        self.register_outputs({
            "clusterName": self.cluster.name,
            "resourceGroup": rg,
            "oidcIssuerUrl": self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url),
            "registry": registry.login_server,
            "gpuPools": [p.name for p in args.gpu_pools],
        })

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self.azure, **kwargs)

    def _managed_cluster(self, name: str, rg: pulumi.Input[str], subnet_id: pulumi.Input[str],
                         identity_id: pulumi.Input[str], subnet_role: pulumi.Resource,
                         tags: dict[str, str]) -> cs.ManagedCluster:
        a = self._args
        access, net, system = a.access, a.network, a.system_pool
        return cs.ManagedCluster(
            f"{name}-aks",
            resource_name_=a.cluster_name,
            resource_group_name=rg,
            location=a.location,
            dns_prefix=a.dns_prefix,
            kubernetes_version=a.kubernetes_version,
            node_resource_group=a.node_resource_group,
            sku=cs.ManagedClusterSKUArgs(name=cs.ManagedClusterSKUName.BASE, tier=a.sku_tier),
            identity=cs.ManagedClusterIdentityArgs(type=cs.ResourceIdentityType.USER_ASSIGNED,
                                                   user_assigned_identities=[identity_id]),
            enable_rbac=True,
            aad_profile=cs.ManagedClusterAADProfileArgs(
                managed=True,
                enable_azure_rbac=access.azure_rbac,
                admin_group_object_ids=list(access.entra_admin_group_ids or ()),
                tenant_id=access.tenant_id,
            ) if access.entra_id else None,
            disable_local_accounts=access.disable_local_accounts,
            api_server_access_profile=cs.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=access.private_cluster,
                # "system": AKS creates and links the private DNS zone in the node resource group.
                private_dns_zone="system" if access.private_cluster else None,
                authorized_ip_ranges=list(access.authorized_ip_ranges) or None,
            ),
            network_profile=cs.ContainerServiceNetworkProfileArgs(
                network_plugin=cs.NetworkPlugin.AZURE,
                network_plugin_mode=cs.NetworkPluginMode.OVERLAY,
                network_policy=net.policy,
                # Cilium enforces policy in its own eBPF dataplane; Calico and Azure NPM sit on
                # Azure's.
                network_dataplane=cs.NetworkDataplane.CILIUM if net.policy == "cilium" else cs.NetworkDataplane.AZURE,
                pod_cidr=net.pod_cidr,
                service_cidr=net.service_cidr,
                dns_service_ip=net.dns_service_ip,
                load_balancer_sku=cs.LoadBalancerSku.STANDARD,
                outbound_type=cs.OutboundType.LOAD_BALANCER,
            ),
            oidc_issuer_profile=cs.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=cs.ManagedClusterSecurityProfileArgs(
                workload_identity=cs.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True)),
            auto_upgrade_profile=cs.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=a.upgrade_channel, node_os_upgrade_channel=a.node_os_upgrade_channel),
            storage_profile=cs.ManagedClusterStorageProfileArgs(
                disk_csi_driver=cs.ManagedClusterStorageProfileDiskCSIDriverArgs(enabled=True),
                file_csi_driver=cs.ManagedClusterStorageProfileFileCSIDriverArgs(enabled=True),
                snapshot_controller=cs.ManagedClusterStorageProfileSnapshotControllerArgs(enabled=True),
            ),
            agent_pool_profiles=[cs.ManagedClusterAgentPoolProfileArgs(
                name=system.name,
                mode=cs.AgentPoolMode.SYSTEM,
                type=cs.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
                os_type=cs.OSType.LINUX,
                os_sku=cs.OSSKU.UBUNTU,
                vm_size=system.vm_size,
                count=initial_count(system.min_size, system.desired_size),
                enable_auto_scaling=True,
                min_count=system.min_size,
                max_count=system.max_size,
                availability_zones=list(a.zones),
                node_taints=[CRITICAL_ADDONS_TAINT],
                os_disk_size_gb=system.disk_size_gib,
                os_disk_type=cs.OSDiskType.MANAGED,
                orchestrator_version=a.kubernetes_version,
                vnet_subnet_id=subnet_id,
                enable_encryption_at_host=a.encryption_at_host,
            )],
            tags=tags,
            opts=self._opts(protect=a.protect, depends_on=[subnet_role],
                            ignore_changes=[SYSTEM_POOL_COUNT_PATH]),
        )

    def _kubeconfig(self, rg: pulumi.Input[str]) -> pulumi.Output[str]:
        """The user kubeconfig (secret); Entra ID clusters get kubelogin in the chosen mode."""
        access = self._args.access
        creds = cs.list_managed_cluster_user_credentials_output(
            resource_group_name=rg,
            resource_name=self.cluster.name,
            # Entra ID clusters only: an exec-plugin kubeconfig that runs kubelogin.
            format="exec" if access.entra_id else None,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self.azure),
        )
        mode = access.kubelogin_mode if access.entra_id else None
        return pulumi.Output.secret(creds.apply(lambda c: user_kubeconfig(c.kubeconfigs[0].value, mode)))
