"""Pure builders for the EKS target: subnet plans, tags, IAM documents, node settings,
storage classes and the kubeconfig.

Data in, data out: no cloud SDK, no Pulumi resources. The config checks use the same
functions as the components, so what is checked is what gets built.
"""

from __future__ import annotations

import ipaddress
import string
from dataclasses import dataclass
from typing import Any, Literal, Optional

import yaml

from components.common.labels import standard_labels

WorkloadIdentityMode = Literal["pod-identity", "irsa"]
GPU_AMI_TYPES = {"AL2023_x86_64_NVIDIA": "eks-al2023", "BOTTLEROCKET_x86_64_NVIDIA": "eks-bottlerocket"}
SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
STS_AUDIENCE = "sts.amazonaws.com"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
# Label of the CPU system pool's nodes; cluster add-ons (the cluster autoscaler) select it.
SYSTEM_POOL_LABEL = "genai-platform.io/pool"
GP3_CLASS = "gp3"
EFS_CLASS = "efs-rwx"
EBS_CSI = "ebs.csi.aws.com"
EFS_CSI = "efs.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
NFS_PORT = 2049
# 8-GPU training-class instances: AWS sells them through capacity reservations and capacity
# blocks; spot capacity for them is rare and a reclaim takes a whole tensor-parallel replica.
CAPACITY_RESERVED_FAMILIES = ("p4d", "p4de", "p5", "p5e", "p5en", "p6-b200")
_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


@dataclass(frozen=True)
class AddonSpec:
    """An EKS add-on; ``service_accounts``/``policies`` when its pods call AWS APIs."""

    name: str
    service_accounts: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    # IRSA trust: the service accounts the role may be assumed from (a StringLike pattern).
    irsa_subject: Optional[str] = None


# Networking add-ons go in before the nodes (a node without the CNI never becomes Ready);
# the others run Deployments and are only healthy once nodes exist.
NETWORK_ADDONS = (
    AddonSpec("vpc-cni", ("aws-node",), ("AmazonEKS_CNI_Policy",)),
    AddonSpec("kube-proxy"),
    AddonSpec("eks-pod-identity-agent"),
)
WORKLOAD_ADDONS = (
    AddonSpec("coredns"),
    AddonSpec("aws-ebs-csi-driver", ("ebs-csi-controller-sa",), ("service-role/AmazonEBSCSIDriverPolicy",)),
    AddonSpec("aws-efs-csi-driver", ("efs-csi-controller-sa",), ("service-role/AmazonEFSCSIDriverPolicy",),
              irsa_subject="efs-csi-*"),
    # The VolumeSnapshot CRDs and controller, for CSI snapshots (backups).
    AddonSpec("snapshot-controller"),
)
ADDON_NAMES = tuple(a.name for a in NETWORK_ADDONS + WORKLOAD_ADDONS)


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def managed_policy_arn(region: str, name: str) -> str:
    return f"arn:{partition(region)}:iam::aws:policy/{name}"


def access_policy_arn(region: str, name: str = ADMIN_POLICY) -> str:
    return f"arn:{partition(region)}:eks::aws:cluster-access-policy/{name}"


def cluster_zones(region: str, az_count: int, zones: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The zones the VPC spans: as listed, or the region's first ``az_count`` letters."""
    if zones:
        return tuple(zones)
    return tuple(f"{region}{letter}" for letter in string.ascii_lowercase[:az_count])


def default_subnet_cidrs(vpc_cidr: str, count: int) -> tuple[list[str], list[str]]:
    """Private subnets take one eighth of the VPC each (pods get VPC addresses); public ones,
    which only hold NAT gateways and load balancers, share the last eighth."""
    eighths = list(ipaddress.ip_network(vpc_cidr).subnets(prefixlen_diff=3))
    private = [str(n) for n in eighths[:count]]
    public = [str(n) for n in list(eighths[-1].subnets(prefixlen_diff=3))[:count]]
    return private, public


def subnet_tags(cluster_name: str, public: bool, zone: str) -> dict[str, str]:
    # The AWS Load Balancer Controller and the in-tree controller find subnets by these tags.
    role = "kubernetes.io/role/elb" if public else "kubernetes.io/role/internal-elb"
    return {"Name": f"{cluster_name}-{'public' if public else 'private'}-{zone}",
            role: "1", f"kubernetes.io/cluster/{cluster_name}": "shared"}


def taint_effect(effect: str) -> str:
    return _TAINT_EFFECTS[effect]


def instance_family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def block_devices(ami_type: str, disk_gib: int) -> list[dict[str, Any]]:
    """The node's container-storage volume: the root on AL2023, the data volume on Bottlerocket
    (its root only holds the read-only OS). gp3, encrypted with the account's EBS key."""
    device = "/dev/xvdb" if ami_type.startswith("BOTTLEROCKET") else "/dev/xvda"
    return [{"device_name": device, "ebs": {"volume_size": disk_gib, "volume_type": "gp3", "encrypted": "true",
                                            "delete_on_termination": "true"}}]


def service_trust(service: str) -> dict:
    """Trust policy of a role an AWS service assumes (EKS control plane, EC2 nodes)."""
    actions = ["sts:AssumeRole", "sts:TagSession"] if service == "eks.amazonaws.com" else ["sts:AssumeRole"]
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}]}


def pod_identity_trust(cluster_name: str, namespace: str, service_account: str) -> dict:
    """EKS Pod Identity trust, narrowed by the session tags the agent sets to one cluster,
    namespace and service account: without them any association in the account could use it."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_SERVICE},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-name": cluster_name,
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account,
        }},
    }]}


def irsa_trust(provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> dict:
    """IRSA trust: web identity from the cluster's OIDC issuer, for one service account."""
    host = issuer_url.removeprefix("https://")
    operator = "StringLike" if "*" in service_account else "StringEquals"
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {operator: {
            f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
            f"{host}:aud": STS_AUDIENCE,
        }},
    }]}


def bucket_access_policy(bucket_arn: str, access: str, key_arn: Optional[str]) -> dict:
    """Read (model downloads) or read-write (backups) on the platform bucket and its key."""
    object_actions = ["s3:GetObject", "s3:GetObjectVersion"]
    key_actions = ["kms:Decrypt", "kms:DescribeKey"]
    if access == "read-write":
        object_actions += ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                           "s3:ListMultipartUploadParts"]
        key_actions += ["kms:GenerateDataKey", "kms:Encrypt"]
    statements = [
        {"Sid": "ListBucket", "Effect": "Allow",
         "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
         "Resource": bucket_arn},
        {"Sid": "Objects", "Effect": "Allow", "Action": object_actions, "Resource": f"{bucket_arn}/*"},
    ]
    if key_arn:
        statements.append({"Sid": "BucketKey", "Effect": "Allow", "Action": key_actions, "Resource": key_arn})
    return {"Version": "2012-10-17", "Statement": statements}


def tls_only_bucket_policy(bucket_arn: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]}


def secrets_key_policy(key_arn: str) -> dict:
    """What the EKS cluster role needs on its envelope-encryption key (the key policy
    delegates to IAM)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
        "Resource": key_arn,
    }]}


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str, profile: Optional[str]) -> str:
    """A kubeconfig that gets short-lived tokens from ``aws eks get-token`` (AWS CLI v2)."""
    user: dict[str, Any] = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
        "interactiveMode": "Never",
    }}
    if profile:
        user["exec"]["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [{"name": cluster_name, "user": user}],
    }, sort_keys=False)


def _reclaim(protect: bool) -> str:
    return "Retain" if protect else "Delete"


def gp3_storage_class(protect: bool) -> dict:
    """The default RWO class: encrypted gp3 through the EBS CSI driver, bound where the pod lands."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": GP3_CLASS, "labels": standard_labels(GP3_CLASS, "storage", "storage"),
                     "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": EBS_CSI,
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        "reclaimPolicy": _reclaim(protect),
        # EBS volumes are zonal: bind only once the scheduler has chosen the pod's zone.
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def efs_storage_class(file_system_id: Any, protect: bool) -> dict:
    """The RWX class (model catalog): an EFS access point with its own directory per volume."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": EFS_CLASS, "labels": standard_labels(EFS_CLASS, "storage", "storage")},
        "provisioner": EFS_CSI,
        "parameters": {"provisioningMode": "efs-ap", "fileSystemId": file_system_id, "directoryPerms": "700",
                       "basePath": "/dynamic"},
        "reclaimPolicy": _reclaim(protect),
        "volumeBindingMode": "Immediate",
    }


def _lower_name(cluster_name: str) -> str:
    return cluster_name.lower().replace("_", "-")


def bucket_prefix(cluster_name: str) -> str:
    """S3 names are global: a readable prefix (37 characters at most) plus AWS's unique suffix."""
    return f"{_lower_name(cluster_name)[:30].rstrip('-')}-data-"


def repository_name(cluster_name: str) -> str:
    return f"{_lower_name(cluster_name)}/platform"


def untagged_image_expiry(days: int = 14) -> dict:
    """ECR lifecycle: untagged layers left behind by pushes expire; tagged (immutable) images stay."""
    return {"rules": [{
        "rulePriority": 1,
        "description": f"expire untagged images after {days} days",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                      "countNumber": days},
        "action": {"type": "expire"},
    }]}
