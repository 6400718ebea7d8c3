"""AksWorkloadIdentities: Entra ID identities for the platform's Kubernetes service accounts.

Creates, per identity request (a namespace/service account of a later layer):
- a user-assigned managed identity;
- its federated credential trusting the cluster's OIDC issuer for exactly
  ``system:serviceaccount:<namespace>:<service account>`` (audience api://AzureADTokenExchange);
- Storage Blob Data Reader (``read``) or Contributor (``read-write``) on the platform's
  storage account.

Exposes ``identities``: the WorkloadIdentity per request, with the service-account annotation
(``azure.workload.identity/client-id``) and pod label (``azure.workload.identity/use``) the
AKS workload-identity webhook needs to inject the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import managedidentity

from components.cluster.aks_roles import assign_role
from components.cluster.aks_specs import (
    BLOB_ROLE_OF_ACCESS,
    CLIENT_ID_ANNOTATION,
    USE_LABEL,
    WORKLOAD_IDENTITY_AUDIENCE,
    service_account_subject,
)
from components.cluster.info import IdentityRequest, WorkloadIdentity


@dataclass(frozen=True)
class AksWorkloadIdentitiesArgs:
    provider: pulumi.ProviderResource
    resource_group: pulumi.Input[str]
    location: str
    name_prefix: str                         # Azure names: <prefix>-<request name>
    oidc_issuer_url: pulumi.Input[str]
    storage_account_id: pulumi.Input[str]
    requests: tuple[IdentityRequest, ...]
    tags: dict[str, str]


class AksWorkloadIdentities(pulumi.ComponentResource):
    identities: dict[str, WorkloadIdentity]

    def __init__(self, name: str, args: AksWorkloadIdentitiesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:AksWorkloadIdentities", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.identities = {}
        for req in args.requests:
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-{req.name}",
                resource_name_=f"{args.name_prefix}-{req.name}",
                resource_group_name=args.resource_group,
                location=args.location,
                tags=args.tags,
                opts=child,
            )
            managedidentity.FederatedIdentityCredential(
                f"{name}-{req.name}-federation",
                federated_identity_credential_resource_name=f"{req.namespace}-{req.service_account}",
                resource_name_=identity.name,
                resource_group_name=args.resource_group,
                issuer=args.oidc_issuer_url,
                subject=service_account_subject(req.namespace, req.service_account),
                audiences=[WORKLOAD_IDENTITY_AUDIENCE],
                opts=child,
            )
            assign_role(f"{name}-{req.name}-blob", args.storage_account_id, identity.principal_id,
                        BLOB_ROLE_OF_ACCESS[req.access], parent=self, provider=args.provider)
            self.identities[req.name] = WorkloadIdentity(
                name=req.name,
                namespace=req.namespace,
                service_account=req.service_account,
                annotations={CLIENT_ID_ANNOTATION: identity.client_id},
                pod_labels={USE_LABEL: "true"},
                cloud_principal=identity.client_id,
            )
        self.register_outputs({name: i.cloud_principal for name, i in self.identities.items()})
