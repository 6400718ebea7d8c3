"""EKS target: the cluster autoscaler, its IAM role and binding, and the Auto Scaling group tags.

Pure builders first (chart pins, policy, tags, values), then the dev and prod-aws stacks run
under the recording mocks, with a few keys replaced.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from eks_support import cluster_with, of_type, one, pools_of

from components.cluster.eks_autoscaler_specs import (
    CHART_VERSIONS,
    ClusterAutoscalerSettings,
    advertised_gpus,
    autoscaler_policy,
    autoscaler_values,
    chart_version,
    default_chart_version,
    node_template_tags,
)
from components.cluster.info import GpuPool, GpuSharing, Taint
from components.common.gpus import GPU_MODELS
from infra.plan.mocks import Registration
from infra.plan.runner import RunResult

RELEASE = "kubernetes:helm.sh/v3:Release"
TAG = "aws:autoscaling/tag:Tag"
TEMPLATE = "k8s.io/cluster-autoscaler/node-template"


def autoscaler_release(result: RunResult) -> Registration:
    (release,) = [r for r in of_type(result, RELEASE) if r.inputs["chart"] == "cluster-autoscaler"]
    return release


def asg_tags(result: RunResult, pool: str) -> dict[str, str]:
    """Tags on the Auto Scaling group of ``cluster-<pool>-ng``, checked to target that group."""
    ng = one(result, "aws:eks/nodeGroup:NodeGroup", f"cluster-{pool}-ng")
    # The mock names a node group's Auto Scaling group "eks-<node group name>-<suffix>", as EKS does.
    group = f"eks-{ng.id.split(':', 1)[1]}-"
    tags = [t for t in of_type(result, TAG) if t.name.startswith(f"cluster-{pool}-asg-")]
    assert tags and all(t.inputs["autoscalingGroupName"].startswith(group) for t in tags)
    assert len({t.inputs["autoscalingGroupName"] for t in tags}) == 1
    assert all(t.inputs["tag"]["propagateAtLaunch"] is False for t in tags)
    return {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in tags}


def l4_pool(**kw: Any) -> GpuPool:
    base: dict[str, Any] = dict(name="l4", gpu_model="L4", gpu_memory_gib=24, gpus_per_node=4,
                                node_selector={"genai-platform.io/gpu-pool": "l4"},
                                taints=(Taint("nvidia.com/gpu", "present", "NoSchedule"),))
    return GpuPool(**{**base, **kw})


# --- pure builders ---

def test_a_chart_is_pinned_for_every_supported_minor():
    assert set(CHART_VERSIONS) == {f"1.{m}" for m in range(29, 36)}
    versions = [tuple(map(int, CHART_VERSIONS[f"1.{m}"].split("."))) for m in range(29, 36)]
    assert versions == sorted(versions), "a newer Kubernetes minor gets a newer chart"
    assert default_chart_version("1.33") == "9.51.0"
    assert default_chart_version("1.36") is None
    assert chart_version(ClusterAutoscalerSettings(chart_version="9.60.0"), "1.36") == "9.60.0"
    with pytest.raises(ValueError, match="chartVersion"):
        chart_version(ClusterAutoscalerSettings(), "1.36")


def test_advertised_gpus_follow_the_sharing_mode():
    assert advertised_gpus(l4_pool()) == 4
    assert advertised_gpus(l4_pool(sharing=GpuSharing("time-slicing", replicas=4))) == 16
    h100 = l4_pool(gpu_model="H100-80GB", gpus_per_node=8)
    assert advertised_gpus(h100) == 8
    assert advertised_gpus(l4_pool(gpu_model="H100-80GB", gpus_per_node=8,
                                   sharing=GpuSharing("mig", mig_profile="1g.10gb"))) == 56
    assert advertised_gpus(l4_pool(gpu_model="A100-40GB", gpus_per_node=8,
                                   sharing=GpuSharing("mig", mig_profile="1g.10gb"))) == 32
    assert advertised_gpus(l4_pool(gpu_model="H100-80GB", gpus_per_node=8,
                                   sharing=GpuSharing("mig", mig_profile="3g.40gb"))) == 16


def test_every_mig_profile_has_an_instance_count():
    for model in GPU_MODELS.values():
        for profile, count in model.mig_devices.items():
            slices = int(profile.split("g.")[0])
            assert 1 <= count <= 7 // slices, (model.name, profile)


def test_node_template_tags_describe_labels_taints_and_gpus():
    tags = {t.key: t.value for t in node_template_tags(
        {"genai-platform.io/gpu-pool": "l4"}, (Taint("nvidia.com/gpu", "present", "NoSchedule"),), 4)}
    assert tags == {f"{TEMPLATE}/label/genai-platform.io/gpu-pool": "l4",
                    f"{TEMPLATE}/taint/nvidia.com/gpu": "present:NoSchedule",
                    f"{TEMPLATE}/resources/nvidia.com/gpu": "4"}
    assert not [t for t in node_template_tags({}, (), 0) if "resources" in t.key]


def test_policy_scales_only_this_clusters_groups():
    statements = {s["Sid"]: s for s in autoscaler_policy("genai-dev")["Statement"]}
    read, scale = statements["ReadGroupsAndInstanceTypes"], statements["ScaleThisClustersGroups"]
    assert set(read["Action"]) == {
        "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
        "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
        "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup"}
    assert scale["Action"] == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert scale["Condition"] == {"StringEquals": {
        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
        "aws:ResourceTag/k8s.io/cluster-autoscaler/genai-dev": "owned"}}


def test_values_run_it_hardened_on_the_system_pool():
    values = autoscaler_values("genai-dev", "us-east-1", ClusterAutoscalerSettings(), {})
    assert values["nodeSelector"] == {"genai-platform.io/pool": "system"}
    assert values["containerSecurityContext"]["readOnlyRootFilesystem"] is True
    assert values["containerSecurityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert values["securityContext"]["runAsNonRoot"] is True
    res = values["resources"]
    assert res["requests"] and res["limits"]


# --- the stacks ---

def test_release_pins_the_chart_for_the_clusters_minor(eks):
    result = eks("dev")
    release = autoscaler_release(result)
    i = release.inputs
    assert (i["chart"], i["version"], i["namespace"], i["name"]) == (
        "cluster-autoscaler", "9.51.0", "kube-system", "cluster-autoscaler")
    assert i["repositoryOpts"] == {"repo": "https://kubernetes.github.io/autoscaler"}
    v = i["values"]
    assert v["autoDiscovery"] == {"clusterName": "genai-dev"}
    assert v["awsRegion"] == "us-east-1" and v["cloudProvider"] == "aws"
    assert v["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert v["rbac"]["serviceAccount"]["annotations"] == {}
    args = v["extraArgs"]
    assert args["expander"] == "least-waste"
    assert args["balance-similar-node-groups"] is True
    assert args["skip-nodes-with-system-pods"] is False
    assert (args["scale-down-delay-after-add"], args["scale-down-unneeded-time"]) == ("20m", "15m")
    assert v["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    assert release.provider == one(result, "pulumi:providers:kubernetes", "cluster-k8s").urn
    component = one(result, "genai:cluster:EksClusterAutoscaler", "cluster-autoscaler")
    assert release.parent == component.urn
    assert component.parent == one(result, "genai:cluster:EksCluster", "cluster").urn


def test_pod_identity_binds_kube_system_cluster_autoscaler_to_its_role(eks):
    result = eks("prod-aws")
    association = one(result, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "cluster-autoscaler")
    role = one(result, "aws:iam/role:Role", "cluster-autoscaler")
    assert association.inputs == {"clusterName": "genai-prod", "namespace": "kube-system",
                                  "serviceAccount": "cluster-autoscaler",
                                  "roleArn": f"arn:aws:iam::123456789012:role/{role.id}"}
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:RequestTag/eks-cluster-name": "genai-prod",
                                                  "aws:RequestTag/kubernetes-namespace": "kube-system",
                                                  "aws:RequestTag/kubernetes-service-account": "cluster-autoscaler"}
    policy = one(result, "aws:iam/rolePolicy:RolePolicy", "cluster-autoscaler-scaling")
    assert policy.inputs["role"] == role.id
    assert json.loads(policy.inputs["policy"]) == autoscaler_policy("genai-prod")
    agent = one(result, "aws:eks/addon:Addon", "cluster-network-addons-eks-pod-identity-agent")
    assert agent.urn in association.dependencies
    # The pod starts with its credentials in place.
    release = autoscaler_release(result)
    assert {association.urn, policy.urn} <= set(release.dependencies)


def test_irsa_annotates_the_service_account_with_the_role(eks):
    result = eks("dev", {"cluster": cluster_with("dev", workloadIdentity="irsa")})
    assert not [a for a in of_type(result, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if a.inputs["namespace"] == "kube-system"]
    role = one(result, "aws:iam/role:Role", "cluster-autoscaler")
    annotations = autoscaler_release(result).inputs["values"]["rbac"]["serviceAccount"]["annotations"]
    assert annotations == {"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{role.id}"}
    (oidc,) = of_type(result, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    host = oidc.inputs["url"].removeprefix("https://")
    condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert condition[f"{host}:sub"] == "system:serviceaccount:kube-system:cluster-autoscaler"


def test_every_node_group_carries_the_discovery_tags_on_its_auto_scaling_group(eks):
    result = eks("prod-aws")
    for pool in ("system", "gpu-h100", "gpu-l40s"):
        tags = asg_tags(result, pool)
        assert tags["k8s.io/cluster-autoscaler/enabled"] == "true", pool
        assert tags["k8s.io/cluster-autoscaler/genai-prod"] == "owned", pool
    assert not [k for k in asg_tags(result, "system") if k.startswith(TEMPLATE)]


def test_a_gpu_pool_scaling_from_zero_describes_its_nodes_on_its_auto_scaling_group(eks):
    pools = pools_of("dev")
    pools[0].update(instanceType="g6.12xlarge", minSize=0)
    result = eks("dev", {"gpuPools": pools})
    ng = one(result, "aws:eks/nodeGroup:NodeGroup", "cluster-gpu-l4-ng")
    assert ng.inputs["scalingConfig"]["minSize"] == 0
    assert ng.inputs["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-l4"
    assert asg_tags(result, "gpu-l4") == {
        "k8s.io/cluster-autoscaler/enabled": "true",
        "k8s.io/cluster-autoscaler/genai-dev": "owned",
        f"{TEMPLATE}/label/genai-platform.io/gpu-pool": "l4",
        f"{TEMPLATE}/label/k8s.amazonaws.com/accelerator": "nvidia-l4",
        f"{TEMPLATE}/taint/nvidia.com/gpu": "present:NoSchedule",
        f"{TEMPLATE}/resources/nvidia.com/gpu": "4",
    }


def test_shared_gpus_are_counted_as_the_device_plugin_advertises_them(eks):
    pools = pools_of("prod-aws")
    pools[0]["sharing"] = {"mode": "mig", "migProfile": "1g.10gb"}         # p5.48xlarge: 8 x H100
    pools[1]["sharing"] = {"mode": "time-slicing", "replicas": 4}           # g6e.12xlarge: 4 x L40S
    result = eks("prod-aws", {"gpuPools": pools})
    h100, l40s = asg_tags(result, "gpu-h100"), asg_tags(result, "gpu-l40s")
    assert h100[f"{TEMPLATE}/resources/nvidia.com/gpu"] == "56"
    assert h100[f"{TEMPLATE}/label/nvidia.com/mig.config"] == "all-1g.10gb"
    assert l40s[f"{TEMPLATE}/resources/nvidia.com/gpu"] == "16"
    assert l40s[f"{TEMPLATE}/label/nvidia.com/device-plugin.config"] == "l40s"


def test_chart_version_and_timings_can_be_set(eks):
    settings = {"chartVersion": "9.50.1", "scaleDownUnneededTime": "5m", "scaleDownDelayAfterAdd": "1h"}
    result = eks("dev", {"cluster": cluster_with("dev", clusterAutoscaler=settings)})
    release = autoscaler_release(result)
    assert release.inputs["version"] == "9.50.1"
    args = release.inputs["values"]["extraArgs"]
    assert (args["scale-down-unneeded-time"], args["scale-down-delay-after-add"]) == ("5m", "1h")


def test_a_newer_kubernetes_minor_needs_an_explicit_chart(eks):
    cluster = cluster_with("dev", clusterAutoscaler={"chartVersion": "9.60.0"})
    cluster["kubernetesVersion"] = "1.36"
    assert autoscaler_release(eks("dev", {"cluster": cluster})).inputs["version"] == "9.60.0"


def test_turned_off_there_is_no_autoscaler_role_tag_or_label(eks):
    result = eks("dev", {"cluster": cluster_with("dev", clusterAutoscaler={"enabled": False})})
    assert not [r for r in of_type(result, RELEASE) if r.inputs["chart"] == "cluster-autoscaler"]
    assert not of_type(result, TAG)
    assert not of_type(result, "genai:cluster:EksClusterAutoscaler")
    assert not [r for r in result.monitor.registrations if r.name.startswith("cluster-autoscaler")]
    ng = one(result, "aws:eks/nodeGroup:NodeGroup", "cluster-gpu-l4-ng")
    assert "k8s.amazonaws.com/accelerator" not in ng.inputs["labels"]
    # Node groups still leave their size alone: whatever scales them owns it.
    assert ng.ignore_changes == ["scalingConfig.desiredSize"]
