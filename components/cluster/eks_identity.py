"""EksWorkloadIdentities: IAM roles for the platform's Kubernetes service accounts.

Creates, per identity request (model downloads read the bucket, backups read and write it):
- an IAM role trusted by that one namespace/service account: through EKS Pod Identity
  (``pods.eks.amazonaws.com``, narrowed by the cluster/namespace/service-account session
  tags) or IRSA (the cluster's OIDC provider, ``sub`` and ``aud`` claims), by setting;
- an inline policy on the platform bucket (and its KMS key when the bucket uses one);
- with Pod Identity, the ``PodIdentityAssociation`` binding the service account to the role.
  With IRSA the binding is the ``eks.amazonaws.com/role-arn`` annotation the owning layer
  puts on its service account (``WorkloadIdentity.annotations``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.cluster.eks_iam import OidcIssuer, ServiceAccountRef, child, role, workload_trust
from components.cluster.eks_specs import ROLE_ARN_ANNOTATION, WorkloadIdentityMode, bucket_access_policy
from components.cluster.info import IdentityRequest, WorkloadIdentity


@dataclass(frozen=True)
class EksWorkloadIdentitiesArgs:
    provider: aws.Provider
    region: str
    cluster_name: str
    cluster: pulumi.Input[str]
    requests: tuple[IdentityRequest, ...]
    bucket_arn: pulumi.Input[str]
    bucket_key_arn: Optional[pulumi.Input[str]] = None
    mode: WorkloadIdentityMode = "pod-identity"
    oidc: Optional[OidcIssuer] = None
    # The Pod Identity agent: associations are only served once it runs.
    depends_on: tuple[pulumi.Resource, ...] = ()


class EksWorkloadIdentities(pulumi.ComponentResource):
    identities: dict[str, WorkloadIdentity]

    def __init__(self, name: str, args: EksWorkloadIdentitiesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:EksWorkloadIdentities", name, None, opts)
        self.identities = {}
        for request in args.requests:
            self.identities[request.name] = self._identity(f"{name}-{request.name}", request, args)
        self.register_outputs({"roles": {n: i.cloud_principal for n, i in self.identities.items()}})

    def _identity(self, name: str, request: IdentityRequest, args: EksWorkloadIdentitiesArgs) -> WorkloadIdentity:
        account = ServiceAccountRef(request.namespace, request.service_account)
        workload_role, _ = role(
            name, workload_trust(args.mode, args.cluster_name, account, args.oidc), self, args.provider, args.region,
            description=f"{request.name}: {request.namespace}/{request.service_account} on {args.cluster_name}",
        )
        key = args.bucket_key_arn if args.bucket_key_arn is not None else ""
        aws.iam.RolePolicy(
            f"{name}-bucket",
            role=workload_role.id,
            policy=pulumi.Output.all(args.bucket_arn, key).apply(
                lambda v: json.dumps(bucket_access_policy(v[0], request.access, v[1] or None))),
            opts=child(self, args.provider),
        )
        annotations: dict[str, pulumi.Input[str]] = {}
        if args.mode == "pod-identity":
            aws.eks.PodIdentityAssociation(
                name,
                cluster_name=args.cluster,
                namespace=request.namespace,
                service_account=request.service_account,
                role_arn=workload_role.arn,
                opts=child(self, args.provider, depends_on=list(args.depends_on)),
            )
        else:
            annotations[ROLE_ARN_ANNOTATION] = workload_role.arn
        return WorkloadIdentity(
            name=request.name,
            namespace=request.namespace,
            service_account=request.service_account,
            annotations=annotations,
            cloud_principal=workload_role.arn,
        )
