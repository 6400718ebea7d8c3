"""AksObjectStore: the platform's blob storage for backups and model sources.

Creates:
- a StorageV2 account: HTTPS only, TLS 1.2 minimum, no public blob access, no shared-key
  (account key / SAS) access so every client signs in with Entra ID (workload identities),
  infrastructure (double) encryption, and a firewall that admits the node subnet (through its
  Microsoft.Storage service endpoint) and the configured IP ranges only;
- the account's blob service settings: versioning, soft delete of blobs and of containers,
  so a deleted or overwritten backup can be brought back within ``softDeleteDays``;
- the private blob container.
Account and container are protected with the stack's ``protect`` setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import storage

from components.cluster.aks_specs import ObjectStoreSettings


@dataclass(frozen=True)
class AksObjectStoreArgs:
    provider: pulumi.ProviderResource
    resource_group: pulumi.Input[str]
    location: str
    account_name: pulumi.Input[str]
    node_subnet_id: pulumi.Input[str]
    settings: ObjectStoreSettings
    protect: bool
    tags: dict[str, str]


class AksObjectStore(pulumi.ComponentResource):
    account: storage.StorageAccount
    container: storage.BlobContainer

    def __init__(self, name: str, args: AksObjectStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:AksObjectStore", name, None, opts)
        s = args.settings
        stateful = pulumi.ResourceOptions(parent=self, provider=args.provider, protect=args.protect)
        encrypted = storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT)
        self.account = storage.StorageAccount(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=args.resource_group,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=f"Standard_{s.replication}"),
            access_tier=storage.AccessTier.HOT,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            encryption=storage.EncryptionArgs(
                key_source=storage.KeySource.MICROSOFT_STORAGE,
                # A second, independent layer of AES-256 at the infrastructure level; it can
                # only be chosen when the account is created.
                require_infrastructure_encryption=True,
                services=storage.EncryptionServicesArgs(blob=encrypted, file=encrypted),
            ),
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY,
                bypass=storage.Bypass.AZURE_SERVICES,
                virtual_network_rules=[storage.VirtualNetworkRuleArgs(
                    virtual_network_resource_id=args.node_subnet_id, action="Allow")],
                ip_rules=[storage.IPRuleArgs(i_p_address_or_range=r, action="Allow") for r in s.allowed_ip_ranges],
            ),
            tags=args.tags,
            opts=stateful,
        )
        retention = storage.DeleteRetentionPolicyArgs(enabled=True, days=s.soft_delete_days)
        self.blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=self.account.name,
            resource_group_name=args.resource_group,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=retention,
            container_delete_retention_policy=retention,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.container = storage.BlobContainer(
            f"{name}-container",
            container_name=s.container,
            account_name=self.account.name,
            resource_group_name=args.resource_group,
            public_access=storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[self.blob_service])),
        )
        self.blob_endpoint = self.account.primary_endpoints.apply(lambda e: e.blob)
        self.register_outputs({"account": self.account.name, "container": self.container.name,
                               "blobEndpoint": self.blob_endpoint})
