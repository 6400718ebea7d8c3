"""The gke target: maps `cluster.gke` and the shared cluster settings onto GkeCluster."""

from __future__ import annotations

from components.cluster.gke import GkeCluster, GkeClusterArgs, GkeNetworkSettings
from components.cluster.gke_specs import DEFAULT_SYSTEM_MACHINE_TYPE, Locations, default_bucket_name
from components.cluster.info import ClusterInfo, GpuPool, IdentityRequest
from infra.pools import system_pool
from infra.schema import PlatformConfig


def build(cfg: PlatformConfig, pools: tuple[GpuPool, ...], identities: tuple[IdentityRequest, ...]) -> ClusterInfo:
    gke = cfg.cluster.gke
    assert gke is not None  # the config checks require the section on this target
    system, net = cfg.cluster.system_pool, gke.network
    cluster = GkeCluster("cluster", GkeClusterArgs(
        project=gke.project,
        cluster_name=gke.name,
        locations=Locations(gke.region, gke.location_type, gke.zone, tuple(gke.zones)),
        kubernetes_version=cfg.cluster.kubernetes_version,
        release_channel=gke.release_channel,
        network=GkeNetworkSettings(
            subnet_cidr=net.subnet_cidr,
            pods_cidr=net.pods_cidr,
            services_cidr=net.services_cidr,
            master_cidr=net.master_cidr,
            private_nodes=net.private_nodes,
            private_endpoint=net.private_endpoint,
            authorized_networks=tuple((n.cidr_block, n.display_name) for n in net.master_authorized_networks),
        ),
        system_pool=system_pool(system, DEFAULT_SYSTEM_MACHINE_TYPE),
        gpu_pools=pools,
        identities=identities,
        bucket_name=gke.bucket_name or default_bucket_name(gke.project, gke.name),
        repository_id=gke.registry_name or gke.name,
        gpu_driver_version=gke.gpu_driver_version,
        enable_apis=gke.enable_apis,
        secrets_encryption=gke.secrets_encryption,
        filestore_tier=gke.filestore_tier,
        protect=cfg.protect,
    ))
    return cluster.info
