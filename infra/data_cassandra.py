"""``databases.cassandra`` -> the Cassandra component (K8ssandra + Medusa).

Racks are Cassandra's failure domains: with NetworkTopologyStrategy every rack holds one full
replica set, so racks follow the cluster's zones and the datacenter's size must split evenly
across them (a smaller rack's nodes would each own more data than the others').
"""

from __future__ import annotations

import re
from typing import Optional

import pulumi

from components.cluster.info import IdentityRequest
from components.data import cassandra_specs as specs
from components.data.cassandra import Cassandra, CassandraArgs
from components.data.common import Backup, DatabaseEndpoint, DataContext, backup_target, resources
from infra.checks_data import _quantity, config_zones
from infra.problems import Problem
from infra.schema import PlatformConfig
from infra.schema_data import CassandraConfig

KEY = "cassandra"
AT = f"databases.{KEY}"
IDENTITY = f"{KEY}-backups"
SERVICE_ACCOUNT = KEY
# What the data layer names the component, and so the K8ssandraCluster and its Services.
CLUSTER_NAME = KEY
# Below this a JVM heap is a typo (Kubernetes reads "512m" as 0.512 bytes), not a size.
MIN_HEAP_BYTES = 256 * 2**20
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _zone_labels(cfg: PlatformConfig) -> Optional[tuple[str, ...]]:
    """The nodes' zone label values as the stack implies them (AKS prefixes its location)."""
    zones = config_zones(cfg)
    if zones is None:
        return None
    aks = cfg.cluster.aks
    if cfg.cluster.target == "aks" and aks is not None:
        return tuple(f"{aks.location}-{z}" for z in zones)
    return zones


def _racks(section: CassandraConfig, zones: tuple[str, ...], aliases: dict[str, str]) -> tuple[specs.Rack, ...]:
    return specs.plan_racks([(r.name, r.zone) for r in section.racks], zones, aliases)


def problems(section: CassandraConfig, cfg: PlatformConfig) -> list[Problem]:
    out: list[Problem] = []
    if not _DNS_1035.match(section.datacenter):
        out.append((f"{AT}.datacenter", f"{section.datacenter!r} must start with a letter (K8ssandra names the "
                    "CassandraDatacenter after it, a DNS-1035 label)"))
    names = [r.name for r in section.racks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        out.append((f"{AT}.racks", f"names {', '.join(dup)} more than once; give every rack its own name"))
    zones = config_zones(cfg)
    labels = _zone_labels(cfg)
    if zones is not None and len(section.racks) > len(zones):
        out.append((f"{AT}.racks", f"lists {len(section.racks)} racks but the cluster has {len(zones)} zones "
                    f"({', '.join(zones)}); two racks in one zone fail together and break the one-replica-per-zone "
                    f"promise: list at most {len(zones)} racks, one per zone"))
    if zones is not None and labels is not None:
        known = set(zones) | set(labels)
        for i, rack in enumerate(section.racks):
            if rack.zone is not None and rack.zone not in known:
                out.append((f"{AT}.racks[{i}].zone", f"{rack.zone!r} is not one of the cluster's zones "
                            f"({', '.join(labels)}); use one of them or leave zone unset"))
    if not section.racks and cfg.databases.zone_spread and zones is None:
        out.append((f"{AT}.racks", "databases.zoneSpread asks for a spread across zones, but this stack does not "
                    "name its zones: list racks with their zone"))
    rack_count = len(section.racks) or specs.default_rack_count(labels or ())
    which = "racks listed" if section.racks else "racks (one per zone, up to three)"
    if section.size < rack_count:
        out.append((f"{AT}.size", f"{section.size} is fewer than the {rack_count} {which}; a rack without a node "
                    f"holds no replica: set size to at least {rack_count}, or list fewer racks"))
    elif section.size % rack_count:
        lower = section.size - section.size % rack_count
        out.append((f"{AT}.size", f"{section.size} does not split evenly over the {rack_count} {which}; each rack "
                    f"holds a full replica set, so a smaller rack's nodes carry more data each: use {lower} or "
                    f"{lower + rack_count}"))
    aliases = dict(zip(zones or (), labels or (), strict=False))
    resolved = _racks(section, tuple(labels or ()), aliases)
    pinned = [r.zone for r in resolved if r.zone is not None]
    shared = sorted({z for z in pinned if pinned.count(z) > 1})
    if section.racks and shared:
        out.append((f"{AT}.racks", f"put more than one rack in zone {', '.join(shared)}; racks in one zone fail "
                    "together: give each rack a zone of its own"))
    for rack in resolved:
        sts = specs.statefulset_name(CLUSTER_NAME, section.datacenter, rack.name)
        if len(sts) > specs.MAX_STATEFULSET_NAME:
            out.append((f"{AT}.racks", f"rack {rack.name!r} makes the StatefulSet name {sts!r} longer than "
                        f"{specs.MAX_STATEFULSET_NAME} characters; shorten the rack or datacenter name"))
    out += _heap_problems(section)
    if section.backup.enabled and cfg.cluster.target == "aks":
        out.append((f"{AT}.backup.enabled", "Medusa cannot write to Azure Blob with a workload identity (it needs a "
                    "storage-account key, which the platform's account refuses, or an AZURE_STORAGE_ACCOUNT variable "
                    "k8ssandra-operator cannot set): set backup.enabled to false on AKS and rely on volume snapshots"))
    return out


def _heap_problems(section: CassandraConfig) -> list[Problem]:
    res = section.resources
    limit = res.memory_limit or res.memory
    heap = _quantity(section.heap)
    if heap < MIN_HEAP_BYTES:
        return [(f"{AT}.heap", f"{section.heap} is below 256Mi; write the heap in binary units such as 2Gi "
                 "('m' means milli in Kubernetes quantities)")]
    if heap > _quantity(limit) / 2:
        return [(f"{AT}.heap", f"{section.heap} is more than half the memory limit {limit}; Cassandra needs the "
                 "other half for off-heap memory (memtables, bloom filters, page cache) and the management API: "
                 f"lower heap or raise resources.memory (or memoryLimit) to at least {_binary(2 * heap)}")]
    return []


def _binary(n: float) -> str:
    for suffix, size in (("Gi", 2**30), ("Mi", 2**20)):
        if n >= size and n % size == 0:
            return f"{int(n // size)}{suffix}"
    return f"{int(-(-n // 2**20))}Mi"


def backup_identity(section: CassandraConfig, namespace: str) -> Optional[IdentityRequest]:
    if not section.backup.enabled:
        return None
    # Medusa runs as a sidecar of every Cassandra pod, under the pods' own account.
    return IdentityRequest(name=IDENTITY, namespace=namespace, service_account=SERVICE_ACCOUNT, access="read-write")


def pod_security(section: CassandraConfig) -> str:
    # Every container cass-operator and k8ssandra-operator put in the Cassandra pods gets a
    # restricted-compliant context from the K8ssandraCluster (see cassandra_specs.datacenter).
    return "restricted"


def build(name: str, ctx: DataContext, section: CassandraConfig, cfg: PlatformConfig,
          opts: pulumi.ResourceOptions) -> dict[str, DatabaseEndpoint]:
    cluster = ctx.cluster
    # Racks come from the same zones the config checks saw; the nodes' labels name them.
    zones = cluster.node_zones if config_zones(cfg) is not None else ()
    aliases = dict(zip(cluster.zones, cluster.node_zones, strict=False))
    backup = None
    if section.backup.enabled:
        target = backup_target(cluster, IDENTITY, KEY)
        if target is not None:
            backup = Backup(target=target, schedule=section.backup.schedule, retention_days=section.backup.retention_days)
    identity = backup.target.identity if backup else None
    res = section.resources
    settings = specs.CassandraSettings(
        cluster_name=name,
        datacenter=section.datacenter,
        size=section.size,
        racks=_racks(section, tuple(zones), aliases),
        storage_gib=section.storage_gib,
        storage_class=section.storage_class or cluster.storage.rwo,
        resources=resources(res.cpu, res.memory, res.cpu_limit, res.memory_limit),
        heap=section.heap,
        superuser_secret=section.credentials.existing_secret or f"{name}-superuser",
        service_account=SERVICE_ACCOUNT,
        pod_labels=dict(identity.pod_labels) if identity else {},
        service_monitors=ctx.service_monitors,
        service_monitor_labels=dict(ctx.service_monitor_labels),
    )
    component = Cassandra(name, CassandraArgs(
        ctx=ctx,
        settings=settings,
        operator_namespace=section.operator_namespace,
        allow_from=tuple(section.allow_from),
        existing_secret=section.credentials.existing_secret is not None,
        backup=backup,
        # The program installs cert-manager whenever Cassandra is on (its webhooks need it).
        cert_manager=ctx.cert_manager,
    ), opts=opts)
    return {KEY: component.endpoint}
