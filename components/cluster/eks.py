"""EksCluster: an EKS cluster with its network, nodes, add-ons, storage and identities.

Creates:
- the explicit AWS provider (region, optional profile, default tags) every AWS resource uses;
- the network (EksNetwork: VPC across the zones, or an adopted one);
- two KMS keys with rotation on (protected with the stack): one for the envelope encryption
  of Kubernetes secrets, one for the platform's data (EFS, S3, ECR);
- the cluster IAM role, the control-plane log group (retention by setting), and the cluster:
  pinned Kubernetes version, API authentication mode, secrets encryption, public and/or
  private endpoint (public CIDRs), control-plane logs, support policy, no self-managed
  add-ons (the managed ones replace them); protected and deletion-protected with the stack;
- an access entry with AmazonEKSClusterAdminPolicy (cluster scope) per admin principal;
- with IRSA, the cluster's IAM OIDC provider;
- the add-ons (EksAddons): vpc-cni, kube-proxy and the Pod Identity agent before the nodes;
  coredns, EBS CSI and EFS CSI once the system pool is up;
- the node IAM role and the node groups (EksNodePool): the CPU system pool and one per GPU
  pool (accelerated AMI, GPU taint, pool and GPU Operator labels);
- unless turned off, the cluster autoscaler (EksClusterAutoscaler) with its IAM role, the
  auto-discovery tags on every node group's Auto Scaling group and, on GPU pools, the
  node-template tags (labels, taints, GPUs) it needs to scale a pool up from zero, plus the
  accelerator label it recognises GPU nodes by;
- the platform bucket and image repository (EksArtifactStores), the workload identities
  (EksWorkloadIdentities) and the storage classes with their EFS file system (EksStorage);
- the kubeconfig (``aws eks get-token``) and the Kubernetes provider built from it.

Exposes ``info`` (ClusterInfo) for the layers above.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.eks_addons import EksAddons, EksAddonsArgs
from components.cluster.eks_autoscaler import EksClusterAutoscaler, EksClusterAutoscalerArgs
from components.cluster.eks_autoscaler_specs import (
    AsgTag,
    ClusterAutoscalerSettings,
    accelerator_label,
    advertised_gpus,
    chart_version,
    discovery_tags,
    node_template_tags,
)
from components.cluster.eks_iam import OidcIssuer, child, role
from components.cluster.eks_identity import EksWorkloadIdentities, EksWorkloadIdentitiesArgs
from components.cluster.eks_network import EksNetwork, EksNetworkArgs
from components.cluster.eks_nodes import EksNodePool, EksNodePoolArgs
from components.cluster.eks_specs import (
    GPU_AMI_TYPES,
    NETWORK_ADDONS,
    STS_AUDIENCE,
    SYSTEM_AMI_TYPE,
    SYSTEM_POOL_LABEL,
    WORKLOAD_ADDONS,
    WorkloadIdentityMode,
    access_policy_arn,
    kubeconfig,
    secrets_key_policy,
    service_trust,
)
from components.cluster.eks_storage import EksStorage, EksStorageArgs
from components.cluster.eks_stores import EksArtifactStores, EksArtifactStoresArgs
from components.cluster.info import ClusterInfo, GpuPool, IdentityRequest, ObjectStore, SystemPool
from components.platform.gpu_operator_values import platform_node_labels

KEY_DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class EksNetworkSettings:
    vpc_cidr: str = "10.0.0.0/16"
    private_cidrs: tuple[str, ...] = ()
    public_cidrs: tuple[str, ...] = ()
    nat_gateways: Literal["one-per-zone", "single"] = "one-per-zone"
    existing_vpc_id: Optional[str] = None
    existing_private_subnet_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class EksEndpointSettings:
    public: bool = True
    private: bool = True
    public_access_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class EksClusterArgs:
    cluster_name: str
    region: str
    kubernetes_version: str
    zones: tuple[str, ...]
    system_pool: SystemPool
    gpu_pools: tuple[GpuPool, ...] = ()
    identities: tuple[IdentityRequest, ...] = ()
    network: EksNetworkSettings = EksNetworkSettings()
    endpoint: EksEndpointSettings = EksEndpointSettings()
    admin_principals: tuple[str, ...] = ()
    identity_mode: WorkloadIdentityMode = "pod-identity"
    gpu_ami_type: str = "AL2023_x86_64_NVIDIA"
    support_type: Literal["STANDARD", "EXTENDED"] = "STANDARD"
    control_plane_logs: tuple[str, ...] = ("api", "audit", "authenticator")
    log_retention_days: int = 90
    addon_versions: Mapping[str, str] = field(default_factory=dict)
    bucket_encryption: Literal["aws:kms", "AES256"] = "aws:kms"
    efs_throughput_mode: Literal["elastic", "bursting"] = "elastic"
    profile: Optional[str] = None
    tags: Mapping[str, str] = field(default_factory=dict)
    cluster_autoscaler: ClusterAutoscalerSettings = ClusterAutoscalerSettings()
    protect: bool = False


class EksCluster(pulumi.ComponentResource):
    info: ClusterInfo

    def __init__(self, name: str, args: EksClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:EksCluster", name, None, opts)
        cluster_name, region = args.cluster_name, args.region
        self.aws = aws.Provider(
            f"{name}-aws",
            region=region,
            profile=args.profile,
            default_tags=aws.ProviderDefaultTagsArgs(tags={"genai-platform/cluster": cluster_name, **args.tags}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        provider = self.aws
        net = args.network
        self.network = EksNetwork(f"{name}-network", EksNetworkArgs(
            provider=provider, cluster_name=cluster_name, zones=args.zones, vpc_cidr=net.vpc_cidr,
            private_cidrs=net.private_cidrs, public_cidrs=net.public_cidrs, nat_gateways=net.nat_gateways,
            existing_vpc_id=net.existing_vpc_id, existing_private_subnet_ids=net.existing_private_subnet_ids,
        ), opts=pulumi.ResourceOptions(parent=self))
        secrets_key = self._key(name, "secrets", f"{cluster_name}: envelope encryption of Kubernetes secrets", args)
        self.data_key = self._key(name, "data", f"{cluster_name}: platform data (EFS, S3, ECR)", args)
        self.cluster = self._cluster(name, args, secrets_key)
        admins = self._admins(name, args)
        oidc = self._oidc(name) if args.identity_mode == "irsa" else None

        addon_args = dict(provider=provider, region=region, cluster_name=cluster_name, cluster=self.cluster.name,
                          kubernetes_version=args.kubernetes_version, identity_mode=args.identity_mode,
                          versions=args.addon_versions, oidc=oidc)
        network_addons = EksAddons(f"{name}-network-addons", EksAddonsArgs(addons=NETWORK_ADDONS, **addon_args),
                                   opts=pulumi.ResourceOptions(parent=self))
        node_role, node_policies = role(
            f"{name}-node-role", json.dumps(service_trust("ec2.amazonaws.com")), self, provider, region,
            # The CNI's permissions go to its own role (add-on identity), not to every node.
            ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"),
            description=f"Nodes of EKS cluster {cluster_name}",
        )
        before_nodes = (*network_addons.addons.values(), *node_policies)
        system = self._system_pool(name, args, node_role, before_nodes)
        gpu_platform = GPU_AMI_TYPES[args.gpu_ami_type]
        self.gpu_pools = [self._gpu_pool(name, args, pool, node_role, before_nodes, gpu_platform)
                          for pool in args.gpu_pools]
        addons = EksAddons(f"{name}-addons", EksAddonsArgs(
            addons=WORKLOAD_ADDONS, depends_on=(system.node_group,), **addon_args),
            opts=pulumi.ResourceOptions(parent=self))

        stores = EksArtifactStores(f"{name}-stores", EksArtifactStoresArgs(
            provider=provider, cluster_name=cluster_name, kms_key_arn=self.data_key.arn,
            bucket_encryption=args.bucket_encryption, protect=args.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        identities = EksWorkloadIdentities(f"{name}-identities", EksWorkloadIdentitiesArgs(
            provider=provider, region=region, cluster_name=cluster_name, cluster=self.cluster.name,
            requests=args.identities, bucket_arn=stores.bucket.arn, bucket_key_arn=stores.key_arn,
            mode=args.identity_mode, oidc=oidc, depends_on=(network_addons.addons["eks-pod-identity-agent"],),
        ), opts=pulumi.ResourceOptions(parent=self))

        ca = self.cluster.certificate_authority.apply(lambda c: c.data or "")
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(self.cluster.endpoint, ca).apply(
            lambda v: kubeconfig(cluster_name, v[0], v[1], region, args.profile)))
        self.k8s = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Server-side apply lets co-owned objects merge instead of fighting over whole objects.
            enable_server_side_apply=True,
            # Kubernetes objects wait until the cluster can run them: nodes, DNS, CSI drivers, admins.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[
                system.node_group, *addons.addons.values(), *admins]),
        )
        if args.cluster_autoscaler.enabled:
            EksClusterAutoscaler(f"{name}-autoscaler", EksClusterAutoscalerArgs(
                provider=provider, k8s_provider=self.k8s, region=region, cluster_name=cluster_name,
                cluster=self.cluster.name,
                chart_version=chart_version(args.cluster_autoscaler, args.kubernetes_version),
                settings=args.cluster_autoscaler, identity_mode=args.identity_mode, oidc=oidc,
                depends_on=(network_addons.addons["eks-pod-identity-agent"],),
            ), opts=pulumi.ResourceOptions(parent=self))
        storage = EksStorage(f"{name}-storage", EksStorageArgs(
            provider=provider, k8s_provider=self.k8s, cluster_name=cluster_name, vpc_id=self.network.vpc_id,
            vpc_cidr=self.network.vpc_cidr, private_subnet_ids=self.network.private_subnet_ids,
            kms_key_arn=self.data_key.arn, throughput_mode=args.efs_throughput_mode, protect=args.protect,
            ebs_driver=addons.addons["aws-ebs-csi-driver"], efs_driver=addons.addons["aws-efs-csi-driver"],
        ), opts=pulumi.ResourceOptions(parent=self))

        self.info = ClusterInfo(
            kind="eks",
            name=cluster_name,
            provider=self.k8s,
            kubernetes_version=args.kubernetes_version,
            gpu_pools=args.gpu_pools,
            storage=storage.classes,
            protect=args.protect,
            gpu_platform=gpu_platform,
            identities=identities.identities,
            object_store=ObjectStore(kind="s3", bucket=stores.bucket.bucket, region=region),
            registry=stores.repository.repository_url,
            zones=args.zones,
            kubeconfig=self.kubeconfig,
        )
        self.register_outputs({
            "clusterName": self.cluster.name,
            "endpoint": self.cluster.endpoint,
            "kubernetesVersion": args.kubernetes_version,
            "gpuPools": [p.name for p in args.gpu_pools],
            "bucket": stores.bucket.bucket,
            "registry": stores.repository.repository_url,
        })

    def _key(self, name: str, purpose: str, description: str, args: EksClusterArgs) -> aws.kms.Key:
        key = aws.kms.Key(
            f"{name}-{purpose}-key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            opts=child(self, self.aws, protect=args.protect),
        )
        aws.kms.Alias(f"{name}-{purpose}-key", name=f"alias/{args.cluster_name}-{purpose}", target_key_id=key.key_id,
                      opts=child(self, self.aws))
        return key

    def _cluster(self, name: str, args: EksClusterArgs, secrets_key: aws.kms.Key) -> aws.eks.Cluster:
        provider = self.aws
        cluster_role, policies = role(
            f"{name}-cluster-role", json.dumps(service_trust("eks.amazonaws.com")), self, provider, args.region,
            ("AmazonEKSClusterPolicy",), description=f"Control plane of EKS cluster {args.cluster_name}")
        key_access = aws.iam.RolePolicy(
            f"{name}-cluster-role-secrets-key",
            role=cluster_role.id,
            policy=secrets_key.arn.apply(lambda arn: json.dumps(secrets_key_policy(arn))),
            opts=child(self, provider),
        )
        depends: list[pulumi.Resource] = [*policies, key_access]
        if args.control_plane_logs:
            # Created before the cluster so EKS writes into a group with our retention instead of
            # creating one that keeps logs forever.
            depends.append(aws.cloudwatch.LogGroup(
                f"{name}-control-plane-logs",
                name=f"/aws/eks/{args.cluster_name}/cluster",
                retention_in_days=args.log_retention_days,
                opts=child(self, provider),
            ))
        ep = args.endpoint
        # Unset CIDRs leave EKS's default (0.0.0.0/0) for a public endpoint.
        public_cidrs = list(ep.public_access_cidrs) if ep.public and ep.public_access_cidrs else None
        return aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=self.network.private_subnet_ids,
                endpoint_public_access=ep.public,
                endpoint_private_access=ep.private,
                public_access_cidrs=public_cidrs,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # The identity running `pulumi up` keeps admin access, or the Kubernetes
                # provider could not create anything in the new cluster.
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(args.control_plane_logs),
            bootstrap_self_managed_addons=False,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=args.support_type),
            deletion_protection=args.protect,
            opts=child(self, provider, protect=args.protect, depends_on=depends),
        )

    def _admins(self, name: str, args: EksClusterArgs) -> list[pulumi.Resource]:
        out: list[pulumi.Resource] = []
        for i, principal in enumerate(args.admin_principals):
            entry = aws.eks.AccessEntry(f"{name}-admin-{i}", cluster_name=self.cluster.name, principal_arn=principal,
                                        type="STANDARD", opts=child(self, self.aws))
            out.append(aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=self.cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=access_policy_arn(args.region),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child(self, self.aws),
            ))
        return out

    def _oidc(self, name: str) -> OidcIssuer:
        issuer = self.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer or "")
        oidc = aws.iam.OpenIdConnectProvider(f"{name}-oidc", url=issuer, client_id_lists=[STS_AUDIENCE],
                                             opts=child(self, self.aws))
        return OidcIssuer(provider_arn=oidc.arn, issuer_url=issuer)

    def _system_pool(self, name: str, args: EksClusterArgs, node_role: aws.iam.Role,
                     before: tuple[pulumi.Resource, ...]) -> EksNodePool:
        pool = args.system_pool
        return EksNodePool(f"{name}-system", EksNodePoolArgs(
            provider=self.aws, display_name=f"{args.cluster_name}-system", cluster_name=self.cluster.name,
            kubernetes_version=args.kubernetes_version,
            node_role_arn=node_role.arn, subnet_ids=self.network.private_subnet_ids, ami_type=SYSTEM_AMI_TYPE,
            instance_types=(pool.instance_type,), min_size=pool.min_size, max_size=pool.max_size,
            desired_size=pool.desired_size, spot=pool.spot, disk_size_gib=pool.disk_size_gib,
            labels={SYSTEM_POOL_LABEL: "system"}, asg_tags=self._discovery_tags(args), depends_on=before,
        ), opts=pulumi.ResourceOptions(parent=self))

    @staticmethod
    def _discovery_tags(args: EksClusterArgs) -> tuple[AsgTag, ...]:
        return tuple(discovery_tags(args.cluster_name)) if args.cluster_autoscaler.enabled else ()

    def _gpu_pool(self, name: str, args: EksClusterArgs, pool: GpuPool, node_role: aws.iam.Role,
                  before: tuple[pulumi.Resource, ...], gpu_platform: str) -> EksNodePool:
        labels = pool.node_labels(platform_node_labels(gpu_platform))  # type: ignore[arg-type]
        asg_tags = self._discovery_tags(args)
        if args.cluster_autoscaler.enabled:
            labels.update(accelerator_label(pool.gpu_model))
            asg_tags += tuple(node_template_tags(labels, pool.taints, advertised_gpus(pool)))
        return EksNodePool(f"{name}-gpu-{pool.name}", EksNodePoolArgs(
            provider=self.aws, display_name=f"{args.cluster_name}-{pool.name}", cluster_name=self.cluster.name,
            kubernetes_version=args.kubernetes_version,
            node_role_arn=node_role.arn, subnet_ids=self.network.subnets_in(pool.zones), ami_type=args.gpu_ami_type,
            instance_types=(pool.instance_type or "",), min_size=pool.min_size, max_size=pool.max_size,
            desired_size=pool.desired_size, spot=pool.spot, disk_size_gib=pool.disk_size_gib,
            labels=labels, taints=pool.taints, tags={"genai-platform/gpu-pool": pool.name}, asg_tags=asg_tags,
            depends_on=before,
        ), opts=pulumi.ResourceOptions(parent=self))
