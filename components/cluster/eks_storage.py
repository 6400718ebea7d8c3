"""EksStorage: the cluster's storage classes and the EFS file system behind the RWX one.

Creates:
- an EFS file system (encrypted with the platform's KMS key, elastic or bursting throughput;
  protected with the stack) for the model catalog and other shared volumes;
- a security group admitting NFS (TCP 2049) from the VPC's CIDR, and a mount target in every
  private subnet so pods in any zone reach the file system locally;
- the RWX StorageClass ``efs-rwx`` (EFS CSI, one access point per volume);
- the default RWO StorageClass ``gp3`` (EBS CSI, encrypted, WaitForFirstConsumer, expandable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.eks_iam import child
from components.cluster.eks_specs import NFS_PORT, efs_storage_class, gp3_storage_class
from components.cluster.info import StorageClasses
from components.common.k8s import child_opts, storage_class


@dataclass(frozen=True)
class EksStorageArgs:
    provider: aws.Provider
    k8s_provider: k8s.Provider
    cluster_name: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    kms_key_arn: pulumi.Input[str]
    throughput_mode: Literal["elastic", "bursting"] = "elastic"
    protect: bool = False
    # The CSI add-ons: a class is usable only once its driver runs.
    ebs_driver: Optional[pulumi.Resource] = None
    efs_driver: Optional[pulumi.Resource] = None



class EksStorage(pulumi.ComponentResource):
    classes: StorageClasses

    def __init__(self, name: str, args: EksStorageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:EksStorage", name, None, opts)
        provider = args.provider
        self.file_system = aws.efs.FileSystem(
            f"{name}-efs",
            encrypted=True,
            kms_key_id=args.kms_key_arn,
            performance_mode="generalPurpose",
            throughput_mode=args.throughput_mode,
            tags={"Name": f"{args.cluster_name}-shared"},
            opts=child(self, provider, protect=args.protect),
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-efs-nfs",
            vpc_id=args.vpc_id,
            description=f"NFS to the EFS mount targets of {args.cluster_name}",
            tags={"Name": f"{args.cluster_name}-efs"},
            opts=child(self, provider),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-efs-nfs-from-vpc",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=NFS_PORT,
            to_port=NFS_PORT,
            cidr_ipv4=args.vpc_cidr,
            description="NFS from nodes and pods in the VPC",
            opts=child(self, provider),
        )
        targets = [
            aws.efs.MountTarget(
                f"{name}-efs-{i}",
                file_system_id=self.file_system.id,
                subnet_id=subnet,
                security_groups=[group.id],
                opts=child(self, provider),
            )
            for i, subnet in enumerate(args.private_subnet_ids)
        ]
        k8s_provider = args.k8s_provider
        gp3 = gp3_storage_class(args.protect)
        efs = efs_storage_class(self.file_system.id, args.protect)
        self.rwo = storage_class(f"{name}-gp3", gp3, child_opts(
            self, k8s_provider, depends_on=[d for d in (args.ebs_driver,) if d is not None]))
        # Provisioning creates an access point and mounts through a mount target in the pod's zone.
        self.rwx = storage_class(f"{name}-efs-rwx", efs, child_opts(
            self, k8s_provider, depends_on=[*targets, *[d for d in (args.efs_driver,) if d is not None]]))
        self.classes = StorageClasses(rwo=gp3["metadata"]["name"], rwx=efs["metadata"]["name"])
        self.register_outputs({"fileSystemId": self.file_system.id, "rwoClass": self.classes.rwo,
                               "rwxClass": self.classes.rwx})
