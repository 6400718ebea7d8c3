"""Pure builders for the Kubernetes Cluster Autoscaler on EKS: chart pin, Helm values, IAM
policy and the Auto Scaling group tags it reads.

Data in, data out: no cloud SDK, no Pulumi resources; the config checks use the same table.

How the autoscaler sees the managed node groups (cluster-autoscaler's AWS provider,
``cloudprovider/aws``, 1.29 .. 1.35):
- it discovers Auto Scaling groups by tag (``--node-group-auto-discovery=asg:tag=...``, which
  the chart builds from ``autoDiscovery.clusterName``). EKS tags the groups of managed node
  groups for discovery; it does not copy the node group's own tags to its group;
- a group with nodes is modelled on one of them. A group at zero nodes is modelled on a
  template: CPU, memory and GPUs of its instance type, the labels, taints and resources of
  the group's ``k8s.io/cluster-autoscaler/node-template/...`` tags and, when EKS's API
  answers, the node group's labels, taints and resource tags read with
  ``eks:DescribeNodegroup``. The group's tags work without that call. The instance type's
  GPU count is wrong for a pool whose GPUs are time-sliced or split by MIG (the device plugin
  advertises more ``nvidia.com/gpu`` than the instance has GPUs), so the resource tag states
  what a node really offers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from components.cluster.eks_specs import SYSTEM_POOL_LABEL
from components.cluster.info import GpuPool, Taint
from components.common.security import Resources, container_security_context, pod_security_context

CHART = "cluster-autoscaler"
REPOSITORY = "https://kubernetes.github.io/autoscaler"
RELEASE = "cluster-autoscaler"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
# Kubernetes minor -> newest chart of that repository whose appVersion has the same minor (the
# autoscaler is only tested against its own Kubernetes minor). appVersion in the comment.
CHART_VERSIONS: dict[str, str] = {
    "1.29": "9.36.0",   # 1.29.0
    "1.30": "9.37.0",   # 1.30.0
    "1.31": "9.44.0",   # 1.31.0
    "1.32": "9.46.6",   # 1.32.0
    "1.33": "9.51.0",   # 1.33.0
    "1.34": "9.53.0",   # 1.34.2
    "1.35": "9.59.0",   # 1.35.0
}
TAG_PREFIX = "k8s.io/cluster-autoscaler"
TEMPLATE_PREFIX = f"{TAG_PREFIX}/node-template"
# What the cluster autoscaler's AWS provider reads to tell a GPU node whose device plugin has
# not yet advertised its GPUs from a node without GPUs (it would otherwise add more nodes for
# the same pods while the first one starts).
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
# Values the AWS provider knows (it reports others as "generic" in its metrics).
_ACCELERATOR_NAMES = {"T4": "nvidia-tesla-t4", "A10G": "nvidia-a10g", "L4": "nvidia-l4", "L40S": "nvidia-l40s",
                      "A100-40GB": "nvidia-tesla-a100", "A100-80GB": "nvidia-tesla-a100"}
RESOURCES = Resources(cpu_request="100m", memory_request="600Mi", cpu_limit="500m", memory_limit="600Mi")


@dataclass(frozen=True)
class ClusterAutoscalerSettings:
    enabled: bool = True
    # Unset: CHART_VERSIONS for the cluster's Kubernetes minor.
    chart_version: Optional[str] = None
    # A GPU node takes minutes to boot, pull multi-GB engine images and load weights: removing
    # it soon after it came (or after a short lull) pays that again on the next request burst.
    scale_down_unneeded_time: str = "15m"
    scale_down_delay_after_add: str = "20m"


@dataclass(frozen=True)
class AsgTag:
    """One tag on a node group's Auto Scaling group; ``slug`` names its Pulumi resource."""

    slug: str
    key: str
    value: str


def kubernetes_minor(version: str) -> str:
    major, minor = version.split(".")[:2]
    return f"{major}.{minor}"


def default_chart_version(kubernetes_version: str) -> Optional[str]:
    return CHART_VERSIONS.get(kubernetes_minor(kubernetes_version))


def chart_version(settings: ClusterAutoscalerSettings, kubernetes_version: str) -> str:
    version = settings.chart_version or default_chart_version(kubernetes_version)
    if version is None:
        raise ValueError(f"no cluster-autoscaler chart known for Kubernetes {kubernetes_version}; "
                         "set cluster.eks.clusterAutoscaler.chartVersion")
    return version


def discovery_tag_keys(cluster_name: str) -> tuple[str, str]:
    """The tag keys the chart's default ``autoDiscovery.tags`` look for."""
    return f"{TAG_PREFIX}/enabled", f"{TAG_PREFIX}/{cluster_name}"


def discovery_tags(cluster_name: str) -> list[AsgTag]:
    """Auto-discovery tags with the values EKS gives managed node groups; the IAM policy's
    scaling statement requires these values."""
    enabled, owned = discovery_tag_keys(cluster_name)
    return [AsgTag("enabled", enabled, "true"), AsgTag("cluster", owned, "owned")]


def accelerator_label(gpu_model: str) -> dict[str, str]:
    name = _ACCELERATOR_NAMES.get(gpu_model) or "nvidia-" + re.sub(r"[^a-z0-9.-]+", "-", gpu_model.lower())
    return {ACCELERATOR_LABEL: name}


def advertised_gpus(pool: GpuPool) -> int:
    """``nvidia.com/gpu`` one node of the pool offers: GPUs, time-sliced replicas or MIG slices."""
    return pool.advertised_gpus_per_node


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")


def node_template_tags(labels: Mapping[str, str], taints: tuple[Taint, ...], gpus: int) -> list[AsgTag]:
    """What a node of the group would look like, for scaling the group up from zero nodes."""
    tags = [AsgTag(f"label-{_slug(k)}", f"{TEMPLATE_PREFIX}/label/{k}", v) for k, v in sorted(labels.items())]
    tags += [AsgTag(f"taint-{_slug(t.key)}", f"{TEMPLATE_PREFIX}/taint/{t.key}", f"{t.value}:{t.effect}")
             for t in taints]
    if gpus > 0:
        tags.append(AsgTag("resource-nvidia.com-gpu", f"{TEMPLATE_PREFIX}/resources/nvidia.com/gpu", str(gpus)))
    return tags


def autoscaler_policy(cluster_name: str) -> dict:
    """The permissions the AWS provider documents for auto-discovery; scaling and terminating
    only on groups tagged as this cluster's."""
    enabled, owned = discovery_tag_keys(cluster_name)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadGroupsAndInstanceTypes", "Effect": "Allow", "Resource": "*", "Action": [
            "autoscaling:DescribeAutoScalingGroups",
            "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations",
            "autoscaling:DescribeScalingActivities",
            "ec2:DescribeImages",
            "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions",
            "ec2:GetInstanceTypesFromInstanceRequirements",
            "eks:DescribeNodegroup",
        ]},
        {"Sid": "ScaleThisClustersGroups", "Effect": "Allow", "Resource": "*",
         "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{enabled}": "true", f"aws:ResourceTag/{owned}": "owned"}}},
    ]}


def autoscaler_values(cluster_name: str, region: str, settings: ClusterAutoscalerSettings,
                      service_account_annotations: Mapping[str, Any]) -> dict:
    """Values of the ``cluster-autoscaler`` chart (keys as in its values.yaml, 9.36 .. 9.59)."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        # The chart turns this into --node-group-auto-discovery=asg:tag=<the two discovery keys>.
        "autoDiscovery": {"clusterName": cluster_name},
        "fullnameOverride": RELEASE,
        "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT,
                                    "annotations": dict(service_account_annotations)}},
        # Merged over the chart's own extraArgs (log settings); each becomes --key=value.
        "extraArgs": {
            # Cheapest fit first among the groups that could run the pending pods.
            "expander": "least-waste",
            "balance-similar-node-groups": True,
            # kube-system pods (CoreDNS, CSI controllers) move like any other pod; without this
            # a system node running one of them could never be removed.
            "skip-nodes-with-system-pods": False,
            # Model servers keep scratch (shared memory, caches) in emptyDir volumes that are
            # safe to lose; with the default such GPU nodes would never be consolidated.
            "skip-nodes-with-local-storage": False,
            "scale-down-unneeded-time": settings.scale_down_unneeded_time,
            "scale-down-delay-after-add": settings.scale_down_delay_after_add,
        },
        # On the CPU system pool, next to the other cluster add-ons, and still admitted if that
        # pool is ever tainted for critical add-ons only (as CoreDNS is).
        "nodeSelector": {SYSTEM_POOL_LABEL: "system"},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
        "resources": RESOURCES.to_k8s(),
        # The image is distroless, user 65532; it reads the API with its service-account token.
        "securityContext": pod_security_context(),
        "containerSecurityContext": container_security_context(),
    }
