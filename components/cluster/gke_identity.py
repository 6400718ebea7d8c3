"""GkeWorkloadIdentity: Google service accounts for the platform's Kubernetes service accounts.

Creates, per identity request:
- a Google service account the request's Kubernetes service account may impersonate through
  Workload Identity (``roles/iam.workloadIdentityUser`` for the member
  ``serviceAccount:<project>.svc.id.goog[<namespace>/<name>]``);
- object viewer (read) or object admin (read-write) for it on the platform bucket.

Exposes ``workload_identities``: the ServiceAccount annotation each layer puts on its own
service account (``iam.gke.io/gcp-service-account: <email>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.cluster.gke_specs import (
    BUCKET_ROLES,
    GSA_ANNOTATION,
    WORKLOAD_IDENTITY_USER,
    account_id,
    workload_member,
)
from components.cluster.info import IdentityRequest, WorkloadIdentity


@dataclass(frozen=True)
class GkeWorkloadIdentityArgs:
    provider: gcp.Provider
    project: str
    cluster_name: str
    requests: tuple[IdentityRequest, ...]
    bucket: gcp.storage.Bucket
    # The workload pool exists once the cluster does; bindings to it fail before.
    cluster: pulumi.Resource


TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator"


class GkeWorkloadIdentity(pulumi.ComponentResource):
    workload_identities: dict[str, WorkloadIdentity]

    def __init__(self, name: str, args: GkeWorkloadIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:GkeWorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.workload_identities = {}
        for req in args.requests:
            account = gcp.serviceaccount.Account(
                f"{name}-{req.name}",
                project=args.project,
                account_id=account_id(args.cluster_name, req.name),
                display_name=f"{req.namespace}/{req.service_account} on {args.cluster_name}",
                opts=child,
            )
            gcp.serviceaccount.IAMMember(
                f"{name}-{req.name}-wi",
                service_account_id=account.name,
                role=WORKLOAD_IDENTITY_USER,
                member=workload_member(args.project, req.namespace, req.service_account),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[args.cluster])),
            )
            gcp.storage.BucketIAMMember(
                f"{name}-{req.name}-bucket",
                bucket=args.bucket.name,
                role=BUCKET_ROLES[req.access],
                member=account.member,
                opts=child,
            )
            if req.sign_urls:
                # Without a key file, signing goes through the IAM signBlob API on the account itself.
                gcp.serviceaccount.IAMMember(
                    f"{name}-{req.name}-sign",
                    service_account_id=account.name,
                    role=TOKEN_CREATOR,
                    member=account.member,
                    opts=child,
                )
            self.workload_identities[req.name] = WorkloadIdentity(
                name=req.name,
                namespace=req.namespace,
                service_account=req.service_account,
                annotations={GSA_ANNOTATION: account.email},
                cloud_principal=account.email,
            )
        self.register_outputs({name: wi.cloud_principal for name, wi in self.workload_identities.items()})
