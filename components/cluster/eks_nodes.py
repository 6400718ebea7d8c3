"""EksNodePool: one EKS managed node group (the CPU system pool or a GPU pool).

Creates:
- a launch template: the node's container-storage volume (gp3, encrypted; the root volume on
  AL2023, the data volume on Bottlerocket), IMDSv2 required, instance and volume tags;
- the managed node group: AMI type, instance types, on-demand or spot capacity, the pinned
  Kubernetes version, labels, taints, subnets, and autoscaling bounds. The desired size is
  set at creation only: afterwards the cluster autoscaler owns it, so a scale-up or -down is
  not a diff on the next `pulumi up`;
- the tags the cluster autoscaler reads on the node group's Auto Scaling group, which EKS
  creates (auto-discovery; for GPU pools the labels, taints and GPUs of a node, to scale up
  from zero). EKS does not copy the node group's own tags to its Auto Scaling group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.cluster.eks_autoscaler_specs import AsgTag
from components.cluster.eks_iam import child
from components.cluster.eks_specs import block_devices, taint_effect
from components.cluster.info import Taint

# Property path of the node count the autoscaler changes (the provider's camelCase names).
AUTOSCALED_FIELD = "scalingConfig.desiredSize"


@dataclass(frozen=True)
class EksNodePoolArgs:
    provider: aws.Provider
    # "<cluster>-<pool>": the Name tag of instances and volumes in the EC2 console.
    display_name: str
    cluster_name: pulumi.Input[str]
    kubernetes_version: str
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    ami_type: str
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    desired_size: Optional[int] = None
    spot: bool = False
    disk_size_gib: int = 100
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # Tags of the Auto Scaling group only (not of instances or volumes).
    asg_tags: tuple[AsgTag, ...] = ()
    # What must exist before nodes boot (the CNI add-on, the node role's policies).
    depends_on: tuple[pulumi.Resource, ...] = ()


class EksNodePool(pulumi.ComponentResource):
    node_group: aws.eks.NodeGroup

    def __init__(self, name: str, args: EksNodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:EksNodePool", name, None, opts)
        provider = args.provider
        tags = {"Name": args.display_name, **args.tags}
        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"EKS managed node group {args.display_name}",
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=d["device_name"],
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(**d["ebs"]),
                )
                for d in block_devices(args.ami_type, args.disk_size_gib)
            ],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # Two hops, as in EKS's own templates: add-on pods (EBS CSI) read the region and
                # instance id from instance metadata; their AWS credentials come from Pod Identity.
                http_put_response_hop_limit=2,
            ),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume")
            ],
            update_default_version=True,
            opts=child(self, provider),
        )
        desired = args.desired_size if args.desired_size is not None else args.min_size
        self.node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            ami_type=args.ami_type,
            capacity_type="SPOT" if args.spot else "ON_DEMAND",
            instance_types=list(args.instance_types),
            version=args.kubernetes_version,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.min_size, max_size=args.max_size, desired_size=desired),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)),
            labels=dict(args.labels),
            taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value or None, effect=taint_effect(t.effect))
                    for t in args.taints],
            tags=tags,
            opts=child(self, provider, depends_on=list(args.depends_on), ignore_changes=[AUTOSCALED_FIELD]),
        )
        # A managed node group has exactly one Auto Scaling group.
        self.asg_name = self.node_group.resources.apply(lambda rs: rs[0].autoscaling_groups[0].name)
        for tag in args.asg_tags:
            aws.autoscaling.Tag(
                f"{name}-asg-{tag.slug}",
                autoscaling_group_name=self.asg_name,
                # Instances get their tags from the launch template.
                tag=aws.autoscaling.TagTagArgs(key=tag.key, value=tag.value, propagate_at_launch=False),
                opts=child(self, provider),
            )
        self.register_outputs({"nodeGroupName": self.node_group.node_group_name, "autoScalingGroup": self.asg_name})
