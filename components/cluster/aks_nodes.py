"""AksNodePools: the AKS agent pools besides the system pool.

Creates, each as its own ``AgentPool`` resource:
- the CPU user pool (``user``) where platform workloads run, since the system pool admits
  critical add-ons only;
- one GPU pool per ``gpuPools`` entry, named like the pool: the AKS GPU driver is skipped
  (``gpuProfile.driver: None``) so the GPU Operator installs driver and toolkit; the pool's
  taints (GPU taint, and AKS's spot taint on spot pools) and labels (pool selector,
  GPU Operator sharing config, platform labels); autoscaling between minSize and maxSize;
  spot VMs by setting (evicted VMs deleted, paying up to the on-demand price).

Separate resources rather than profiles inside the cluster: a pool can then be added, changed
or removed on its own, without a managed-cluster update that touches every pool (AKS rejects
adding pools through the cluster resource). The node count is the autoscaler's after creation,
so ``count`` is ignored on updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import containerservice as cs

from components.cluster.aks_specs import CpuPool, gpu_node_labels, initial_count, taint_string
from components.cluster.info import GpuPool

# Spot price cap meaning "up to the on-demand price": nodes are evicted for capacity, never price.
SPOT_MAX_PRICE_ON_DEMAND = -1.0


@dataclass(frozen=True)
class AksNodePoolsArgs:
    provider: pulumi.ProviderResource
    resource_group: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    kubernetes_version: str
    node_subnet_id: pulumi.Input[str]
    zones: tuple[str, ...]
    user_pool: CpuPool
    gpu_pools: tuple[GpuPool, ...]
    encryption_at_host: bool
    tags: dict[str, str]


class AksNodePools(pulumi.ComponentResource):
    pools: dict[str, cs.AgentPool]

    def __init__(self, name: str, args: AksNodePoolsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:AksNodePools", name, None, opts)
        self._args = args
        self.pools = {args.user_pool.name: self._user_pool(name, args.user_pool)}
        for pool in args.gpu_pools:
            self.pools[pool.name] = self._gpu_pool(name, pool)
        self.register_outputs({"pools": list(self.pools)})

    def _opts(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._args.provider, ignore_changes=["count"])

    def _common(self) -> dict:
        a = self._args
        return dict(
            resource_group_name=a.resource_group,
            resource_name_=a.cluster_name,
            mode=cs.AgentPoolMode.USER,
            type=cs.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
            os_type=cs.OSType.LINUX,
            os_sku=cs.OSSKU.UBUNTU,
            orchestrator_version=a.kubernetes_version,
            vnet_subnet_id=a.node_subnet_id,
            enable_auto_scaling=True,
            enable_encryption_at_host=a.encryption_at_host,
            os_disk_type=cs.OSDiskType.MANAGED,
            tags=a.tags,
        )

    def _user_pool(self, name: str, pool: CpuPool) -> cs.AgentPool:
        return cs.AgentPool(
            f"{name}-{pool.name}",
            agent_pool_name=pool.name,
            vm_size=pool.vm_size,
            count=initial_count(pool.min_size, pool.desired_size),
            min_count=pool.min_size,
            max_count=pool.max_size,
            os_disk_size_gb=pool.disk_size_gib,
            availability_zones=list(self._args.zones),
            **self._common(),
            opts=self._opts(),
        )

    def _gpu_pool(self, name: str, pool: GpuPool) -> cs.AgentPool:
        # AKS rejects upgrade settings with a max surge on spot pools ("Spot pools can't set max
        # surge"); it upgrades them without surge nodes anyway.
        spot = dict(
            scale_set_priority=cs.ScaleSetPriority.SPOT,
            scale_set_eviction_policy=cs.ScaleSetEvictionPolicy.DELETE,
            spot_max_price=SPOT_MAX_PRICE_ON_DEMAND,
        ) if pool.spot else dict(
            scale_set_priority=cs.ScaleSetPriority.REGULAR,
            # GPU quota is usually sized to the pool: replace nodes one at a time in place
            # rather than surging extra GPU VMs the subscription may not have.
            upgrade_settings=cs.AgentPoolUpgradeSettingsArgs(max_surge="0", max_unavailable="1"),
        )
        return cs.AgentPool(
            f"{name}-{pool.name}",
            agent_pool_name=pool.name,
            vm_size=pool.instance_type,
            count=initial_count(pool.min_size, pool.desired_size),
            min_count=pool.min_size,
            max_count=pool.max_size,
            os_disk_size_gb=pool.disk_size_gib,
            availability_zones=list(pool.zones) or None,
            node_labels=gpu_node_labels(pool),
            node_taints=[taint_string(t) for t in pool.taints],
            gpu_profile=cs.GPUProfileArgs(driver=cs.GPUDriver.NONE),
            **spot,
            **self._common(),
            opts=self._opts(),
        )
