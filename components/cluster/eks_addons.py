"""EksAddons: a set of EKS managed add-ons and the IAM roles their pods use.

Creates, per add-on:
- when its pods call AWS APIs (VPC CNI, EBS CSI, EFS CSI): an IAM role with the AWS managed
  policy the add-on documents, trusted through EKS Pod Identity (association owned by the
  add-on) or IRSA (role ARN set on the add-on's service account), by setting;
- the add-on itself at a pinned version: the one given in the stack, or else the version EKS
  marks as default for the cluster's Kubernetes version (read with ``eks.getAddonVersion``),
  so a Kubernetes upgrade moves the add-ons along with it.

The cluster component uses two instances: networking add-ons before the nodes exist and the
others once the system pool is up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.cluster.eks_iam import OidcIssuer, ServiceAccountRef, child, role, workload_trust
from components.cluster.eks_specs import AddonSpec, WorkloadIdentityMode

ADDON_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class EksAddonsArgs:
    provider: aws.Provider
    region: str
    cluster_name: str
    # The cluster's name as an output of the cluster, so add-ons wait for it.
    cluster: pulumi.Input[str]
    kubernetes_version: str
    addons: tuple[AddonSpec, ...]
    identity_mode: WorkloadIdentityMode = "pod-identity"
    versions: Mapping[str, str] = field(default_factory=dict)
    oidc: Optional[OidcIssuer] = None
    depends_on: tuple[pulumi.Resource, ...] = ()


class EksAddons(pulumi.ComponentResource):
    addons: dict[str, aws.eks.Addon]

    def __init__(self, name: str, args: EksAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:EksAddons", name, None, opts)
        self.addons = {}
        self.roles: dict[str, aws.iam.Role] = {}
        for spec in args.addons:
            self.addons[spec.name] = self._addon(name, spec, args)
        self.register_outputs({"addons": {n: a.addon_version for n, a in self.addons.items()}})

    def _pinned_version(self, spec: AddonSpec, args: EksAddonsArgs) -> pulumi.Input[str]:
        pinned = args.versions.get(spec.name)
        if pinned:
            return pinned
        return aws.eks.get_addon_version_output(
            addon_name=spec.name,
            kubernetes_version=args.kubernetes_version,
            most_recent=False,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=args.provider),
        ).version

    def _addon(self, name: str, spec: AddonSpec, args: EksAddonsArgs) -> aws.eks.Addon:
        depends = list(args.depends_on)
        associations = None
        role_arn = None
        if spec.service_accounts:
            # IRSA trust may name a pattern covering the add-on's controller and node accounts.
            subject = spec.irsa_subject if args.identity_mode == "irsa" and spec.irsa_subject else spec.service_accounts[0]
            addon_role, attachments = role(
                f"{name}-{spec.name}",
                workload_trust(args.identity_mode, args.cluster_name, ServiceAccountRef(ADDON_NAMESPACE, subject),
                               args.oidc),
                self, args.provider, args.region, spec.policies,
                description=f"EKS add-on {spec.name} of cluster {args.cluster_name}",
            )
            self.roles[spec.name] = addon_role
            depends += attachments
            if args.identity_mode == "pod-identity":
                associations = [aws.eks.AddonPodIdentityAssociationArgs(role_arn=addon_role.arn, service_account=sa)
                                for sa in spec.service_accounts]
            else:
                role_arn = addon_role.arn
        return aws.eks.Addon(
            f"{name}-{spec.name}",
            cluster_name=args.cluster,
            addon_name=spec.name,
            addon_version=self._pinned_version(spec, args),
            # The cluster is created without the self-managed copies; OVERWRITE only matters if
            # someone installed one by hand, and our configuration wins over in-cluster edits.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            pod_identity_associations=associations,
            service_account_role_arn=role_arn,
            opts=child(self, args.provider, depends_on=depends),
        )
