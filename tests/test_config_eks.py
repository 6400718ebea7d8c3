"""Bad `cluster.eks` settings (and GPU pools as EKS sees them) are one clear error each.

Every case runs the real program on the dev or prod-aws stack with some keys replaced: the
error names the key path as written in the stack file, says what is wrong, and nothing is
registered.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.plan.runner import RunResult

NS = "genai-platform"
STACKS = Path(__file__).resolve().parents[1] / "stacks"
HEADER = re.compile(r"^invalid stack configuration \((\d+) problems?\):")


def _config(stack: str) -> dict:
    return yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())["config"]


def eks(stack: str = "dev", **changes: Any) -> dict:
    """``{"cluster": ...}`` overrides: the stack's cluster with ``cluster.eks`` keys changed
    (a value of None removes the key)."""
    cluster = copy.deepcopy(_config(stack)[f"{NS}:cluster"])
    for key, value in changes.items():
        if value is None:
            cluster["eks"].pop(key, None)
        else:
            cluster["eks"][key] = value
    return {"cluster": cluster}


def pool(stack: str = "dev", index: int = 0, **changes: Any) -> dict:
    pools = copy.deepcopy(_config(stack)[f"{NS}:gpuPools"])
    pools[index].update(changes)
    return {"gpuPools": pools}


def assert_config_error(result: RunResult, path: str, *messages: str, count: int | None = 1) -> str:
    error = result.error
    assert error is not None, "expected a configuration error, the program ran"
    assert "Traceback" not in error
    assert result.monitor.registrations == [], "resources were registered before the config was rejected"
    header = HEADER.match(error)
    assert header, error
    lines = [line.strip() for line in error.splitlines()[1:] if line.strip()]
    if count is not None:
        assert len(lines) == count, error
    matching = [line for line in lines if line.startswith(f"{NS}:{path}: ")]
    assert matching, f"no problem line for {path}:\n{error}"
    assert any(all(m in line for m in messages) for line in matching), f"no line for {path} says {messages!r}:\n{error}"
    return error


SUBNETS = ["subnet-0a1b2c3d4e5f60710", "subnet-0a1b2c3d4e5f60711"]

# (id, stack, overrides, key path, message parts)
CASES = [
    ("region-format", "dev", eks(region="useast1"),
     "cluster.eks.region", ["must be an AWS region name", "'useast1'"]),
    ("region-missing", "dev", eks(region=None),
     "cluster.eks.region", ["required"]),
    ("zone-of-another-region", "dev", eks(azCount=None, zones=["us-west-2a", "us-east-1b", "us-east-1c"]),
     "cluster.eks.zones[0]", ["'us-west-2a' is not a zone of region 'us-east-1'"]),
    ("zones-and-az-count-disagree", "dev", eks(zones=["us-east-1a", "us-east-1b"]),
     "cluster.eks.azCount", ["is 3 but zones lists 2"]),
    ("one-zone", "dev", eks(azCount=1),
     "cluster.eks.azCount", ["must span 2 to 6 zones", "got 1"]),
    ("seven-zones", "dev", eks(azCount=7),
     "cluster.eks.azCount", ["must span 2 to 6 zones", "got 7"]),
    ("pool-zone-of-another-region", "dev", pool(zones=["eu-west-1a"]),
     "gpuPools[0].zones[0]", ["'eu-west-1a' is not a zone of region 'us-east-1'"]),
    ("pool-zone-outside-the-cluster", "prod-aws", pool("prod-aws", zones=["us-east-1d"]),
     "gpuPools[0].zones[0]", ["'us-east-1d' is not one of the cluster's zones", "us-east-1a, us-east-1b, us-east-1c"]),
    ("existing-vpc-one-subnet", "dev",
     eks(network=None, azCount=None, existingVpc={"vpcId": "vpc-0a1b2c3d4e5f60718", "privateSubnetIds": SUBNETS[:1]}),
     "cluster.eks.existingVpc.privateSubnetIds", ["needs at least 2 private subnets", "checked by AWS at deploy time"]),
    ("existing-vpc-without-subnets", "dev",
     eks(network=None, azCount=None, existingVpc={"vpcId": "vpc-0a1b2c3d4e5f60718"}),
     "cluster.eks.existingVpc.privateSubnetIds", ["required"]),
    ("existing-vpc-bad-subnet-id", "dev",
     eks(network=None, azCount=None, existingVpc={"vpcId": "vpc-0a1b2c3d4e5f60718",
                                                  "privateSubnetIds": [SUBNETS[0], "subnet-xyz"]}),
     "cluster.eks.existingVpc.privateSubnetIds[1]", ["must be a subnet id", "'subnet-xyz'"]),
    ("existing-vpc-and-network", "dev",
     eks(azCount=None, existingVpc={"vpcId": "vpc-0a1b2c3d4e5f60718", "privateSubnetIds": SUBNETS}),
     "cluster.eks.network", ["only applies when the VPC is created here"]),
    ("subnet-outside-the-vpc", "dev",
     eks(network={"vpcCidr": "10.30.0.0/16",
                  "privateSubnetCidrs": ["10.30.0.0/19", "10.31.0.0/19", "10.30.64.0/19"],
                  "publicSubnetCidrs": ["10.30.224.0/22", "10.30.228.0/22", "10.30.232.0/22"]}),
     "cluster.eks.network.privateSubnetCidrs[1]", ["10.31.0.0/19 is not inside vpcCidr 10.30.0.0/16"]),
    ("overlapping-subnets", "dev",
     eks(network={"vpcCidr": "10.30.0.0/16",
                  "privateSubnetCidrs": ["10.30.0.0/19", "10.30.32.0/19", "10.30.64.0/19"],
                  "publicSubnetCidrs": ["10.30.16.0/22", "10.30.228.0/22", "10.30.232.0/22"]}),
     "cluster.eks.network.publicSubnetCidrs[0]", ["10.30.16.0/22 overlaps 10.30.0.0/19",
                                                  "network.privateSubnetCidrs[0]"]),
    ("subnet-count-per-zone", "dev",
     eks(network={"privateSubnetCidrs": ["10.0.0.0/19", "10.0.32.0/19"],
                  "publicSubnetCidrs": ["10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"]}),
     "cluster.eks.network.privateSubnetCidrs", ["needs one CIDR per zone (3); got 2"]),
    ("vpc-cidr-host-bits", "dev", eks(network={"vpcCidr": "10.30.0.1/16"}),
     "cluster.eks.network.vpcCidr", ["must be an IPv4 CIDR block", "no host bits"]),
    ("vpc-too-small-for-default-subnets", "dev", eks(network={"vpcCidr": "10.30.0.0/22"}),
     "cluster.eks.network.vpcCidr", ["too small to carve the default subnets"]),
    ("private-endpoint-with-public-cidrs", "prod-aws",
     eks("prod-aws", endpoint={"access": "private", "publicAccessCidrs": ["203.0.113.0/24"]}),
     "cluster.eks.endpoint.publicAccessCidrs", ["contradicts endpoint.access 'private'"]),
    ("admin-principal-not-an-arn", "prod-aws",
     eks("prod-aws", adminPrincipals=["arn:aws:iam::12345:role/admins"]),
     "cluster.eks.adminPrincipals[0]", ["must be an IAM role or user ARN", "'arn:aws:iam::12345:role/admins'"]),
    ("admin-principal-is-a-group", "prod-aws",
     eks("prod-aws", adminPrincipals=["arn:aws:iam::123456789012:group/admins"]),
     "cluster.eks.adminPrincipals[0]", ["must be an IAM role or user ARN"]),
    ("admin-principal-other-partition", "prod-aws",
     eks("prod-aws", adminPrincipals=["arn:aws-cn:iam::123456789012:role/admins"]),
     "cluster.eks.adminPrincipals[0]", ["is in partition 'aws-cn' but region 'us-east-1' is in 'aws'"]),
    ("spot-on-p5", "prod-aws", pool("prod-aws", spot=True),
     "gpuPools[0].spot", ["p5.48xlarge is a capacity-reserved class", "use on-demand"]),
    ("bottlerocket-with-time-slicing", "dev",
     {**eks(gpuAmiType="BOTTLEROCKET_x86_64_NVIDIA"), **pool(sharing={"mode": "time-slicing", "replicas": 4})},
     "gpuPools[0].sharing.mode", ["Bottlerocket replaces with its own", "AL2023_x86_64_NVIDIA"]),
    ("unknown-gpu-ami-type", "dev", eks(gpuAmiType="AL2_x86_64_GPU"),
     "cluster.eks.gpuAmiType", ["must be one of", "'AL2023_x86_64_NVIDIA'", "got 'AL2_x86_64_GPU'"]),
    ("unknown-addon", "dev", eks(addonVersions={"vpc-cn": "v1.20.4-eksbuild.1"}),
     "cluster.eks.addonVersions.vpc-cn", ["unknown add-on", "did you mean 'vpc-cni'"]),
    ("addon-version-format", "dev", eks(addonVersions={"coredns": "1.12"}),
     "cluster.eks.addonVersions.coredns", ["must be an EKS add-on version"]),
    ("log-retention-not-cloudwatch", "dev", eks(logRetentionDays=10),
     "cluster.eks.logRetentionDays", ["must be one of the retention periods CloudWatch accepts", "got 10"]),
    ("pool-name-too-long-for-a-node-group", "dev", pool(name="l4-" + "x" * 38),
     "gpuPools[0].name", ["at most 40 characters on the eks target", "got 41"]),
    ("reserved-tag-prefix", "dev", eks(tags={"aws:owner": "ml"}),
     "cluster.eks.tags.aws:owner", ["reserved by AWS"]),
    ("unknown-eks-key", "dev", eks(nodeGroups=[]),
     "cluster.eks.nodeGroups", ["unknown key"]),
    ("autoscaler-chart-version-format", "dev", eks(clusterAutoscaler={"chartVersion": "v9.51"}),
     "cluster.eks.clusterAutoscaler.chartVersion", ["must be a chart version such as '9.51.0'", "'v9.51'"]),
    ("autoscaler-duration-format", "dev", eks(clusterAutoscaler={"scaleDownUnneededTime": "10 minutes"}),
     "cluster.eks.clusterAutoscaler.scaleDownUnneededTime", ["must be a duration such as '10m'"]),
    ("autoscaler-no-chart-for-the-minor", "dev", {"cluster": {**eks()["cluster"], "kubernetesVersion": "1.36"}},
     "cluster.eks.clusterAutoscaler.chartVersion", ["no cluster-autoscaler chart is pinned for Kubernetes 1.36",
                                                     "appVersion is 1.36.x", "enabled: false"]),
    ("autoscaler-settings-while-off", "dev", eks(clusterAutoscaler={"enabled": False, "chartVersion": "9.51.0"}),
     "cluster.eks.clusterAutoscaler.chartVersion", ["only applies while the cluster autoscaler is enabled"]),
    ("autoscaler-unknown-key", "dev", eks(clusterAutoscaler={"expander": "priority"}),
     "cluster.eks.clusterAutoscaler.expander", ["unknown key"]),
    ("system-instance-type", "dev",
     {"cluster": {**eks()["cluster"], "systemPool": {"instanceType": "m6i-xlarge"}}},
     "cluster.systemPool.instanceType", ["must be an EC2 instance type"]),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "messages"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_eks_setting_is_one_clear_error(run, stack, overrides, path, messages):
    assert_config_error(run(stack, overrides), path, *messages)


def test_cases_are_distinct():
    assert len({case[0] for case in CASES}) == len(CASES) >= 4


@pytest.mark.parametrize("stack", ["dev", "prod-aws"])
def test_eks_stacks_are_valid(run, stack):
    result = run(stack)
    assert result.error is None, result.error
    assert any(r.type == "genai:cluster:EksCluster" for r in result.monitor.registrations)


def test_several_eks_problems_are_reported_together(run):
    overrides = {**eks("prod-aws", endpoint={"access": "private", "publicAccessCidrs": ["203.0.113.0/24"]},
                       azCount=1, zones=None),
                 **pool("prod-aws", spot=True, zones=["us-west-2a"])}
    result = run("prod-aws", overrides)
    error = assert_config_error(result, "cluster.eks.endpoint.publicAccessCidrs", "contradicts", count=4)
    assert_config_error(result, "cluster.eks.azCount", "must span 2 to 6 zones", count=None)
    assert_config_error(result, "gpuPools[0].spot", "capacity-reserved", count=None)
    assert_config_error(result, "gpuPools[0].zones[0]", "not a zone of region", count=None)
    assert error.startswith("invalid stack configuration (4 problems):")


def test_the_eks_target_refuses_a_storage_section_and_a_kubeconfig(run):
    result = run("dev", {"storage": {"rwo": {"className": "gp2"}}})
    assert_config_error(result, "storage", "creates its own storage classes")
    result = run("dev", secrets={f"{NS}:kubeconfig": "apiVersion: v1"})
    assert_config_error(result, "kubeconfig", "the eks target builds its own kubeconfig")
