"""EKS target: what the dev and prod-aws stacks register, resource by resource.

Each test runs a real stack (or one with a few keys replaced) under the recording mocks and
reads the registrations: types, inputs, parents, providers, protect, dependencies and the
ignore-changes the engine would be told.
"""

from __future__ import annotations

import json

import pytest
from eks_support import cluster_with, of_type, one, pools_of

from infra.plan.mocks import Registration
from infra.plan.runner import ROOT, RunResult


def node_group(result: RunResult, pool: str) -> Registration:
    return one(result, "aws:eks/nodeGroup:NodeGroup", f"cluster-{pool}-ng")


def by_urn(result: RunResult) -> dict[str, Registration]:
    return {r.urn: r for r in result.monitor.registrations}


# --- provider, parents, protect ---

@pytest.mark.parametrize("stack", ["dev", "prod-aws"])
def test_every_aws_resource_uses_the_explicit_provider_and_sits_under_the_cluster(eks, stack):
    result = eks(stack)
    (provider,) = of_type(result, "pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    assert result.monitor.violations == []
    urns = by_urn(result)
    cluster = one(result, "genai:cluster:EksCluster", "cluster")
    aws = [r for r in result.monitor.registrations if r.type.startswith("aws:")]
    assert len(aws) > 50
    for r in aws:
        assert r.provider == provider.urn, r.urn
        node = r
        while node.parent != cluster.urn:
            assert node.parent in urns, r.urn
            node = urns[node.parent]


def test_prod_protects_every_stateful_resource(eks):
    result = eks("prod-aws")
    stateful = ["aws:eks/cluster:Cluster", "aws:kms/key:Key", "aws:efs/fileSystem:FileSystem",
                "aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"]
    for t in stateful:
        assert of_type(result, t) and all(r.protect for r in of_type(result, t)), t
    assert len(of_type(result, "aws:kms/key:Key")) == 2
    assert one(result, "aws:eks/cluster:Cluster", "cluster-eks").inputs["deletionProtection"] is True
    assert not one(result, "aws:ec2/vpc:Vpc", "cluster-network-vpc").protect
    assert one(result, "aws:s3/bucket:Bucket", "cluster-stores-bucket").inputs["forceDestroy"] is False


def test_dev_protects_nothing_and_can_be_destroyed(eks):
    result = eks("dev")
    assert not [r.urn for r in result.monitor.registrations if r.protect]
    assert one(result, "aws:s3/bucket:Bucket", "cluster-stores-bucket").inputs["forceDestroy"] is True
    assert one(result, "aws:ecr/repository:Repository", "cluster-stores-registry").inputs["forceDelete"] is True


# --- the cluster ---

def test_cluster_pins_version_api_auth_encryption_and_logs(eks):
    result = eks("prod-aws")
    c = one(result, "aws:eks/cluster:Cluster", "cluster-eks").inputs
    secrets_key = one(result, "aws:kms/key:Key", "cluster-secrets-key")
    assert c["name"] == "genai-prod" and c["version"] == "1.33"
    assert c["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    assert c["encryptionConfig"]["resources"] == ["secrets"]
    assert c["encryptionConfig"]["provider"]["keyArn"].endswith(f":key/{secrets_key.id}")
    assert c["bootstrapSelfManagedAddons"] is False
    assert c["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert c["upgradePolicy"] == {"supportType": "STANDARD"}
    assert all(k.inputs["enableKeyRotation"] is True for k in of_type(result, "aws:kms/key:Key"))
    logs = one(result, "aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane-logs")
    assert logs.inputs == {"name": "/aws/eks/genai-prod/cluster", "retentionInDays": 365}
    assert logs.urn in one(result, "aws:eks/cluster:Cluster", "cluster-eks").dependencies


def test_endpoint_private_in_prod_public_in_dev(eks):
    prod = one(eks("prod-aws"), "aws:eks/cluster:Cluster", "cluster-eks").inputs["vpcConfig"]
    assert (prod["endpointPublicAccess"], prod["endpointPrivateAccess"]) == (False, True)
    assert "publicAccessCidrs" not in prod
    dev = one(eks("dev"), "aws:eks/cluster:Cluster", "cluster-eks").inputs["vpcConfig"]
    assert (dev["endpointPublicAccess"], dev["endpointPrivateAccess"]) == (True, True)
    assert "publicAccessCidrs" not in dev
    narrowed = eks("dev", {"cluster": cluster_with("dev", endpoint={"access": "public",
                                                                      "publicAccessCidrs": ["203.0.113.0/24"]})})
    vpc = one(narrowed, "aws:eks/cluster:Cluster", "cluster-eks").inputs["vpcConfig"]
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert (vpc["endpointPublicAccess"], vpc["endpointPrivateAccess"]) == (True, False)


def test_admin_principals_get_access_entries_with_the_cluster_admin_policy(eks):
    result = eks("prod-aws")
    entries = of_type(result, "aws:eks/accessEntry:AccessEntry")
    assert sorted(e.inputs["principalArn"] for e in entries) == [
        "arn:aws:iam::123456789012:role/platform-admins", "arn:aws:iam::123456789012:role/sre-oncall"]
    assert all(e.inputs["type"] == "STANDARD" for e in entries)
    associations = of_type(result, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert len(associations) == 2
    for a in associations:
        assert a.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        assert a.inputs["accessScope"] == {"type": "cluster"}
    provider = one(result, "pulumi:providers:kubernetes", "cluster-k8s")
    assert {a.urn for a in associations} <= set(provider.dependencies)
    assert not of_type(eks("dev"), "aws:eks/accessEntry:AccessEntry")


def test_kubeconfig_uses_aws_eks_get_token_and_stays_secret(eks):
    result = eks("dev")
    provider = one(result, "pulumi:providers:kubernetes", "cluster-k8s")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert provider.inputs["enableServerSideApply"] == "true"
    assert result.monitor.stack_outputs["kubeconfig"] == "[secret]"
    # The provider waits for the nodes and the DNS and CSI add-ons before any Kubernetes object.
    system = node_group(result, "system")
    coredns = one(result, "aws:eks/addon:Addon", "cluster-addons-coredns")
    assert {system.urn, coredns.urn} <= set(provider.dependencies)


# --- network ---

def _routes_to_nat(result: RunResult) -> dict[str, str]:
    nats = {r.id: r.name for r in of_type(result, "aws:ec2/natGateway:NatGateway")}
    return {r.name: nats[r.inputs["natGatewayId"]] for r in of_type(result, "aws:ec2/route:Route")
            if "natGatewayId" in r.inputs}


def test_prod_vpc_has_a_nat_gateway_per_zone(eks):
    result = eks("prod-aws")
    assert len(of_type(result, "aws:ec2/natGateway:NatGateway")) == 3
    assert _routes_to_nat(result) == {f"cluster-network-private-us-east-1{z}-default": f"cluster-network-nat-us-east-1{z}"
                                      for z in "abc"}


def test_dev_vpc_shares_a_single_nat_gateway(eks):
    result = eks("dev")
    (nat,) = of_type(result, "aws:ec2/natGateway:NatGateway")
    assert set(_routes_to_nat(result).values()) == {nat.name} and len(_routes_to_nat(result)) == 3
    public = {r.id for r in of_type(result, "aws:ec2/subnet:Subnet") if "public" in r.name}
    assert nat.inputs["subnetId"] in public


def test_subnets_are_tagged_for_load_balancers_and_the_cluster(eks):
    result = eks("dev")
    subnets = of_type(result, "aws:ec2/subnet:Subnet")
    assert len(subnets) == 6
    for s in subnets:
        tags = s.inputs["tags"]
        assert tags["kubernetes.io/cluster/genai-dev"] == "shared"
        role = "kubernetes.io/role/elb" if "public" in s.name else "kubernetes.io/role/internal-elb"
        assert tags[role] == "1"
    private = sorted(s.inputs["cidrBlock"] for s in subnets if "private" in s.name)
    assert private == ["10.30.0.0/19", "10.30.32.0/19", "10.30.64.0/19"]
    vpc = one(result, "aws:ec2/vpc:Vpc", "cluster-network-vpc").inputs
    assert vpc["cidrBlock"] == "10.30.0.0/16" and vpc["enableDnsHostnames"] is True


def test_existing_vpc_is_adopted_and_pool_zones_pick_its_subnets(eks):
    subnets = ["subnet-0a1b2c3d4e5f60710", "subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60712"]
    cluster = cluster_with("dev", network=None, azCount=None,
                           existingVpc={"vpcId": "vpc-0a1b2c3d4e5f60718", "privateSubnetIds": subnets})
    pools = pools_of("dev")
    pools[0]["zones"] = ["us-east-1b"]  # the mock puts subnet ...1 in zone b
    result = eks("dev", {"cluster": cluster, "gpuPools": pools})
    assert not of_type(result, "aws:ec2/vpc:Vpc") and not of_type(result, "aws:ec2/subnet:Subnet")
    assert node_group(result, "gpu-l4").inputs["subnetIds"] == [subnets[1]]
    assert node_group(result, "system").inputs["subnetIds"] == subnets
    rule = one(result, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "cluster-storage-efs-nfs-from-vpc")
    assert rule.inputs["cidrIpv4"] == "10.20.0.0/16"  # read from the adopted VPC


# --- node groups ---

def test_gpu_pool_node_group(eks):
    result = eks("dev")
    ng = node_group(result, "gpu-l4")
    i = ng.inputs
    assert i["amiType"] == "AL2023_x86_64_NVIDIA"
    assert i["capacityType"] == "SPOT"
    assert i["instanceTypes"] == ["g6.12xlarge"]
    assert i["version"] == "1.33"
    assert i["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}
    assert ng.ignore_changes == ["scalingConfig.desiredSize"]
    # The accelerator label comes with the cluster autoscaler (tests/components/test_eks_autoscaler.py).
    assert i["labels"] == {"genai-platform.io/gpu-pool": "l4", "k8s.amazonaws.com/accelerator": "nvidia-l4"}
    assert i["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    vpc_cni = one(result, "aws:eks/addon:Addon", "cluster-network-addons-vpc-cni")
    assert vpc_cni.urn in ng.dependencies, "nodes boot only once the CNI is there"
    assert "diskSize" not in i, "the disk is sized in the launch template"


def test_prod_pools_are_on_demand_with_their_bounds_and_zones(eks):
    result = eks("prod-aws")
    h100, l40s = node_group(result, "gpu-h100").inputs, node_group(result, "gpu-l40s").inputs
    assert (h100["instanceTypes"], h100["capacityType"]) == (["p5.48xlarge"], "ON_DEMAND")
    assert (l40s["instanceTypes"], l40s["capacityType"]) == (["g6e.12xlarge"], "ON_DEMAND")
    assert h100["scalingConfig"] == {"minSize": 1, "maxSize": 2, "desiredSize": 1}
    assert l40s["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 1}
    zone_a = one(result, "aws:ec2/subnet:Subnet", "cluster-network-private-us-east-1a")
    assert h100["subnetIds"] == [zone_a.id]
    assert len(l40s["subnetIds"]) == 3


def test_system_pool_is_a_standard_al2023_cpu_pool(eks):
    ng = node_group(eks("dev"), "system")
    assert ng.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert ng.inputs["instanceTypes"] == ["m6i.xlarge"]
    assert ng.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 3, "desiredSize": 2}
    assert ng.inputs["taints"] == []
    assert ng.ignore_changes == ["scalingConfig.desiredSize"]


def test_launch_template_sizes_the_root_volume_on_al2023(eks):
    lt = one(eks("prod-aws"), "aws:ec2/launchTemplate:LaunchTemplate", "cluster-gpu-h100-lt").inputs
    assert lt["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": 1000, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}}]
    assert lt["metadataOptions"]["httpTokens"] == "required"
    ng = node_group(eks("prod-aws"), "gpu-h100").inputs
    assert ng["launchTemplate"]["id"] == one(eks("prod-aws"), "aws:ec2/launchTemplate:LaunchTemplate",
                                             "cluster-gpu-h100-lt").id


def test_bottlerocket_pools_get_the_nvidia_variant_data_volume_and_operator_labels(eks):
    result = eks("dev", {"cluster": cluster_with("dev", gpuAmiType="BOTTLEROCKET_x86_64_NVIDIA")})
    ng = node_group(result, "gpu-l4").inputs
    assert ng["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA"
    assert ng["labels"] == {"genai-platform.io/gpu-pool": "l4", "nvidia.com/gpu.deploy.device-plugin": "false",
                            "nvidia.com/gpu.deploy.mig-manager": "false", "k8s.amazonaws.com/accelerator": "nvidia-l4"}
    lt = one(result, "aws:ec2/launchTemplate:LaunchTemplate", "cluster-gpu-l4-lt").inputs
    assert lt["blockDeviceMappings"][0]["deviceName"] == "/dev/xvdb"
    assert node_group(result, "system").inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert result.monitor.stack_outputs["cluster"]["gpuPlatform"] == "eks-bottlerocket"


def test_sharing_pools_carry_the_operator_config_labels(eks):
    pools = pools_of("prod-aws")
    pools[1]["sharing"] = {"mode": "time-slicing", "replicas": 4}
    pools[0]["sharing"] = {"mode": "mig", "migProfile": "1g.10gb"}
    result = eks("prod-aws", {"gpuPools": pools})
    assert node_group(result, "gpu-l40s").inputs["labels"] == {
        "genai-platform.io/gpu-pool": "l40s", "nvidia.com/device-plugin.config": "l40s",
        "k8s.amazonaws.com/accelerator": "nvidia-l40s"}
    assert node_group(result, "gpu-h100").inputs["labels"] == {
        "genai-platform.io/gpu-pool": "h100", "nvidia.com/device-plugin.config": "h100",
        "nvidia.com/mig.config": "all-1g.10gb", "k8s.amazonaws.com/accelerator": "nvidia-h100-80gb"}


def test_gpu_operator_leaves_driver_and_toolkit_to_the_eks_ami(eks):
    (release,) = [r for r in of_type(eks("prod-aws"), "kubernetes:helm.sh/v3:Release")
                  if r.inputs["chart"] == "gpu-operator"]
    values = release.inputs["values"]
    assert values["driver"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": False}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["daemonsets"]["tolerations"]
    assert release.provider == one(eks("prod-aws"), "pulumi:providers:kubernetes", "cluster-k8s").urn


# --- add-ons ---

def test_addons_are_pinned_and_ordered_around_the_nodes(eks):
    result = eks("dev")
    addons = {a.inputs["addonName"]: a for a in of_type(result, "aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns",
                           "aws-ebs-csi-driver", "aws-efs-csi-driver", "snapshot-controller"}
    assert addons["kube-proxy"].inputs["addonVersion"] == "v1.33.3-eksbuild.2"  # EKS's default for 1.33
    assert all(a.inputs["addonVersion"].startswith("v") for a in addons.values())
    system = node_group(result, "system")
    for name in ("coredns", "aws-ebs-csi-driver", "aws-efs-csi-driver", "snapshot-controller"):
        assert system.urn in addons[name].dependencies, name
    for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert addons[name].urn in system.dependencies, name


def test_addon_version_can_be_pinned_in_the_stack(eks):
    result = eks("dev", {"cluster": cluster_with("dev", addonVersions={"aws-efs-csi-driver": "v2.1.0-eksbuild.1"})})
    efs = one(result, "aws:eks/addon:Addon", "cluster-addons-aws-efs-csi-driver")
    assert efs.inputs["addonVersion"] == "v2.1.0-eksbuild.1"


def test_addon_roles_use_pod_identity_by_default(eks):
    result = eks("dev")
    ebs = one(result, "aws:eks/addon:Addon", "cluster-addons-aws-ebs-csi-driver").inputs
    role = one(result, "aws:iam/role:Role", "cluster-addons-aws-ebs-csi-driver")
    assert ebs["podIdentityAssociations"] == [{"roleArn": f"arn:aws:iam::123456789012:role/{role.id}",
                                                "serviceAccount": "ebs-csi-controller-sa"}]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    attached = [a.inputs["policyArn"] for a in of_type(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a.inputs["role"] == role.id]
    assert attached == ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]
    cni = one(result, "aws:eks/addon:Addon", "cluster-network-addons-vpc-cni").inputs
    assert cni["podIdentityAssociations"][0]["serviceAccount"] == "aws-node"
    node_role = one(result, "aws:iam/role:Role", "cluster-node-role")
    node_policies = sorted(a.inputs["policyArn"].rsplit("/", 1)[-1]
                           for a in of_type(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                           if a.inputs["role"] == node_role.id)
    assert node_policies == ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy"]


# --- storage ---

def test_storage_classes_gp3_default_and_efs_rwx(eks):
    result = eks("prod-aws")
    k8s = one(result, "pulumi:providers:kubernetes", "cluster-k8s")
    classes = {c.inputs["metadata"]["name"]: c for c in of_type(result, "kubernetes:storage.k8s.io/v1:StorageClass")}
    assert set(classes) == {"gp3", "efs-rwx"}
    gp3 = classes["gp3"].inputs
    assert gp3["provisioner"] == "ebs.csi.aws.com"
    assert gp3["parameters"] == {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    assert gp3["volumeBindingMode"] == "WaitForFirstConsumer" and gp3["allowVolumeExpansion"] is True
    assert gp3["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    fs = one(result, "aws:efs/fileSystem:FileSystem", "cluster-storage-efs")
    efs = classes["efs-rwx"].inputs
    assert efs["provisioner"] == "efs.csi.aws.com"
    assert efs["parameters"]["provisioningMode"] == "efs-ap"
    assert efs["parameters"]["fileSystemId"] == fs.id
    assert efs["parameters"]["directoryPerms"] == "700"
    assert gp3["reclaimPolicy"] == efs["reclaimPolicy"] == "Retain"
    for c in classes.values():
        assert c.provider == k8s.urn
        assert c.inputs["metadata"]["labels"]["app.kubernetes.io/part-of"] == "genai-platform"
    targets = of_type(result, "aws:efs/mountTarget:MountTarget")
    assert {t.urn for t in targets} <= set(classes["efs-rwx"].dependencies)
    assert result.monitor.stack_outputs["storageClasses"] == {"rwo": "gp3", "rwx": "efs-rwx"}
    dev_classes = of_type(eks("dev"), "kubernetes:storage.k8s.io/v1:StorageClass")
    assert {c.inputs["reclaimPolicy"] for c in dev_classes} == {"Delete"}


def test_efs_is_encrypted_and_mounted_in_every_private_subnet(eks):
    result = eks("prod-aws")
    fs = one(result, "aws:efs/fileSystem:FileSystem", "cluster-storage-efs")
    data_key = one(result, "aws:kms/key:Key", "cluster-data-key")
    assert fs.inputs["encrypted"] is True and fs.inputs["kmsKeyId"].endswith(f":key/{data_key.id}")
    assert fs.inputs["throughputMode"] == "elastic"
    private = {s.id for s in of_type(result, "aws:ec2/subnet:Subnet") if "private" in s.name}
    targets = of_type(result, "aws:efs/mountTarget:MountTarget")
    assert {t.inputs["subnetId"] for t in targets} == private
    group = one(result, "aws:ec2/securityGroup:SecurityGroup", "cluster-storage-efs-nfs")
    assert all(t.inputs["securityGroups"] == [group.id] for t in targets)
    rule = one(result, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "cluster-storage-efs-nfs-from-vpc")
    assert rule.inputs["securityGroupId"] == group.id
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 2049, 2049)
    assert rule.inputs["cidrIpv4"] == "10.40.0.0/16"


# --- bucket, registry, identities ---

def test_bucket_is_versioned_private_owner_enforced_and_kms_encrypted(eks):
    result = eks("prod-aws")
    bucket = one(result, "aws:s3/bucket:Bucket", "cluster-stores-bucket")
    assert bucket.inputs["bucketPrefix"] == "genai-prod-data-"
    name = bucket.id
    assert name.startswith("genai-prod-data-")
    versioning = one(result, "aws:s3/bucketVersioning:BucketVersioning", "cluster-stores-bucket-versioning").inputs
    assert versioning == {"bucket": name, "versioningConfiguration": {"status": "Enabled"}}
    block = one(result, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "cluster-stores-bucket-public-access")
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                 "restrictPublicBuckets"))
    owner = one(result, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "cluster-stores-bucket-ownership")
    assert owner.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    sse = one(result, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "cluster-stores-bucket-encryption").inputs["rules"][0]
    data_key = one(result, "aws:kms/key:Key", "cluster-data-key")
    assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert sse["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].endswith(f":key/{data_key.id}")
    assert sse["bucketKeyEnabled"] is True
    policy = json.loads(one(result, "aws:s3/bucketPolicy:BucketPolicy", "cluster-stores-bucket-tls-only").inputs["policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert result.monitor.stack_outputs["objectStore"] == {"kind": "s3", "bucket": name, "region": "us-east-1"}


def test_bucket_can_use_sse_s3(eks):
    result = eks("dev", {"cluster": cluster_with("dev", bucketEncryption="AES256")})
    sse = one(result, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "cluster-stores-bucket-encryption").inputs["rules"][0]
    assert sse == {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
    policy = json.loads(one(result, "aws:iam/rolePolicy:RolePolicy", "cluster-identities-backups-bucket").inputs["policy"])
    assert not [s for s in policy["Statement"] if s["Sid"] == "BucketKey"]


def test_registry_is_immutable_scanned_and_kms_encrypted(eks):
    result = eks("prod-aws")
    repo = one(result, "aws:ecr/repository:Repository", "cluster-stores-registry")
    data_key = one(result, "aws:kms/key:Key", "cluster-data-key")
    assert repo.inputs["name"] == "genai-prod/platform"
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    (enc,) = repo.inputs["encryptionConfigurations"]
    assert enc["encryptionType"] == "KMS" and enc["kmsKey"].endswith(f":key/{data_key.id}")
    assert result.monitor.stack_outputs["registry"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/genai-prod/platform"


def test_pod_identity_binds_each_service_account_to_its_role(eks):
    result = eks("prod-aws")
    associations = {(a.inputs["namespace"], a.inputs["serviceAccount"]): a
                    for a in of_type(result, "aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    # The stack's PostgreSQL and MySQL back up to the bucket as their own service accounts.
    assert set(associations) == {("velero", "velero"), ("genai-models", "model-downloader"),
                                 ("kube-system", "cluster-autoscaler"),
                                 ("genai-data", "postgres"), ("genai-data", "mysql-sidecar-sa")}
    for (namespace, account), association in associations.items():
        role = one(result, "aws:iam/role:Role", association.name)
        assert association.inputs["roleArn"] == f"arn:aws:iam::123456789012:role/{role.id}"
        assert association.inputs["clusterName"] == "genai-prod"
        condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
        assert condition == {"aws:RequestTag/eks-cluster-name": "genai-prod",
                             "aws:RequestTag/kubernetes-namespace": namespace,
                             "aws:RequestTag/kubernetes-service-account": account}
    agent = one(result, "aws:eks/addon:Addon", "cluster-network-addons-eks-pod-identity-agent")
    assert all(agent.urn in a.dependencies for a in associations.values())
    identities = result.monitor.stack_outputs["workloadIdentities"]
    assert identities["backups"]["principal"] == associations[("velero", "velero")].inputs["roleArn"]


def test_backups_read_write_and_downloads_read_only_on_the_bucket(eks):
    result = eks("prod-aws")
    bucket = f"arn:aws:s3:::{one(result, 'aws:s3/bucket:Bucket', 'cluster-stores-bucket').id}"

    def statements(identity: str) -> dict[str, dict]:
        policy = one(result, "aws:iam/rolePolicy:RolePolicy", f"cluster-identities-{identity}-bucket").inputs["policy"]
        return {s["Sid"]: s for s in json.loads(policy)["Statement"]}

    backups, downloads = statements("backups"), statements("model-downloads")
    assert backups["Objects"]["Resource"] == downloads["Objects"]["Resource"] == f"{bucket}/*"
    assert "s3:PutObject" in backups["Objects"]["Action"] and "s3:DeleteObject" in backups["Objects"]["Action"]
    assert "s3:PutObject" not in downloads["Objects"]["Action"]
    assert "kms:GenerateDataKey" in backups["BucketKey"]["Action"]
    assert downloads["BucketKey"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]


def test_irsa_trusts_the_oidc_issuer_for_one_service_account(eks):
    result = eks("dev", {"cluster": cluster_with("dev", workloadIdentity="irsa")})
    assert not of_type(result, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    (oidc,) = of_type(result, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    # The cluster's issuer URL (a mocked output of the cluster) reaches the provider and the trusts.
    assert oidc.inputs["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert one(result, "aws:eks/cluster:Cluster", "cluster-eks").urn in oidc.dependencies
    host = oidc.inputs["url"].removeprefix("https://")
    role = one(result, "aws:iam/role:Role", "cluster-identities-backups")
    statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Federated": oidc.id}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {f"{host}:sub": "system:serviceaccount:velero:velero",
                                                      f"{host}:aud": "sts.amazonaws.com"}
    efs_role = one(result, "aws:iam/role:Role", "cluster-addons-aws-efs-csi-driver")
    efs_trust = json.loads(efs_role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert efs_trust["StringLike"][f"{host}:sub"] == "system:serviceaccount:kube-system:efs-csi-*"
    addon = one(result, "aws:eks/addon:Addon", "cluster-addons-aws-efs-csi-driver").inputs
    assert addon["serviceAccountRoleArn"] == f"arn:aws:iam::123456789012:role/{efs_role.id}"
    assert "podIdentityAssociations" not in addon


def test_irsa_identities_carry_the_role_arn_annotation(tmp_path):
    """The layer owning a service account gets the annotation it must set (ClusterInfo.identities)."""
    from infra.plan.runner import load_stack_config, run_program

    (tmp_path / "__main__.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import pulumi\n"
        "from infra import config, program\n"
        "from infra.cluster_eks import build\n"
        "from infra.pools import gpu_pool\n"
        "cfg = config.load().platform\n"
        "info = build(cfg, tuple(gpu_pool(p, 'eks') for p in cfg.gpu_pools), program.identity_requests(cfg))\n"
        "pulumi.export('identities', {n: {'annotations': dict(i.annotations), 'labels': dict(i.pod_labels)}\n"
        "                            for n, i in info.identities.items()})\n"
    )
    for mode in ("irsa", "pod-identity"):
        cfg = load_stack_config("dev", overrides={"cluster": cluster_with("dev", workloadIdentity=mode)})
        result = run_program(cfg, program_dir=tmp_path)
        assert result.error is None, result.error
        identities = result.monitor.stack_outputs["identities"]
        roles = {r.name: r.id for r in result.monitor.registrations if r.type == "aws:iam/role:Role"}
        if mode == "irsa":
            assert identities["backups"]["annotations"] == {
                "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{roles['cluster-identities-backups']}"}
        else:
            assert identities["backups"] == {"annotations": {}, "labels": {}}
