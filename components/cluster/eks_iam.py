"""IAM helpers shared by the EKS components: roles for AWS services and for Kubernetes
service accounts (EKS Pod Identity or IRSA).

Functions, not a component: each creates its resources under the caller's component.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.cluster.eks_specs import WorkloadIdentityMode, irsa_trust, managed_policy_arn, pod_identity_trust


def child(parent: pulumi.Resource, provider: aws.Provider, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options of an AWS resource: explicit provider (the default one is disabled), explicit parent."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, **kwargs)


@dataclass(frozen=True)
class OidcIssuer:
    """The cluster's IAM OIDC provider (IRSA only)."""

    provider_arn: pulumi.Output[str]
    issuer_url: pulumi.Output[str]


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    name: str


def role(name: str, trust: pulumi.Input[str], parent: pulumi.Resource, provider: aws.Provider, region: str,
         managed_policies: Sequence[str] = (), description: str = "") -> tuple[aws.iam.Role, list[pulumi.Resource]]:
    """An IAM role with AWS managed policies attached (names relative to ``policy/``).

    Returns the role and its attachments: whatever uses the role should wait for both, or it
    may start with the role but without its permissions.
    """
    created = aws.iam.Role(name, assume_role_policy=trust, description=description,
                           opts=child(parent, provider))
    attachments: list[pulumi.Resource] = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.rsplit('/', 1)[-1]}",
            role=created.name,
            policy_arn=managed_policy_arn(region, policy),
            opts=child(parent, provider),
        )
        for policy in managed_policies
    ]
    return created, attachments


def workload_trust(mode: WorkloadIdentityMode, cluster_name: str, account: ServiceAccountRef,
                   oidc: Optional[OidcIssuer]) -> pulumi.Input[str]:
    """Trust policy of a role assumed by the pods of one service account."""
    if mode == "pod-identity":
        return json.dumps(pod_identity_trust(cluster_name, account.namespace, account.name))
    if oidc is None:
        raise ValueError("IRSA needs the cluster's OIDC provider")
    return pulumi.Output.all(oidc.provider_arn, oidc.issuer_url).apply(
        lambda v: json.dumps(irsa_trust(v[0], v[1], account.namespace, account.name)))
