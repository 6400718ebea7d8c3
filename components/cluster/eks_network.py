"""EksNetwork: the VPC an EKS cluster runs in, created here or adopted.

Creates (new VPC):
- the VPC (DNS hostnames on: EFS mount targets and the private API endpoint are reached by name);
- per zone a private subnet (nodes, pods, EFS mount targets, internal load balancers) and a
  public subnet (NAT gateways, internet-facing load balancers), tagged for the load balancer
  controllers and for the cluster;
- an internet gateway and the public route table;
- NAT gateways with their Elastic IPs, one per zone or a single one by setting, and one
  private route table per zone sending egress through its zone's NAT (or the single one).

Adopts (existing VPC): nothing is created; the VPC's CIDR and the subnets' zones are read with
data sources. Tagging adopted subnets for load balancers is the VPC owner's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import pulumi
import pulumi_aws as aws

from components.cluster.eks_iam import child
from components.cluster.eks_specs import subnet_tags


@dataclass(frozen=True)
class EksNetworkArgs:
    provider: aws.Provider
    cluster_name: str
    zones: tuple[str, ...]
    vpc_cidr: str = "10.0.0.0/16"
    private_cidrs: tuple[str, ...] = ()
    public_cidrs: tuple[str, ...] = ()
    nat_gateways: Literal["one-per-zone", "single"] = "one-per-zone"
    existing_vpc_id: Optional[str] = None
    existing_private_subnet_ids: tuple[str, ...] = ()


class EksNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: list[pulumi.Input[str]]

    def __init__(self, name: str, args: EksNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:EksNetwork", name, None, opts)
        self._provider = args.provider
        self._zone_of_subnet: dict[int, str] = {}
        if args.existing_vpc_id:
            self._adopt(args)
        else:
            self._create(name, args)
        self.register_outputs({"vpcId": self.vpc_id, "privateSubnetIds": self.private_subnet_ids})

    def _adopt(self, args: EksNetworkArgs) -> None:
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=self._provider)
        self.vpc_id = args.existing_vpc_id or ""
        self.vpc_cidr = aws.ec2.get_vpc_output(id=self.vpc_id, opts=invoke).cidr_block
        self.private_subnet_ids = list(args.existing_private_subnet_ids)
        self._subnet_zones = pulumi.Output.all(*[
            aws.ec2.get_subnet_output(id=s, opts=invoke).availability_zone for s in self.private_subnet_ids])

    def _create(self, name: str, args: EksNetworkArgs) -> None:
        provider, cluster = args.provider, args.cluster_name
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": cluster},
            opts=child(self, provider),
        )
        self.vpc_id, self.vpc_cidr = vpc.id, vpc.cidr_block
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": cluster},
                                      opts=child(self, provider))
        public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags={"Name": f"{cluster}-public"},
                                       opts=child(self, provider))
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=child(self, provider))
        public: list[aws.ec2.Subnet] = []
        self.private_subnet_ids = []
        for i, zone in enumerate(args.zones):
            pub = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=args.public_cidrs[i],
                availability_zone=zone,
                # Only NAT gateways (Elastic IPs) and load balancers live here; nothing needs an
                # automatic public address.
                map_public_ip_on_launch=False,
                tags=subnet_tags(cluster, True, zone),
                opts=child(self, provider),
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=pub.id, route_table_id=public_rt.id,
                                          opts=child(self, provider))
            public.append(pub)
            priv = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=args.private_cidrs[i],
                availability_zone=zone,
                tags=subnet_tags(cluster, False, zone),
                opts=child(self, provider),
            )
            self._zone_of_subnet[i] = zone
            self.private_subnet_ids.append(priv.id)
        nat_zones = args.zones if args.nat_gateways == "one-per-zone" else args.zones[:1]
        nats = []
        for i, zone in enumerate(nat_zones):
            eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{cluster}-nat-{zone}"},
                              opts=child(self, provider))
            nats.append(aws.ec2.NatGateway(
                f"{name}-nat-{zone}",
                allocation_id=eip.allocation_id,
                subnet_id=public[i].id,
                connectivity_type="public",
                tags={"Name": f"{cluster}-nat-{zone}"},
                # A NAT gateway in a VPC without an attached internet gateway never forwards.
                opts=child(self, provider, depends_on=[igw]),
            ))
        for i, zone in enumerate(args.zones):
            rt = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id, tags={"Name": f"{cluster}-private-{zone}"},
                                    opts=child(self, provider))
            nat = nats[i] if args.nat_gateways == "one-per-zone" else nats[0]
            aws.ec2.Route(f"{name}-private-{zone}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                          nat_gateway_id=nat.id, opts=child(self, provider))
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=self.private_subnet_ids[i],
                                          route_table_id=rt.id, opts=child(self, provider))

    def subnets_in(self, zones: tuple[str, ...]) -> pulumi.Input[list[str]]:
        """The private subnets in ``zones`` (all of them when empty)."""
        if not zones:
            return self.private_subnet_ids
        if self._zone_of_subnet:
            return [s for i, s in enumerate(self.private_subnet_ids) if self._zone_of_subnet[i] in zones]
        ids = list(self.private_subnet_ids)

        def pick(found: list[str]) -> list[str]:
            chosen = [s for s, zone in zip(ids, found, strict=False) if zone in zones]
            if not chosen:
                raise ValueError(f"none of the adopted private subnets ({', '.join(ids)}) is in {', '.join(zones)} "
                                 f"(they are in {', '.join(sorted(set(found)))})")
            return chosen
        return self._subnet_zones.apply(pick)
