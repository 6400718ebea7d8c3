"""Pure builders of the EKS target, without Pulumi."""

from __future__ import annotations

import base64
import ipaddress

import pytest
import yaml

from components.cluster.eks_specs import (
    ADDON_NAMES,
    access_policy_arn,
    block_devices,
    bucket_access_policy,
    bucket_prefix,
    cluster_zones,
    default_subnet_cidrs,
    irsa_trust,
    kubeconfig,
    managed_policy_arn,
    pod_identity_trust,
    repository_name,
    subnet_tags,
    taint_effect,
)


def test_default_subnets_split_the_vpc_without_overlap():
    private, public = default_subnet_cidrs("10.0.0.0/16", 3)
    assert private == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert public == ["10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"]
    private6, public6 = default_subnet_cidrs("10.0.0.0/20", 6)
    assert len(private6) == len(public6) == 6
    assert private6[-1] == "10.0.10.0/23" and public6[-1] == "10.0.15.64/26"
    blocks = [ipaddress.ip_network(c) for c in private6 + public6]
    assert not [(a, b) for i, a in enumerate(blocks) for b in blocks[i + 1:] if a.overlaps(b)]


def test_zones_default_to_the_regions_first_letters():
    assert cluster_zones("eu-west-1", 2) == ("eu-west-1a", "eu-west-1b")
    assert cluster_zones("ap-northeast-1", 3, ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"])[1] == \
        "ap-northeast-1c"


def test_subnet_tags_for_load_balancers():
    assert subnet_tags("genai-dev", True, "us-east-1a") == {
        "Name": "genai-dev-public-us-east-1a", "kubernetes.io/role/elb": "1",
        "kubernetes.io/cluster/genai-dev": "shared"}
    assert "kubernetes.io/role/internal-elb" in subnet_tags("genai-dev", False, "us-east-1a")


@pytest.mark.parametrize(("effect", "eks"), [("NoSchedule", "NO_SCHEDULE"), ("NoExecute", "NO_EXECUTE"),
                                             ("PreferNoSchedule", "PREFER_NO_SCHEDULE")])
def test_taint_effects_use_the_eks_enum(effect, eks):
    assert taint_effect(effect) == eks


def test_arns_follow_the_regions_partition():
    assert managed_policy_arn("us-east-1", "AmazonEKSWorkerNodePolicy") == \
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
    assert managed_policy_arn("cn-north-1", "x").startswith("arn:aws-cn:iam::aws:policy/")
    assert access_policy_arn("us-gov-west-1") == \
        "arn:aws-us-gov:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def test_container_volume_is_root_on_al2023_and_data_on_bottlerocket():
    assert block_devices("AL2023_x86_64_NVIDIA", 300)[0]["device_name"] == "/dev/xvda"
    (br,) = block_devices("BOTTLEROCKET_x86_64_NVIDIA", 300)
    assert br["device_name"] == "/dev/xvdb"
    assert br["ebs"] == {"volume_size": 300, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"}


def test_trust_policies():
    pod = pod_identity_trust("c", "velero", "velero")["Statement"][0]
    assert pod["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert pod["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
    irsa = irsa_trust("arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC", issuer,
                      "ns", "sa")["Statement"][0]
    assert irsa["Condition"] == {"StringEquals": {
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:ns:sa",
        "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"}}
    pattern = irsa_trust("arn", issuer, "kube-system", "efs-csi-*")["Statement"][0]["Condition"]
    assert list(pattern) == ["StringLike"]


def test_bucket_policy_without_a_key_has_no_kms_statement():
    policy = bucket_access_policy("arn:aws:s3:::b", "read", None)
    assert [s["Sid"] for s in policy["Statement"]] == ["ListBucket", "Objects"]
    assert policy["Statement"][1]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]


def test_kubeconfig_execs_aws_eks_get_token():
    ca = base64.b64encode(b"pem").decode()
    doc = yaml.safe_load(kubeconfig("genai-dev", "https://ABC.gr7.us-east-1.eks.amazonaws.com", ca, "us-east-1", "ml"))
    assert doc["clusters"][0]["cluster"] == {"server": "https://ABC.gr7.us-east-1.eks.amazonaws.com",
                                             "certificate-authority-data": ca}
    user = doc["users"][0]["user"]["exec"]
    assert user["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert user["command"] == "aws"
    assert user["args"] == ["eks", "get-token", "--cluster-name", "genai-dev", "--region", "us-east-1",
                            "--output", "json"]
    assert user["env"] == [{"name": "AWS_PROFILE", "value": "ml"}]
    assert doc["current-context"] == "genai-dev"
    no_profile = yaml.safe_load(kubeconfig("c", "https://x", ca, "eu-west-1", None))
    assert "env" not in no_profile["users"][0]["user"]["exec"]


def test_names_derived_from_the_cluster():
    assert bucket_prefix("Genai_Prod") == "genai-prod-data-"
    assert len(bucket_prefix("x" * 100)) <= 37
    assert repository_name("genai-prod") == "genai-prod/platform"


def test_the_seven_addons():
    assert ADDON_NAMES == ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns",
                           "aws-ebs-csi-driver", "aws-efs-csi-driver", "snapshot-controller")
