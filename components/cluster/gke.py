"""GkeCluster: a GKE Standard cluster for the platform, with its network, pools and storage.

Creates:
- the explicit ``gcp`` provider (project, region, labels on everything it creates);
- by setting, the Google APIs the cluster needs (left enabled on destroy: other things in
  the project may use them);
- the VPC (GkeNetwork), the Artifact Registry repository and platform bucket (GkeArtifacts),
  the node service account (GkeNodeAccount) and, by setting, the KMS key for Secrets
  (GkeSecretsKey);
- the cluster: regional or zonal, release channel with ``min_master_version`` pinned to the
  stack's Kubernetes minor, Workload Identity, Dataplane V2 (network policy enforced), the PD,
  Filestore and GCS FUSE CSI drivers, private nodes / private endpoint / authorized networks
  by setting, its default node pool removed, deletion protection following ``protect``;
- the system and GPU node pools (GkeNodePools);
- the kubeconfig (``gke-gcloud-auth-plugin``, secret) and the Kubernetes provider;
- Workload Identity bindings for the layers' service accounts (GkeWorkloadIdentity) and the
  platform's storage classes (GkeStorageClasses).

Exposes ``info`` (ClusterInfo) for the layers above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.cluster.gke_artifacts import GkeArtifacts, GkeArtifactsArgs
from components.cluster.gke_identity import GkeWorkloadIdentity, GkeWorkloadIdentityArgs
from components.cluster.gke_network import PODS_RANGE, SERVICES_RANGE, GkeNetwork, GkeNetworkArgs
from components.cluster.gke_node_account import GkeNodeAccount, GkeNodeAccountArgs
from components.cluster.gke_nodes import GkeNodePools, GkeNodePoolsArgs
from components.cluster.gke_secrets_key import GkeSecretsKey, GkeSecretsKeyArgs
from components.cluster.gke_specs import (
    CLOUD_PLATFORM_SCOPE,
    Locations,
    apis,
    context_name,
    kubeconfig,
    resource_labels,
    workload_pool,
)
from components.cluster.gke_storage import GkeStorageClasses, GkeStorageClassesArgs
from components.cluster.info import (
    ClusterInfo,
    GpuPool,
    IdentityRequest,
    ObjectStore,
    StorageClasses,
    SystemPool,
)


@dataclass(frozen=True)
class GkeNetworkSettings:
    subnet_cidr: str
    pods_cidr: str
    services_cidr: str
    master_cidr: str
    private_nodes: bool = True
    private_endpoint: bool = False
    # (CIDR, display name) pairs allowed to reach the control plane; empty: no restriction.
    authorized_networks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GkeClusterArgs:
    project: str
    cluster_name: str
    locations: Locations
    kubernetes_version: str
    release_channel: str
    network: GkeNetworkSettings
    system_pool: SystemPool
    gpu_pools: tuple[GpuPool, ...]
    identities: tuple[IdentityRequest, ...]
    bucket_name: str
    repository_id: str
    gpu_driver_version: str = "DEFAULT"
    enable_apis: bool = True
    secrets_encryption: bool = True
    filestore_tier: str = "standard"
    protect: bool = False


class GkeCluster(pulumi.ComponentResource):
    info: ClusterInfo

    def __init__(self, name: str, args: GkeClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:GkeCluster", name, None, opts)
        loc, cname = args.locations, args.cluster_name
        self.gcp_provider = gcp.Provider(
            f"{name}-gcp", project=args.project, region=loc.region,
            default_labels=dict(resource_labels(cname)), opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.gcp_provider)
        services = [
            gcp.projects.Service(
                f"{name}-api-{svc.split('.', 1)[0]}", project=args.project, service=svc,
                # Other workloads of the project may depend on the API; never switch it off.
                disable_on_destroy=False, opts=child)
            for svc in apis(args.secrets_encryption)
        ] if args.enable_apis else []
        after_apis = tuple(services)
        network_name = f"{cname}-vpc"
        node_tag = f"{cname}-node"
        net = args.network
        network = GkeNetwork(f"{name}-network", GkeNetworkArgs(
            provider=self.gcp_provider, project=args.project, region=loc.region, network_name=network_name,
            subnet_cidr=net.subnet_cidr, pods_cidr=net.pods_cidr, services_cidr=net.services_cidr,
            private_nodes=net.private_nodes, master_cidr=net.master_cidr, node_tag=node_tag, depends_on=after_apis,
        ), opts=pulumi.ResourceOptions(parent=self))
        artifacts = GkeArtifacts(f"{name}-artifacts", GkeArtifactsArgs(
            provider=self.gcp_provider, project=args.project, region=loc.region, repository_id=args.repository_id,
            bucket_name=args.bucket_name, protect=args.protect, labels=resource_labels(cname), depends_on=after_apis,
        ), opts=pulumi.ResourceOptions(parent=self))
        nodes_account = GkeNodeAccount(f"{name}-node-account", GkeNodeAccountArgs(
            provider=self.gcp_provider, project=args.project, cluster_name=cname,
            repository=artifacts.repository, depends_on=after_apis,
        ), opts=pulumi.ResourceOptions(parent=self))
        cluster_deps: list[pulumi.Resource] = [*nodes_account.grants]
        encryption = None
        if args.secrets_encryption:
            key = GkeSecretsKey(f"{name}-secrets-key", GkeSecretsKeyArgs(
                provider=self.gcp_provider, project=args.project, region=loc.region, key_ring_name=cname,
                protect=args.protect, depends_on=after_apis,
            ), opts=pulumi.ResourceOptions(parent=self))
            encryption = gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=key.key.id)
            cluster_deps.append(key.grant)

        self.cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=cname,
            project=args.project,
            location=loc.location,
            node_locations=loc.cluster_node_locations,
            network=network.network.id,
            subnetwork=network.subnet.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=PODS_RANGE, services_secondary_range_name=SERVICES_RANGE),
            # Node pools are separate resources; the default pool only exists while creating.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=nodes_account.account.email,
                oauth_scopes=[CLOUD_PLATFORM_SCOPE],
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True),
            ),
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel),
            min_master_version=args.kubernetes_version,
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=workload_pool(args.project)),
            # Dataplane V2 enforces NetworkPolicy itself (no Calico add-on).
            datapath_provider="ADVANCED_DATAPATH",
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gce_persistent_disk_csi_driver_config=gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(
                    enabled=True),
                gcp_filestore_csi_driver_config=gcp.container.ClusterAddonsConfigGcpFilestoreCsiDriverConfigArgs(
                    enabled=True),
                gcs_fuse_csi_driver_config=gcp.container.ClusterAddonsConfigGcsFuseCsiDriverConfigArgs(enabled=True),
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=net.private_endpoint,
                master_ipv4_cidr_block=net.master_cidr,
            ) if net.private_nodes else None,
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=cidr, display_name=label or None) for cidr, label in net.authorized_networks],
                gcp_public_cidrs_access_enabled=False,
            ) if net.authorized_networks else None,
            database_encryption=encryption,
            enable_shielded_nodes=True,
            deletion_protection=args.protect,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                protect=args.protect, depends_on=cluster_deps,
                # Only the short-lived default pool reads these; GKE reports the remaining
                # pools' settings there afterwards, which must not replace the cluster.
                ignore_changes=["nodeConfig", "initialNodeCount"])),
        )

        pools = GkeNodePools(f"{name}-pools", GkeNodePoolsArgs(
            provider=self.gcp_provider, project=args.project, cluster=self.cluster, location=loc.location,
            cluster_zones=loc.node_zones, system=args.system_pool, gpu_pools=args.gpu_pools,
            service_account=nodes_account.account.email, node_tag=node_tag,
            gpu_driver_version=args.gpu_driver_version,
        ), opts=pulumi.ResourceOptions(parent=self))

        context = context_name(args.project, loc.location, cname)
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            self.cluster.endpoint, self.cluster.master_auth.cluster_ca_certificate,
        ).apply(lambda v: kubeconfig(context, v[0], v[1])))
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # Helm releases need schedulable nodes, not just a control plane.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pools.system]),
        )

        identities = GkeWorkloadIdentity(f"{name}-workload-identity", GkeWorkloadIdentityArgs(
            provider=self.gcp_provider, project=args.project, cluster_name=cname, requests=args.identities,
            bucket=artifacts.bucket, cluster=self.cluster,
        ), opts=pulumi.ResourceOptions(parent=self))
        classes = GkeStorageClasses(f"{name}-storage", GkeStorageClassesArgs(
            provider=self.provider, network_name=network_name, filestore_tier=args.filestore_tier, protect=args.protect,
        ), opts=pulumi.ResourceOptions(parent=self))

        self.info = ClusterInfo(
            kind="gke",
            name=cname,
            provider=self.provider,
            kubernetes_version=args.kubernetes_version,
            gpu_pools=args.gpu_pools,
            storage=StorageClasses(rwo=classes.rwo, rwx=classes.rwx),
            protect=args.protect,
            gpu_platform="gke",
            identities=identities.workload_identities,
            object_store=ObjectStore(kind="gcs", bucket=artifacts.bucket.name, region=loc.region),
            registry=artifacts.registry_url,
            zones=loc.node_zones,
            kubeconfig=self.kubeconfig,
        )
        self.register_outputs({
            "kind": "gke",
            "cluster": self.cluster.name,
            "endpoint": self.cluster.endpoint,
            "kubernetesVersion": args.kubernetes_version,
            "gpuPools": [p.name for p in args.gpu_pools],
        })
