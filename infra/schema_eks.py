"""Stack settings of the eks cluster target (`cluster.eks`).

Field-level rules only (formats, ranges, enums); rules that relate fields (zones and region,
subnet CIDRs inside the VPC, endpoint access and CIDRs, spot on capacity-reserved GPU types,
Bottlerocket and GPU sharing) live in ``infra/checks_eks.py`` so every problem is reported at
once. No cloud SDK is imported here.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from infra.schema_base import Cidr, Section, matches

DEFAULT_SYSTEM_INSTANCE_TYPE = "m6i.xlarge"
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)

_REGION = re.compile(r"^(us-gov|us-iso[a-z]?|[a-z]{2})-[a-z]+-\d{1,2}$")
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_PRINCIPAL = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
_VPC_ID = re.compile(r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")
_SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
_ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
_CHART_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
# Whole hours, minutes and seconds, in that order (a subset of Go's duration syntax).
_DURATION = re.compile(r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$")






def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be one of the retention periods CloudWatch accepts "
                         f"({', '.join(map(str, LOG_RETENTION_DAYS))}); got {value!r}")
    return value


Region = Annotated[str, AfterValidator(matches(_REGION, "an AWS region name such as 'us-east-1'"))]
ClusterName = Annotated[str, AfterValidator(matches(
    _CLUSTER_NAME, "1-100 letters, digits, '-' or '_', starting with a letter or digit"))]
PrincipalArn = Annotated[str, AfterValidator(matches(
    _PRINCIPAL, "an IAM role or user ARN such as 'arn:aws:iam::123456789012:role/platform-admins'"))]
VpcId = Annotated[str, AfterValidator(matches(_VPC_ID, "a VPC id such as 'vpc-0a1b2c3d4e5f60718'"))]
SubnetId = Annotated[str, AfterValidator(matches(_SUBNET_ID, "a subnet id such as 'subnet-0a1b2c3d4e5f60718'"))]
AddonVersion = Annotated[str, AfterValidator(matches(
    _ADDON_VERSION, "an EKS add-on version such as 'v1.20.4-eksbuild.2'"))]
RetentionDays = Annotated[int, AfterValidator(_retention)]
ChartVersion = Annotated[str, AfterValidator(matches(_CHART_VERSION, "a chart version such as '9.51.0'"))]
Duration = Annotated[str, AfterValidator(matches(_DURATION, "a duration such as '10m', '90s' or '1h30m'"))]


class EksNetworkConfig(Section):
    """The VPC created for the cluster: one private and one public subnet per zone."""

    vpc_cidr: Cidr = "10.0.0.0/16"
    # Unset: private subnets take the first eighths of the VPC, public ones share the last.
    private_subnet_cidrs: list[Cidr] = []
    public_subnet_cidrs: list[Cidr] = []
    nat_gateways: Literal["one-per-zone", "single"] = "one-per-zone"


class EksExistingVpcConfig(Section):
    """A VPC someone else runs: the cluster, nodes and EFS mount targets go into its subnets."""

    vpc_id: VpcId
    private_subnet_ids: list[SubnetId]


class EksEndpointConfig(Section):
    access: Literal["public", "private", "public-and-private"] = "public-and-private"
    public_access_cidrs: list[Cidr] = []


class EksClusterAutoscalerConfig(Section):
    """The Kubernetes Cluster Autoscaler, which resizes the node groups (GPU pools to zero)."""

    enabled: bool = True
    # Unset: the chart pinned for the cluster's Kubernetes minor.
    chart_version: Optional[ChartVersion] = None
    scale_down_unneeded_time: Duration = "15m"
    scale_down_delay_after_add: Duration = "20m"


class EksConfig(Section):
    region: Region
    name: Optional[ClusterName] = None
    profile: Optional[str] = None
    zones: list[str] = []
    az_count: int = Field(default=3, strict=True)
    network: EksNetworkConfig = EksNetworkConfig()
    existing_vpc: Optional[EksExistingVpcConfig] = None
    endpoint: EksEndpointConfig = EksEndpointConfig()
    admin_principals: list[PrincipalArn] = []
    workload_identity: Literal["pod-identity", "irsa"] = "pod-identity"
    gpu_ami_type: Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"] = "AL2023_x86_64_NVIDIA"
    support_type: Literal["STANDARD", "EXTENDED"] = "STANDARD"
    control_plane_logs: list[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = [
        "api", "audit", "authenticator"]
    log_retention_days: RetentionDays = 90
    addon_versions: dict[str, AddonVersion] = {}
    bucket_encryption: Literal["aws:kms", "AES256"] = "aws:kms"
    efs_throughput_mode: Literal["elastic", "bursting"] = "elastic"
    cluster_autoscaler: EksClusterAutoscalerConfig = EksClusterAutoscalerConfig()
    tags: dict[str, str] = {}
