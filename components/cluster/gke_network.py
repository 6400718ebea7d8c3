"""GkeNetwork: the VPC a GKE cluster runs in.

Creates:
- a custom-mode VPC network (no auto subnets, so every range is the stack's choice);
- one regional subnet with secondary ranges ``pods`` and ``services`` (VPC-native cluster)
  and Private Google Access (private nodes reach Google APIs without public addresses);
- with private nodes: a Cloud Router and Cloud NAT for the subnet, so nodes without public
  addresses still pull images from public registries (NGC, Docker Hub, Hugging Face), and a
  firewall rule that lets the control plane reach admission webhooks and aggregated API
  servers on the nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.cluster.gke_specs import WEBHOOK_PORTS

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class GkeNetworkArgs:
    provider: gcp.Provider
    project: str
    region: str
    network_name: str
    subnet_cidr: str
    pods_cidr: str
    services_cidr: str
    private_nodes: bool
    master_cidr: str
    node_tag: str
    depends_on: tuple[pulumi.Resource, ...] = ()


class GkeNetwork(pulumi.ComponentResource):
    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork

    def __init__(self, name: str, args: GkeNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:GkeNetwork", name, None, opts)

        def child(**kw) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=args.provider, **kw)

        self.network = gcp.compute.Network(
            f"{name}-vpc",
            name=args.network_name,
            project=args.project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=child(depends_on=list(args.depends_on)),
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=f"{args.network_name}-nodes",
            project=args.project,
            region=args.region,
            network=self.network.id,
            ip_cidr_range=args.subnet_cidr,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=args.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE, ip_cidr_range=args.services_cidr),
            ],
            private_ip_google_access=True,
            opts=child(),
        )
        if args.private_nodes:
            router = gcp.compute.Router(
                f"{name}-router",
                name=f"{args.network_name}-router",
                project=args.project,
                region=args.region,
                network=self.network.id,
                opts=child(),
            )
            gcp.compute.RouterNat(
                f"{name}-nat",
                name=f"{args.network_name}-nat",
                project=args.project,
                region=args.region,
                router=router.name,
                nat_ip_allocate_option="AUTO_ONLY",
                # Nodes and pods both leave through NAT (pods pull model weights themselves).
                source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
                subnetworks=[gcp.compute.RouterNatSubnetworkArgs(
                    name=self.subnet.self_link, source_ip_ranges_to_nats=["ALL_IP_RANGES"])],
                # Image and model pulls open many parallel connections per node.
                enable_dynamic_port_allocation=True,
                min_ports_per_vm=256,
                max_ports_per_vm=16384,
                log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
                opts=child(),
            )
            gcp.compute.Firewall(
                f"{name}-webhooks",
                name=f"{args.network_name}-control-plane-webhooks",
                project=args.project,
                network=self.network.id,
                direction="INGRESS",
                source_ranges=[args.master_cidr],
                target_tags=[args.node_tag],
                allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=list(WEBHOOK_PORTS))],
                opts=child(),
            )
        self.register_outputs({"network": self.network.id, "subnet": self.subnet.id})
