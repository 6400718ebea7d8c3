"""Cross-field rules of the gke cluster target.

Formats (project id, region, zones, CIDRs, names) are field rules in ``infra/schema_gke.py``;
what needs two or more settings together is here. What only Google knows at deploy time is
not checked: that a zone offers the pool's machine type, that the project has GPU quota, that
the release channel currently offers ``cluster.kubernetesVersion``.
"""

from __future__ import annotations

import ipaddress
from itertools import combinations

from components.cluster.gke_specs import (
    SYSTEM_POOL,
    Locations,
    default_bucket_name,
    is_gpu_machine,
    per_zone_count,
    pool_zones,
)
from components.common.instances import lookup
from infra.schema import PlatformConfig
from infra.schema_gke import GkeConfig

Problem = tuple[str, str]
AT = "cluster.gke"
MAX_POOL_NAME = 40


def locations(gke: GkeConfig) -> Locations:
    return Locations(gke.region, gke.location_type, gke.zone, tuple(gke.zones))


def _location_problems(gke: GkeConfig) -> list[Problem]:
    out: list[Problem] = []
    prefix = f"{gke.region}-"
    if gke.location_type == "zonal":
        if gke.zone is None:
            out.append((f"{AT}.zone", "required when locationType is 'zonal' (the zone of the control plane "
                        f"and of the nodes, e.g. '{gke.region}-a')"))
        elif not gke.zone.startswith(prefix):
            out.append((f"{AT}.zone", f"{gke.zone!r} is not in region {gke.region!r} (zones of it start with {prefix!r})"))
        elif gke.zones and gke.zone not in gke.zones:
            out.append((f"{AT}.zones", f"must include the cluster's zone {gke.zone!r} (the default node pool "
                        "location of a zonal cluster)"))
    else:
        if gke.zone is not None:
            out.append((f"{AT}.zone", "only applies when locationType is 'zonal'; a regional cluster lists "
                        "its node zones in cluster.gke.zones"))
        if not gke.zones:
            out.append((f"{AT}.zones", "required for a regional cluster: the zones its nodes run in (e.g. "
                        f"['{gke.region}-a', '{gke.region}-b', '{gke.region}-c']); GPU machine types exist "
                        "only in some zones, so the list is explicit"))
    for i, zone in enumerate(gke.zones):
        if not zone.startswith(prefix):
            out.append((f"{AT}.zones[{i}]", f"{zone!r} is not in region {gke.region!r} (zones of it start with {prefix!r})"))
    seen: set[str] = set()
    for i, zone in enumerate(gke.zones):
        if zone in seen:
            out.append((f"{AT}.zones[{i}]", f"duplicate zone {zone!r}"))
        seen.add(zone)
    return out


def _network_problems(gke: GkeConfig) -> list[Problem]:
    net = gke.network
    out: list[Problem] = []
    ranges = [("subnetCidr", net.subnet_cidr), ("podsCidr", net.pods_cidr), ("servicesCidr", net.services_cidr)]
    if net.private_nodes:
        ranges.append(("masterCidr", net.master_cidr))
        if ipaddress.ip_network(net.master_cidr).prefixlen != 28:
            out.append((f"{AT}.network.masterCidr", f"must be a /28 for a cluster with private nodes (GKE reserves "
                        f"exactly 16 addresses for the control plane); got {net.master_cidr}"))
    for (key_a, a), (key_b, b) in combinations(ranges, 2):
        if ipaddress.ip_network(a).overlaps(ipaddress.ip_network(b)):
            out.append((f"{AT}.network.{key_b}", f"{b} overlaps network.{key_a} {a}; the subnet, pod, service "
                        "and control-plane ranges must be disjoint"))
    if net.private_endpoint and not net.private_nodes:
        out.append((f"{AT}.network.privateEndpoint", "needs network.privateNodes: true (a private control-plane "
                    "endpoint is a feature of private clusters)"))
    return out


def _name_problems(gke: GkeConfig) -> list[Problem]:
    if gke.bucket_name is not None:
        return []
    bucket = default_bucket_name(gke.project, gke.name)
    if len(bucket) > 63:
        return [(f"{AT}.bucketName", f"required here: the default name {bucket!r} is {len(bucket)} characters "
                 "(Cloud Storage allows 63)")]
    return []


def _initial_size_problem(at: str, target: int, zones: int, max_size: int, what: str) -> list[Problem]:
    per_zone = per_zone_count(target, zones)
    if per_zone * zones > max_size:
        return [(at, f"GKE starts the same number of nodes in every zone: {what} {target} over {zones} zones "
                 f"starts {per_zone * zones} nodes, above maxSize {max_size}")]
    return []


def _pool_problems(cfg: PlatformConfig, gke: GkeConfig) -> list[Problem]:
    out: list[Problem] = []
    cluster_zones = locations(gke).node_zones
    system = cfg.cluster.system_pool
    if system.instance_type and is_gpu_machine(system.instance_type):
        out.append(("cluster.systemPool.instanceType", f"{system.instance_type} is a GPU machine type; the system "
                    "pool runs CPU workloads (declare GPU machines in gpuPools)"))
    if cluster_zones and system.min_size <= system.max_size:
        target, what = (system.desired_size, "desiredSize") if system.desired_size else (system.min_size, "minSize")
        out += _initial_size_problem(f"cluster.systemPool.{what}", target, len(cluster_zones), system.max_size, what)
    for i, pool in enumerate(cfg.gpu_pools):
        at = f"gpuPools[{i}]"
        if len(pool.name) > MAX_POOL_NAME or not pool.name[0].isalpha():
            out.append((f"{at}.name", f"{pool.name!r} can't name a GKE node pool (a letter first, at most "
                        f"{MAX_POOL_NAME} characters)"))
        if pool.name == SYSTEM_POOL:
            out.append((f"{at}.name", f"{SYSTEM_POOL!r} is the name of the CPU system pool; choose another"))
        if pool.instance_type and lookup("gcp", pool.instance_type) is None and pool.gpu_model:
            # GKE attaches GPUs by accelerator name, which only the catalog knows.
            out.append((f"{at}.instanceType", f"{pool.instance_type!r} is not in the GPU instance catalog, and GKE "
                        "needs its accelerator type; add the machine type to components/common/instances.py"))
        for j, zone in enumerate(pool.zones):
            if cluster_zones and zone not in cluster_zones:
                out.append((f"{at}.zones[{j}]", f"{zone!r} is not a node zone of the cluster "
                            f"({', '.join(cluster_zones)}); add it to cluster.gke.zones"))
        zones = pool_zones(pool.zones, cluster_zones)
        if zones and pool.max_size is not None and pool.min_size <= pool.max_size:
            target, what = (pool.desired_size, "desiredSize") if pool.desired_size else (pool.min_size, "minSize")
            out += _initial_size_problem(f"{at}.{what}", target, len(zones), pool.max_size, what)
    return out


_REQUIRED = {"project": "the Google Cloud project id (e.g. 'acme-genai-prod')",
             "region": "the region of the cluster (e.g. 'us-central1')",
             "name": "the GKE cluster name (e.g. 'genai-prod')"}


def gke_problems(cfg: PlatformConfig) -> list[Problem]:
    """Problems in `cluster.gke` and in the GPU pools as the gke target sees them."""
    gke = cfg.cluster.gke
    if gke is None:
        return []
    missing = [(f"{AT}.{key}", f"required: {what}") for key, what in _REQUIRED.items() if not getattr(gke, key)]
    out = missing + _network_problems(gke)
    if gke.region:
        out += _location_problems(gke) + _pool_problems(cfg, gke)
    if gke.project and gke.name:
        out += _name_problems(gke)
    return out
