"""EksClusterAutoscaler: the Kubernetes Cluster Autoscaler, which owns the node groups' sizes.

Creates:
- an IAM role for ``kube-system/cluster-autoscaler``, trusted through EKS Pod Identity (a
  ``PodIdentityAssociation``) or IRSA (the role ARN annotation on the chart's service
  account), by setting, with an inline policy: read Auto Scaling groups, launch templates,
  instance types and node groups; set the desired size of and terminate instances in only
  the groups tagged as this cluster's;
- the Helm release (chart ``cluster-autoscaler`` from the Kubernetes autoscaler repository,
  pinned per Kubernetes minor) in ``kube-system`` on the system pool: auto-discovery of the
  cluster's groups by tag, least-waste expander, similar groups balanced, scale-down timings
  by setting.

The tags it discovers and models empty groups by sit on each node group's Auto Scaling group
(EksNodePool); the node groups ignore later changes of their desired size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.eks_autoscaler_specs import (
    CHART,
    NAMESPACE,
    RELEASE,
    REPOSITORY,
    SERVICE_ACCOUNT,
    ClusterAutoscalerSettings,
    autoscaler_policy,
    autoscaler_values,
)
from components.cluster.eks_iam import OidcIssuer, ServiceAccountRef, child, role, workload_trust
from components.cluster.eks_specs import ROLE_ARN_ANNOTATION, WorkloadIdentityMode
from components.common.k8s import child_opts


@dataclass(frozen=True)
class EksClusterAutoscalerArgs:
    provider: aws.Provider
    k8s_provider: k8s.Provider
    region: str
    cluster_name: str
    # The cluster's name as an output of the cluster, so the association waits for it.
    cluster: pulumi.Input[str]
    chart_version: str
    settings: ClusterAutoscalerSettings = ClusterAutoscalerSettings()
    identity_mode: WorkloadIdentityMode = "pod-identity"
    oidc: Optional[OidcIssuer] = None
    # The Pod Identity agent: an association is only served once it runs.
    depends_on: tuple[pulumi.Resource, ...] = ()


class EksClusterAutoscaler(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: EksClusterAutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:EksClusterAutoscaler", name, None, opts)
        account = ServiceAccountRef(NAMESPACE, SERVICE_ACCOUNT)
        self.role, _ = role(
            name, workload_trust(args.identity_mode, args.cluster_name, account, args.oidc), self, args.provider,
            args.region, description=f"Cluster autoscaler ({NAMESPACE}/{SERVICE_ACCOUNT}) of {args.cluster_name}",
        )
        permissions = aws.iam.RolePolicy(
            f"{name}-scaling",
            role=self.role.id,
            policy=json.dumps(autoscaler_policy(args.cluster_name)),
            opts=child(self, args.provider),
        )
        # The pod must start with its credentials: the binding and the permissions come first.
        before: list[pulumi.Resource] = [permissions]
        annotations: dict[str, pulumi.Input[str]] = {}
        if args.identity_mode == "pod-identity":
            before.append(aws.eks.PodIdentityAssociation(
                name,
                cluster_name=args.cluster,
                namespace=NAMESPACE,
                service_account=SERVICE_ACCOUNT,
                role_arn=self.role.arn,
                opts=child(self, args.provider, depends_on=list(args.depends_on)),
            ))
        else:
            annotations[ROLE_ARN_ANNOTATION] = self.role.arn
        self.values = autoscaler_values(args.cluster_name, args.region, args.settings, annotations)
        self.release = k8s.helm.v3.Release(
            name,
            name=RELEASE,
            chart=CHART,
            version=args.chart_version,
            repository_opts={"repo": REPOSITORY},
            namespace=NAMESPACE,
            values=self.values,
            opts=child_opts(self, args.k8s_provider, depends_on=before),
        )
        self.register_outputs({"chartVersion": args.chart_version, "role": self.role.arn})
