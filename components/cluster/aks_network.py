"""AksNetwork: the virtual network the AKS nodes live in.

Creates:
- the VNet (``vnetCidr``);
- the node subnet (``nodeSubnetCidr``) shared by every node pool and, on a private cluster,
  by the API server's private endpoint. With Azure CNI overlay, pods take their addresses
  from the overlay range, so the subnet only needs one address per node.

Subnets are separate resources and the VNet declares none itself: the provider then leaves
the VNet's subnet list alone on updates instead of deleting what it does not list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
from pulumi_azure_native import network

from components.cluster.aks_specs import NetworkSettings


@dataclass(frozen=True)
class AksNetworkArgs:
    provider: pulumi.ProviderResource
    resource_group: pulumi.Input[str]
    location: str
    vnet_name: str
    settings: NetworkSettings
    tags: dict[str, str]


class AksNetwork(pulumi.ComponentResource):
    vnet: network.VirtualNetwork
    node_subnet: network.Subnet

    def __init__(self, name: str, args: AksNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:AksNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=args.vnet_name,
            resource_group_name=args.resource_group,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.settings.vnet_cidr]),
            tags=args.tags,
            opts=child,
        )
        self.node_subnet = network.Subnet(
            f"{name}-nodes",
            subnet_name="nodes",
            resource_group_name=args.resource_group,
            virtual_network_name=self.vnet.name,
            address_prefix=args.settings.node_subnet_cidr,
            # Azure Files NFS shares (the RWX class) and the platform's storage account admit the
            # nodes through this service endpoint; the Azure Files CSI driver would add it
            # itself, which would show up as drift here.
            service_endpoints=[network.ServiceEndpointPropertiesFormatArgs(service="Microsoft.Storage")],
            # The private cluster's API server endpoint is a private endpoint in this subnet.
            private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.DISABLED,
            opts=child,
        )
        self.register_outputs({"vnetId": self.vnet.id, "nodeSubnetId": self.node_subnet.id})
