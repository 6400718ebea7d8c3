"""Cross-field rules of the eks cluster target.

Formats (region, CIDRs, ARNs, ids) are field rules in ``infra/schema_eks.py``; what needs two
or more settings together is here. Some things can only be known by AWS at deploy time and
are not checked: that the zones exist for the account (zone letters are per account), that
adopted subnets lie in different zones, that the account has GPU quota.
"""

from __future__ import annotations

import difflib
import ipaddress
import re

from components.cluster.eks_autoscaler_specs import CHART_VERSIONS, default_chart_version, kubernetes_minor
from components.cluster.eks_specs import (
    ADDON_NAMES,
    CAPACITY_RESERVED_FAMILIES,
    cluster_zones,
    instance_family,
    partition,
)
from infra.schema import PlatformConfig
from infra.schema_eks import EksConfig

Problem = tuple[str, str]
AT = "cluster.eks"
MIN_ZONES, MAX_ZONES = 2, 6
# Node groups are autonamed "cluster-gpu-<pool>-ng-<7 characters>" and EKS allows 63.
MAX_POOL_NAME = 63 - len("cluster-gpu--ng-") - 7
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")


def _suggest(word: str, candidates: tuple[str, ...]) -> str:
    # infra.checks imports this module, so its helper of the same name can't be imported here.
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _zone_of(region: str, zone: str) -> bool:
    return re.fullmatch(rf"{re.escape(region)}[a-z]", zone) is not None


def _zone_problems(eks: EksConfig) -> list[Problem]:
    out: list[Problem] = []
    for i, zone in enumerate(eks.zones):
        if not _zone_of(eks.region, zone):
            out.append((f"{AT}.zones[{i}]", f"{zone!r} is not a zone of region {eks.region!r} "
                        f"(zones are the region name plus a letter, e.g. '{eks.region}a')"))
    if len(set(eks.zones)) != len(eks.zones):
        out.append((f"{AT}.zones", "lists a zone twice"))
    if eks.zones and "az_count" in eks.model_fields_set and eks.az_count != len(eks.zones):
        out.append((f"{AT}.azCount", f"is {eks.az_count} but zones lists {len(eks.zones)}; set one of them"))
    count = len(eks.zones) if eks.zones else eks.az_count
    if not MIN_ZONES <= count <= MAX_ZONES:
        key = "zones" if eks.zones else "azCount"
        out.append((f"{AT}.{key}", f"the cluster must span {MIN_ZONES} to {MAX_ZONES} zones (EKS needs subnets "
                    f"in at least two); got {count}"))
    return out


def _network_problems(eks: EksConfig) -> list[Problem]:
    if eks.existing_vpc is not None:
        out: list[Problem] = []
        if "network" in eks.model_fields_set:
            out.append((f"{AT}.network", "only applies when the VPC is created here; remove it or existingVpc"))
        ids = eks.existing_vpc.private_subnet_ids
        if len(ids) < MIN_ZONES:
            out.append((f"{AT}.existingVpc.privateSubnetIds", "needs at least 2 private subnets in different zones "
                        "(EKS requirement; that they are in different zones is checked by AWS at deploy time)"))
        if len(set(ids)) != len(ids):
            out.append((f"{AT}.existingVpc.privateSubnetIds", "lists a subnet twice"))
        if "az_count" in eks.model_fields_set:
            out.append((f"{AT}.azCount", "only applies when the VPC is created here (existingVpc brings its subnets)"))
        return out
    net = eks.network
    vpc = ipaddress.ip_network(net.vpc_cidr)
    count = len(cluster_zones(eks.region, eks.az_count, eks.zones))
    out = []
    if not 16 <= vpc.prefixlen <= 24:
        out.append((f"{AT}.network.vpcCidr", f"must be a /16 to /24 block (pods take VPC addresses); got /{vpc.prefixlen}"))
    explicit = bool(net.private_subnet_cidrs or net.public_subnet_cidrs)
    if not explicit:
        if vpc.prefixlen > 20:
            out.append((f"{AT}.network.vpcCidr", f"/{vpc.prefixlen} is too small to carve the default subnets "
                        "(needs /20 or larger); list privateSubnetCidrs and publicSubnetCidrs"))
        return out
    blocks: list[tuple[str, ipaddress.IPv4Network]] = []
    for key, cidrs in (("privateSubnetCidrs", net.private_subnet_cidrs), ("publicSubnetCidrs", net.public_subnet_cidrs)):
        if len(cidrs) != count:
            out.append((f"{AT}.network.{key}", f"needs one CIDR per zone ({count}); got {len(cidrs)}"))
        for i, cidr in enumerate(cidrs):
            block = ipaddress.ip_network(cidr)
            at = f"{AT}.network.{key}[{i}]"
            if not block.subnet_of(vpc):  # type: ignore[arg-type]
                out.append((at, f"{cidr} is not inside vpcCidr {net.vpc_cidr}"))
            for other_at, other in blocks:
                if block.overlaps(other):
                    out.append((at, f"{cidr} overlaps {other} ({other_at.removeprefix(AT + '.')})"))
            blocks.append((at, block))  # type: ignore[arg-type]
    return out


def _endpoint_problems(eks: EksConfig) -> list[Problem]:
    ep = eks.endpoint
    if ep.access == "private" and ep.public_access_cidrs:
        return [(f"{AT}.endpoint.publicAccessCidrs", "contradicts endpoint.access 'private' (there is no public "
                 "endpoint to restrict); remove the CIDRs or allow public access")]
    return []


def _principal_problems(eks: EksConfig) -> list[Problem]:
    out: list[Problem] = []
    want = partition(eks.region)
    seen: set[str] = set()
    for i, arn in enumerate(eks.admin_principals):
        if arn.split(":")[1] != want:
            out.append((f"{AT}.adminPrincipals[{i}]", f"is in partition {arn.split(':')[1]!r} but region "
                        f"{eks.region!r} is in {want!r}"))
        if arn in seen:
            out.append((f"{AT}.adminPrincipals[{i}]", "is listed twice"))
        seen.add(arn)
    return out


def _addon_problems(eks: EksConfig) -> list[Problem]:
    return [(f"{AT}.addonVersions.{name}", f"unknown add-on{_suggest(name, ADDON_NAMES)} (known: {', '.join(ADDON_NAMES)})")
            for name in eks.addon_versions if name not in ADDON_NAMES]


def _tag_problems(eks: EksConfig) -> list[Problem]:
    # AWS rejects user tags in its own namespace; catching it here beats a failed `pulumi up`.
    return [(f"{AT}.tags.{key}", "the 'aws:' prefix is reserved by AWS") for key in eks.tags
            if key.lower().startswith("aws:")]


def _autoscaler_problems(cfg: PlatformConfig, eks: EksConfig) -> list[Problem]:
    ca, at = eks.cluster_autoscaler, f"{AT}.clusterAutoscaler"
    if not ca.enabled:
        return [(f"{at}.{key}", "only applies while the cluster autoscaler is enabled")
                for key in ("chartVersion", "scaleDownUnneededTime", "scaleDownDelayAfterAdd")
                if _snake(key) in ca.model_fields_set]
    version = cfg.cluster.kubernetes_version
    if ca.chart_version is None and default_chart_version(version) is None:
        known = sorted(CHART_VERSIONS, key=lambda v: int(v.split(".")[1]))
        return [(f"{at}.chartVersion", f"no cluster-autoscaler chart is pinned for Kubernetes {version} (the "
                 f"autoscaler's minor must match the cluster's; pinned: {known[0]} .. {known[-1]}); set a chart "
                 f"version whose appVersion is {kubernetes_minor(version)}.x, or enabled: false")]
    return []


def _snake(key: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), key)


def _pool_problems(cfg: PlatformConfig, eks: EksConfig) -> list[Problem]:
    out: list[Problem] = []
    zones = cluster_zones(eks.region, eks.az_count, eks.zones)
    known_zones = eks.existing_vpc is None or bool(eks.zones)
    for i, pool in enumerate(cfg.gpu_pools):
        for j, zone in enumerate(pool.zones):
            at = f"gpuPools[{i}].zones[{j}]"
            if not _zone_of(eks.region, zone):
                out.append((at, f"{zone!r} is not a zone of region {eks.region!r}"))
            elif known_zones and zone not in zones:
                out.append((at, f"{zone!r} is not one of the cluster's zones ({', '.join(zones)})"))
        if len(pool.name) > MAX_POOL_NAME:
            out.append((f"gpuPools[{i}].name", f"at most {MAX_POOL_NAME} characters on the eks target (the node "
                        f"group name cluster-gpu-<name>-ng-<suffix> must fit EKS's 63); got {len(pool.name)}"))
        family = instance_family(pool.instance_type or "")
        if pool.spot and family in CAPACITY_RESERVED_FAMILIES:
            out.append((f"gpuPools[{i}].spot", f"{pool.instance_type} is a capacity-reserved class: AWS offers it "
                        "through On-Demand Capacity Reservations and Capacity Blocks, spot capacity is rare and a "
                        "reclaim takes the whole 8-GPU replica; use on-demand"))
        if eks.gpu_ami_type.startswith("BOTTLEROCKET") and pool.sharing.mode != "none":
            out.append((f"gpuPools[{i}].sharing.mode", f"{pool.sharing.mode!r} needs the GPU Operator's device plugin "
                        "and MIG manager, which Bottlerocket replaces with its own; use gpuAmiType "
                        "AL2023_x86_64_NVIDIA or sharing mode 'none'"))
    system_type = cfg.cluster.system_pool.instance_type
    if system_type is not None and not _INSTANCE_TYPE.match(system_type):
        out.append(("cluster.systemPool.instanceType", f"must be an EC2 instance type such as 'm6i.xlarge'; "
                    f"got {system_type!r}"))
    return out


def eks_problems(cfg: PlatformConfig) -> list[Problem]:
    """Problems in `cluster.eks` and in the GPU pools as the eks target sees them."""
    eks = cfg.cluster.eks
    assert eks is not None
    return (_zone_problems(eks) + _network_problems(eks) + _endpoint_problems(eks) + _principal_problems(eks)
            + _addon_problems(eks) + _tag_problems(eks) + _autoscaler_problems(cfg, eks) + _pool_problems(cfg, eks))

