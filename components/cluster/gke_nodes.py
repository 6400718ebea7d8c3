"""GkeNodePools: the CPU system pool and the GPU pools of a GKE cluster.

Creates:
- the ``system`` pool (CPU machines: system add-ons, downloads, databases, apps);
- one pool per GPU pool: the machine type's accelerators (``guest_accelerators`` with the
  catalog's accelerator type and count) with GKE installing the NVIDIA driver
  (``gpu_driver_installation_config``), the node label that turns GKE's device plugin off so
  the GPU Operator's runs instead, the pool's selector/operator labels and taints, spot by
  setting, image streaming, and GKE's metadata server for Workload Identity.

Every pool runs as the node service account, autoscales between the pool's minSize and
maxSize as totals over its zones (the platform's sizes mean nodes, whatever the zone count),
and ignores node-count changes made by the autoscaler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.cluster.gke_specs import (
    CLOUD_PLATFORM_SCOPE,
    SYSTEM_POOL,
    gke_taints,
    gpu_node_labels,
    per_zone_count,
    pool_zones,
    system_node_labels,
)
from components.cluster.info import GpuPool, SystemPool
from components.common.instances import lookup

# The autoscaler owns the node count; the initial count only matters at creation (and is
# immutable in GKE), so neither may show up as a diff or force a replacement.
IGNORED_NODE_COUNTS = ["nodeCount", "initialNodeCount"]


@dataclass(frozen=True)
class GkeNodePoolsArgs:
    provider: gcp.Provider
    project: str
    cluster: gcp.container.Cluster
    location: str
    cluster_zones: tuple[str, ...]
    system: SystemPool
    gpu_pools: tuple[GpuPool, ...]
    service_account: pulumi.Input[str]
    node_tag: str
    gpu_driver_version: str = "DEFAULT"


def _autoscaling(min_size: int, max_size: int, policy: str) -> gcp.container.NodePoolAutoscalingArgs:
    # Totals, not per-zone limits: GPU capacity differs per zone, and "ANY" lets the autoscaler
    # use whichever zone has machines (and reservations) instead of keeping zones balanced.
    return gcp.container.NodePoolAutoscalingArgs(
        total_min_node_count=min_size, total_max_node_count=max_size, location_policy=policy)


class GkeNodePools(pulumi.ComponentResource):
    system: gcp.container.NodePool
    gpu: dict[str, gcp.container.NodePool]

    def __init__(self, name: str, args: GkeNodePoolsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:GkeNodePools", name, None, opts)
        self._args = args
        self.system = self._system_pool(name)
        self.gpu = {pool.name: self._gpu_pool(name, pool) for pool in args.gpu_pools}
        self.register_outputs({"system": self.system.name, "gpu": [p.name for p in args.gpu_pools]})

    def _opts(self) -> pulumi.ResourceOptions:
        # Pool names are fixed (the platform's pool names), so a replacement must delete first.
        return pulumi.ResourceOptions(parent=self, provider=self._args.provider,
                                      ignore_changes=IGNORED_NODE_COUNTS, delete_before_replace=True)

    def _common_node_config(self) -> dict:
        return {
            "service_account": self._args.service_account,
            "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
            "workload_metadata_config": gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
            "tags": [self._args.node_tag],
            "metadata": {"disable-legacy-endpoints": "true"},
            "disk_type": "pd-balanced",
        }

    def _system_pool(self, name: str) -> gcp.container.NodePool:
        a, pool = self._args, self._args.system
        zones = a.cluster_zones
        return gcp.container.NodePool(
            f"{name}-{SYSTEM_POOL}",
            name=SYSTEM_POOL,
            project=a.project,
            cluster=a.cluster.name,
            location=a.location,
            node_locations=list(zones),
            initial_node_count=per_zone_count(pool.desired_size or pool.min_size, len(zones)),
            autoscaling=_autoscaling(pool.min_size, pool.max_size, "BALANCED"),
            ignore_node_count_changes=True,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(max_surge=1, max_unavailable=0),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=pool.instance_type,
                disk_size_gb=pool.disk_size_gib,
                image_type="COS_CONTAINERD",
                spot=pool.spot,
                labels=system_node_labels(),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True),
                **self._common_node_config(),
            ),
            opts=self._opts(),
        )

    def _gpu_pool(self, name: str, pool: GpuPool) -> gcp.container.NodePool:
        a = self._args
        instance = lookup("gcp", pool.instance_type or "")
        accelerator = instance.accelerator if instance else None
        zones = pool_zones(pool.zones, a.cluster_zones)
        return gcp.container.NodePool(
            f"{name}-gpu-{pool.name}",
            name=pool.name,
            project=a.project,
            cluster=a.cluster.name,
            location=a.location,
            node_locations=list(zones),
            initial_node_count=per_zone_count(pool.desired_size or pool.min_size, len(zones)),
            autoscaling=_autoscaling(pool.min_size, pool.max_size, "ANY"),
            ignore_node_count_changes=True,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            # A surge node needs spare GPU quota and capacity that is rarely there; upgrade in place.
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(max_surge=0, max_unavailable=1),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=pool.instance_type,
                disk_size_gb=pool.disk_size_gib,
                image_type="COS_CONTAINERD",
                spot=pool.spot,
                guest_accelerators=[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                    type=accelerator,
                    count=pool.gpus_per_node,
                    # GKE's installer puts the driver under /home/kubernetes/bin/nvidia, where the
                    # GPU Operator (driver.enabled=false) expects it.
                    gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                        gpu_driver_version=a.gpu_driver_version),
                )],
                labels=gpu_node_labels(pool),
                taints=[gcp.container.NodePoolNodeConfigTaintArgs(**t) for t in gke_taints(pool.taints)],
                # Image streaming: multi-GB serving images start before they are fully pulled.
                gcfs_config=gcp.container.NodePoolNodeConfigGcfsConfigArgs(enabled=True),
                # A3 machines require gVNIC; the others get its higher bandwidth for weights.
                gvnic=gcp.container.NodePoolNodeConfigGvnicArgs(enabled=True),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_integrity_monitoring=True),
                **self._common_node_config(),
            ),
            opts=self._opts(),
        )
