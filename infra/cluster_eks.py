"""The eks target: maps `cluster.eks` and the shared cluster settings onto EksCluster's args.

Imported lazily by ``infra/program.build_cluster`` so that only EKS stacks load the AWS SDK.
"""

from __future__ import annotations

import pulumi

from components.cluster.eks import EksCluster, EksClusterArgs, EksEndpointSettings, EksNetworkSettings
from components.cluster.eks_autoscaler_specs import ClusterAutoscalerSettings
from components.cluster.eks_specs import cluster_zones, default_subnet_cidrs
from components.cluster.info import ClusterInfo, GpuPool, IdentityRequest
from infra.pools import system_pool
from infra.schema import PlatformConfig
from infra.schema_eks import DEFAULT_SYSTEM_INSTANCE_TYPE, EksConfig


def cluster_name(eks: EksConfig, stack: str) -> str:
    return eks.name or f"genai-{stack}"


def network_settings(eks: EksConfig, zones: tuple[str, ...]) -> EksNetworkSettings:
    if eks.existing_vpc is not None:
        return EksNetworkSettings(existing_vpc_id=eks.existing_vpc.vpc_id,
                                  existing_private_subnet_ids=tuple(eks.existing_vpc.private_subnet_ids))
    net = eks.network
    private, public = default_subnet_cidrs(net.vpc_cidr, len(zones))
    return EksNetworkSettings(
        vpc_cidr=net.vpc_cidr,
        private_cidrs=tuple(net.private_subnet_cidrs or private),
        public_cidrs=tuple(net.public_subnet_cidrs or public),
        nat_gateways=net.nat_gateways,
    )


def cluster_args(cfg: PlatformConfig, pools: tuple[GpuPool, ...], identities: tuple[IdentityRequest, ...],
                 stack: str) -> EksClusterArgs:
    eks = cfg.cluster.eks
    assert eks is not None, "checked by infra.checks"
    system = cfg.cluster.system_pool
    # An adopted VPC's zones are whatever its subnets are in; only listed zones are reported.
    zones = tuple(eks.zones) if eks.existing_vpc is not None else cluster_zones(eks.region, eks.az_count, eks.zones)
    access = eks.endpoint.access
    ca = eks.cluster_autoscaler
    return EksClusterArgs(
        cluster_name=cluster_name(eks, stack),
        region=eks.region,
        profile=eks.profile,
        kubernetes_version=cfg.cluster.kubernetes_version,
        zones=zones,
        system_pool=system_pool(system, DEFAULT_SYSTEM_INSTANCE_TYPE),
        gpu_pools=pools,
        identities=identities,
        network=network_settings(eks, zones),
        endpoint=EksEndpointSettings(
            public=access in ("public", "public-and-private"),
            private=access in ("private", "public-and-private"),
            public_access_cidrs=tuple(eks.endpoint.public_access_cidrs),
        ),
        admin_principals=tuple(eks.admin_principals),
        identity_mode=eks.workload_identity,
        gpu_ami_type=eks.gpu_ami_type,
        support_type=eks.support_type,
        control_plane_logs=tuple(eks.control_plane_logs),
        log_retention_days=eks.log_retention_days,
        addon_versions=dict(eks.addon_versions),
        bucket_encryption=eks.bucket_encryption,
        efs_throughput_mode=eks.efs_throughput_mode,
        tags=dict(eks.tags),
        cluster_autoscaler=ClusterAutoscalerSettings(
            enabled=ca.enabled,
            chart_version=ca.chart_version,
            scale_down_unneeded_time=ca.scale_down_unneeded_time,
            scale_down_delay_after_add=ca.scale_down_delay_after_add,
        ),
        protect=cfg.protect,
    )


def build(cfg: PlatformConfig, pools: tuple[GpuPool, ...], identities: tuple[IdentityRequest, ...]) -> ClusterInfo:
    cluster = EksCluster("cluster", cluster_args(cfg, pools, identities, pulumi.get_stack()))
    return cluster.info
