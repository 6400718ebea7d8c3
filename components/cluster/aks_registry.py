"""AksRegistry: the cluster's container registry (Azure Container Registry).

Creates:
- the registry (Standard or Premium by setting; admin user and anonymous pull off, so images
  are pulled with Entra ID identities only; zone-redundant on Premium), protected with the
  stack's ``protect`` setting;
- the AcrPull role assignment for the cluster's kubelet identity, so nodes pull from it
  without image pull secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import pulumi
from pulumi_azure_native import containerregistry as acr

from components.cluster.aks_roles import assign_role


@dataclass(frozen=True)
class AksRegistryArgs:
    provider: pulumi.ProviderResource
    resource_group: pulumi.Input[str]
    location: str
    registry_name: pulumi.Input[str]
    sku: Literal["Standard", "Premium"]
    kubelet_object_id: pulumi.Input[str]
    protect: bool
    tags: dict[str, str]


class AksRegistry(pulumi.ComponentResource):
    registry: acr.Registry
    login_server: pulumi.Output[str]

    def __init__(self, name: str, args: AksRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:AksRegistry", name, None, opts)
        premium = args.sku == "Premium"
        self.registry = acr.Registry(
            f"{name}-acr",
            registry_name=args.registry_name,
            resource_group_name=args.resource_group,
            location=args.location,
            sku=acr.SkuArgs(name=args.sku),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            # Only Premium registries replicate across zones; it can only be chosen at creation.
            zone_redundancy=acr.ZoneRedundancy.ENABLED if premium else None,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, protect=args.protect),
        )
        self.login_server = self.registry.login_server
        self.pull = assign_role(f"{name}-kubelet-acrpull", self.registry.id, args.kubelet_object_id, "AcrPull",
                                parent=self, provider=args.provider)
        self.register_outputs({"loginServer": self.login_server})
