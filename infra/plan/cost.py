"""A rough monthly cost estimate of a plan, from the cloud resources it would register.

Reads node groups / node pools / agent pools (instance type, min and max nodes), the managed
control plane (EKS support type, GKE zonal or regional, AKS tier), file systems (EFS, and the
Filestore / Azure Files shares the RWX PersistentVolumeClaims would provision), buckets, NAT
gateways and the container registry's fixed fee. Every item carries a min and a max (the pool's
min and max size) and says what it assumes, so reviewers see the spend a change implies before
anyone runs ``pulumi up``. Existing clusters (on-prem, local) have no cloud cost here.

Prices are approximate on-demand list prices in the reference regions at ``PRICES_AS_OF``: GPU
types from ``components.common.instances``, everything else from the small tables below. They
feed estimates, never billing: discounts, spot prices, data transfer and taxes are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from components.common.instances import PRICE_REGIONS, PRICES_AS_OF, Cloud, lookup
from infra.plan.mocks import Registration
from infra.plan.render import Plan

HOURS_PER_MONTH = 730
NO_CLOUD_COST = "no cloud cost (existing cluster)"

# Approximate on-demand Linux prices, USD per hour, in the reference regions (AWS us-east-1,
# GCP us-central1, Azure eastus) as of PRICES_AS_OF; from the providers' public price lists
# (aws.amazon.com/ec2/pricing/on-demand, cloud.google.com/compute/vm-instance-pricing,
# azure.microsoft.com/pricing/details/virtual-machines/linux). The defaults of the system
# pools (m6i.xlarge, e2-standard-8, Standard_D4s_v5), the types the stacks use, and neighbours.
CPU_USD_PER_HOUR: dict[tuple[Cloud, str], float] = {
    ("aws", "m6i.large"): 0.096, ("aws", "m6i.xlarge"): 0.192, ("aws", "m6i.2xlarge"): 0.384,
    ("aws", "m6i.4xlarge"): 0.768, ("aws", "m7i.xlarge"): 0.2016, ("aws", "m7i.2xlarge"): 0.4032,
    ("aws", "c6i.xlarge"): 0.17, ("aws", "c6i.2xlarge"): 0.34,
    ("gcp", "e2-medium"): 0.0335, ("gcp", "e2-standard-4"): 0.134, ("gcp", "e2-standard-8"): 0.268,
    ("gcp", "e2-standard-16"): 0.536, ("gcp", "n2-standard-4"): 0.1942, ("gcp", "n2-standard-8"): 0.3885,
    ("azure", "Standard_D2s_v5"): 0.096, ("azure", "Standard_D4s_v5"): 0.192,
    ("azure", "Standard_D8s_v5"): 0.384, ("azure", "Standard_D16s_v5"): 0.768,
}

# Managed control plane, USD per hour (EKS standard / extended support; GKE cluster fee; AKS tiers).
EKS_USD_PER_HOUR = {"STANDARD": 0.10, "EXTENDED": 0.60}
GKE_USD_PER_HOUR = 0.10
AKS_USD_PER_HOUR = {"Free": 0.0, "Standard": 0.10, "Premium": 0.60}

# Storage, USD per GiB-month (same date and regions). Filestore bills provisioned capacity with
# a minimum per tier (the CSI driver's tier names; basic HDD through the CSI driver from 100 GiB).
EFS_STANDARD_USD_PER_GIB = 0.30
FILESTORE_TIERS: dict[str, tuple[float, int]] = {  # tier -> (USD per GiB-month, minimum GiB)
    "standard": (0.20, 100), "premium": (0.30, 2560), "zonal": (0.35, 1024),
    "regional": (0.45, 1024), "enterprise": (0.60, 1024),
}
AZURE_FILES_USD_PER_GIB = {"Premium_LRS": 0.16, "Premium_ZRS": 0.20}  # provisioned v1
AZURE_FILES_STANDARD_USD_PER_GIB = 0.06  # pay-as-you-go hot, used capacity
AZURE_FILES_PREMIUM_MIN_GIB = 100
BUCKET_USD_PER_GIB = {"aws": 0.023, "gcp": 0.020, "azure": 0.0184}
AZURE_BLOB_USD_PER_GIB = {"LRS": 0.0184, "ZRS": 0.023, "GRS": 0.0368, "GZRS": 0.0414, "RAGRS": 0.046}

# Network and registry fixed fees.
AWS_NAT_USD_PER_HOUR = 0.045
GCP_NAT_USD_PER_VM_HOUR, GCP_NAT_MAX_USD_PER_HOUR = 0.0014, 0.044
ACR_USD_PER_DAY = {"Basic": 0.167, "Standard": 0.667, "Premium": 1.667}

NOT_INCLUDED = ("data transfer and NAT data processing", "load balancers", "node OS disks and block volumes "
                "(databases, caches)", "logs and metrics storage", "KMS keys", "registry storage",
                "discounts (spot, reserved, committed use)")

_CLUSTER_TYPES: dict[str, Cloud] = {"aws:eks/cluster:Cluster": "aws", "gcp:container/cluster:Cluster": "gcp",
                                    "azure-native:containerservice:ManagedCluster": "azure"}
_ZONE = re.compile(r"-[a-z]$")


@dataclass(frozen=True)
class CostItem:
    """One line of the estimate: USD per month at the low and the high end, and why."""

    name: str
    kind: str  # gpu-pool | cpu-pool | control-plane | file-system | bucket | network | registry
    monthly_min: float
    monthly_max: float
    assumption: str


@dataclass(frozen=True)
class CostEstimate:
    """Every cost item of a stack; ``note`` explains an empty estimate (existing cluster, failed run)."""

    stack: str
    cloud: Optional[Cloud]
    items: tuple[CostItem, ...]
    price_date: str = PRICES_AS_OF
    note: Optional[str] = None
    not_included: tuple[str, ...] = NOT_INCLUDED

    @property
    def monthly_min(self) -> float:
        return float(round(sum(i.monthly_min for i in self.items), 2))

    @property
    def monthly_max(self) -> float:
        return float(round(sum(i.monthly_max for i in self.items), 2))


@dataclass(frozen=True)
class NodePool:
    """A node pool as the cloud sees it: instance type, node range, spot or not."""

    name: str
    instance: str
    min_nodes: int
    max_nodes: int
    spot: bool


def _monthly(usd_per_hour: float, count: float = 1) -> float:
    return round(usd_per_hour * count * HOURS_PER_MONTH, 2)


def _gib(quantity: Any) -> float:
    """A Kubernetes storage quantity (``118Gi``, ``1Ti``, ``500G``) in GiB."""
    m = re.fullmatch(r"([0-9.]+)\s*([KMGTP]i?)?", str(quantity).strip())
    if not m:
        return 0.0
    units = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 2**10, "Pi": 2**20,
             "K": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30, "P": 1e15 / 2**30}
    return float(m.group(1)) * (units[m.group(2)] if m.group(2) else 1 / 2**30)


# --- node pools -------------------------------------------------------------------------


def _eks_pool(i: dict) -> NodePool:
    labels, scaling = i.get("labels") or {}, i.get("scalingConfig") or {}
    name = labels.get("genai-platform.io/gpu-pool") or labels.get("genai-platform.io/pool") or i.get("nodeGroupName")
    types = i.get("instanceTypes") or ["t3.medium"]
    return NodePool(str(name), types[0], int(scaling.get("minSize", 0)), int(scaling.get("maxSize", 0)),
                 i.get("capacityType") == "SPOT")


def _gke_pool(i: dict, zones: int) -> NodePool:
    node, auto = i.get("nodeConfig") or {}, i.get("autoscaling") or {}
    if "totalMinNodeCount" in auto or "totalMaxNodeCount" in auto:
        lo, hi = auto.get("totalMinNodeCount", 0), auto.get("totalMaxNodeCount", 0)
    elif auto:  # per-zone limits
        lo, hi = auto.get("minNodeCount", 0) * zones, auto.get("maxNodeCount", 0) * zones
    else:
        lo = hi = int(i.get("nodeCount", i.get("initialNodeCount", 1))) * zones
    return NodePool(str(i.get("name")), node.get("machineType", "e2-medium"), int(lo), int(hi),
                 bool(node.get("spot") or node.get("preemptible")))


def _gke_zones(i: dict) -> int:
    if i.get("nodeLocations"):
        return len(i["nodeLocations"])
    return 1 if _ZONE.search(str(i.get("location", ""))) else 3


def _aks_pool(i: dict, name: str) -> NodePool:
    if i.get("enableAutoScaling"):
        lo, hi = i.get("minCount", 0), i.get("maxCount", 0)
    else:
        lo = hi = i.get("count", 1)
    return NodePool(name, str(i.get("vmSize")), int(lo), int(hi), i.get("scaleSetPriority") == "Spot")


def node_pools(registrations: Sequence[Registration]) -> list[NodePool]:
    """Every node pool the plan registers, with its instance type and node range."""
    pools: list[NodePool] = []
    for r in registrations:
        i = r.inputs
        if r.type == "aws:eks/nodeGroup:NodeGroup":
            pools.append(_eks_pool(i))
        elif r.type == "gcp:container/nodePool:NodePool":
            pools.append(_gke_pool(i, _gke_zones(i)))
        elif r.type == "gcp:container/cluster:Cluster" and not i.get("removeDefaultNodePool"):
            pools.append(_gke_pool({**i, "name": "default-pool"}, _gke_zones(i)))
        elif r.type == "azure-native:containerservice:AgentPool":
            pools.append(_aks_pool(i, str(i.get("agentPoolName") or r.name)))
        elif r.type == "azure-native:containerservice:ManagedCluster":
            pools += [_aks_pool(p, str(p.get("name"))) for p in i.get("agentPoolProfiles") or []]
    return pools


def _pool_item(cloud: Cloud, pool: NodePool) -> CostItem:
    gpu = lookup(cloud, pool.instance)
    price = gpu.usd_per_hour if gpu else CPU_USD_PER_HOUR.get((cloud, pool.instance))
    kind = "gpu-pool" if gpu else "cpu-pool"
    if price is None:
        return CostItem(pool.name, kind, 0.0, 0.0, f"{pool.instance}: no price in the tables, not counted")
    spot = "; spot: on-demand price shown as the upper bound" if pool.spot else ""
    return CostItem(pool.name, kind, _monthly(price, pool.min_nodes), _monthly(price, pool.max_nodes),
                    f"{pool.min_nodes}..{pool.max_nodes} x {pool.instance} at ${price:g}/h x {HOURS_PER_MONTH} h{spot}")


# --- control plane, storage, network, registry --------------------------------------------


def _control_plane(r: Registration) -> CostItem:
    i = r.inputs
    if r.type == "aws:eks/cluster:Cluster":
        support = str((i.get("upgradePolicy") or {}).get("supportType", "STANDARD"))
        fee = EKS_USD_PER_HOUR.get(support, EKS_USD_PER_HOUR["EXTENDED"])
        return CostItem("EKS control plane", "control-plane", _monthly(fee), _monthly(fee),
                        f"{support.lower()} support: ${fee:g}/h")
    if r.type == "gcp:container/cluster:Cluster":
        fee = _monthly(GKE_USD_PER_HOUR)
        if _ZONE.search(str(i.get("location", ""))):
            return CostItem("GKE control plane", "control-plane", 0.0, fee,
                            f"zonal: the free tier covers one zonal cluster per billing account, else ${GKE_USD_PER_HOUR:g}/h")
        return CostItem("GKE control plane", "control-plane", fee, fee, f"regional: ${GKE_USD_PER_HOUR:g}/h")
    tier = str((i.get("sku") or {}).get("tier", "Free"))
    fee = AKS_USD_PER_HOUR.get(tier, AKS_USD_PER_HOUR["Premium"])
    return CostItem("AKS control plane", "control-plane", _monthly(fee), _monthly(fee), f"{tier} tier: ${fee:g}/h")


def _claims(registrations: Sequence[Registration]) -> list[tuple[dict, float, str]]:
    """(storage class, GiB, claim name) of every PVC, with its class's provisioner and parameters."""
    classes = {(r.inputs.get("metadata") or {}).get("name"): r.inputs for r in registrations
               if r.inputs.get("kind") == "StorageClass"}
    out = []
    for r in registrations:
        if r.inputs.get("kind") == "PersistentVolumeClaim":
            spec, meta = r.inputs.get("spec") or {}, r.inputs.get("metadata") or {}
            size = _gib(((spec.get("resources") or {}).get("requests") or {}).get("storage", 0))
            out.append((classes.get(spec.get("storageClassName")) or {}, size, str(meta.get("name"))))
    return out


def _shares(registrations: Sequence[Registration]) -> list[CostItem]:
    """EFS file systems and the Filestore / Azure Files shares the RWX claims provision."""
    claims = _claims(registrations)
    items = []
    efs_gib = sum(gib for sc, gib, _ in claims if sc.get("provisioner") == "efs.csi.aws.com")
    for r in registrations:
        if r.type == "aws:efs/fileSystem:FileSystem":
            cost = round(efs_gib * EFS_STANDARD_USD_PER_GIB, 2)
            items.append(CostItem(f"EFS {r.name}", "file-system", cost, cost,
                                  f"{efs_gib:g} GiB (the claims, full) x ${EFS_STANDARD_USD_PER_GIB:g}/GiB-month "
                                  "(standard class; elastic throughput extra)"))
    for sc, gib, claim in claims:
        params = sc.get("parameters") or {}
        if sc.get("provisioner") == "filestore.csi.storage.gke.io":
            tier = str(params.get("tier", "standard"))
            price, minimum = FILESTORE_TIERS.get(tier, FILESTORE_TIERS["enterprise"])
            size = max(gib, minimum)
            cost = round(size * price, 2)
            items.append(CostItem(f"Filestore {claim}", "file-system", cost, cost,
                                  f"{tier} tier, {size:g} GiB provisioned (min {minimum}) x ${price:g}/GiB-month"))
        elif sc.get("provisioner") == "file.csi.azure.com":
            sku = str(params.get("skuName", "Standard_LRS"))
            if sku in AZURE_FILES_USD_PER_GIB:
                size, price = max(gib, AZURE_FILES_PREMIUM_MIN_GIB), AZURE_FILES_USD_PER_GIB[sku]
                basis = f"{sku} provisioned, {size:g} GiB (min {AZURE_FILES_PREMIUM_MIN_GIB})"
            else:
                size, price, basis = gib, AZURE_FILES_STANDARD_USD_PER_GIB, f"{sku}, {gib:g} GiB used"
            cost = round(size * price, 2)
            items.append(CostItem(f"Azure Files {claim}", "file-system", cost, cost, f"{basis} x ${price:g}/GiB-month"))
    return items


def _catalog_gib(registrations: Sequence[Registration]) -> float:
    return sum(_gib(((r.inputs.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage", 0))
               for r in registrations if r.inputs.get("kind") == "PersistentVolumeClaim"
               and ((r.inputs.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")
               == "model-catalog")


def _buckets(registrations: Sequence[Registration]) -> list[CostItem]:
    """Buckets from empty (min) to holding one copy of the model catalog (max)."""
    gib = _catalog_gib(registrations)
    items = []
    for r in registrations:
        if r.type == "aws:s3/bucket:Bucket":
            name, price, what = r.name, BUCKET_USD_PER_GIB["aws"], "S3 Standard"
        elif r.type == "gcp:storage/bucket:Bucket":
            name, price, what = r.name, BUCKET_USD_PER_GIB["gcp"], "GCS Standard"
        elif r.type == "azure-native:storage:StorageAccount":
            repl = str((r.inputs.get("sku") or {}).get("name", "Standard_LRS")).split("_")[-1]
            name, price = r.name, AZURE_BLOB_USD_PER_GIB.get(repl, BUCKET_USD_PER_GIB["azure"])
            what = f"Blob hot {repl}"
        else:
            continue
        items.append(CostItem(name, "bucket", 0.0, round(gib * price, 2),
                              f"empty .. {gib:g} GiB (one copy of the model catalog) x ${price:g}/GiB-month "
                              f"({what}; requests and egress extra)"))
    return items


def _network(registrations: Sequence[Registration], pools: Sequence[NodePool]) -> list[CostItem]:
    items = []
    nats = [r for r in registrations if r.type == "aws:ec2/natGateway:NatGateway"]
    if nats:
        cost = _monthly(AWS_NAT_USD_PER_HOUR, len(nats))
        items.append(CostItem("NAT gateways", "network", cost, cost,
                              f"{len(nats)} x ${AWS_NAT_USD_PER_HOUR:g}/h (data processing extra)"))
    for r in registrations:
        if r.type == "gcp:compute/routerNat:RouterNat":
            lo, hi = (sum(getattr(p, f) for p in pools) for f in ("min_nodes", "max_nodes"))
            fee = [min(n * GCP_NAT_USD_PER_VM_HOUR, GCP_NAT_MAX_USD_PER_HOUR) for n in (lo, hi)]
            items.append(CostItem(f"Cloud NAT {r.inputs.get('name') or r.name}", "network", _monthly(fee[0]),
                                  _monthly(fee[1]), f"{lo}..{hi} VMs x ${GCP_NAT_USD_PER_VM_HOUR:g}/h, at most "
                                  f"${GCP_NAT_MAX_USD_PER_HOUR:g}/h (data processing extra)"))
    return items


def _registries(registrations: Sequence[Registration]) -> list[CostItem]:
    items = []
    for r in registrations:
        if r.type == "azure-native:containerregistry:Registry":
            sku = str((r.inputs.get("sku") or {}).get("name", "Premium"))
            per_day = ACR_USD_PER_DAY.get(sku, ACR_USD_PER_DAY["Premium"])
            cost = round(per_day * HOURS_PER_MONTH / 24, 2)
            items.append(CostItem(f"ACR {r.name}", "registry", cost, cost, f"{sku}: ${per_day:g}/day"))
    return items


# --- public ------------------------------------------------------------------------------


def estimate_registrations(stack: str, registrations: Sequence[Registration]) -> CostEstimate:
    """The estimate of a recorded run; a stack without a managed cluster costs nothing here."""
    clusters = [r for r in registrations if r.type in _CLUSTER_TYPES]
    if not clusters:
        return CostEstimate(stack=stack, cloud=None, items=(), note=NO_CLOUD_COST)
    cloud = _CLUSTER_TYPES[clusters[0].type]
    pools = node_pools(registrations)
    items = [_control_plane(c) for c in clusters]
    items += [_pool_item(cloud, p) for p in pools]
    items += _shares(registrations) + _buckets(registrations) + _network(registrations, pools)
    items += _registries(registrations)
    return CostEstimate(stack=stack, cloud=cloud, items=tuple(items))


def estimate(plan: Plan) -> CostEstimate:
    """The monthly cost estimate of a plan (none when the program failed)."""
    if plan.run.error:
        return CostEstimate(stack=plan.stack.stack, cloud=None, items=(),
                            note="not estimated: the program failed before registering its resources")
    return estimate_registrations(plan.stack.stack, plan.registrations)


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def cost_section(est: CostEstimate) -> list[str]:
    """Markdown lines of the ``Estimated monthly cost`` section of ``summary.md``."""
    out = ["", "## Estimated monthly cost", ""]
    if est.note:
        return out + [f"{est.note[0].upper()}{est.note[1:]}.", ""]
    region = PRICE_REGIONS[est.cloud] if est.cloud else "-"
    out += [f"Approximate on-demand list prices in {region} as of {est.price_date}, {HOURS_PER_MONTH} h a month; "
            "an estimate, never a bill. Min: every pool at its minimum size; max: at its maximum.", "",
            "| item | kind | min / month | max / month | assumption |", "| --- | --- | ---: | ---: | --- |"]
    for i in est.items:
        out.append(f"| {i.name} | {i.kind} | {_usd(i.monthly_min)} | {_usd(i.monthly_max)} | {i.assumption} |")
    out += [f"| **total** | | **{_usd(est.monthly_min)}** | **{_usd(est.monthly_max)}** | |", "",
            f"Not included: {', '.join(est.not_included)}.", ""]
    return out


def cost_json(est: CostEstimate) -> dict:
    """The content of ``cost.json``: totals, price date and every item, in USD per month."""
    return {
        "monthlyUsd": {"min": est.monthly_min, "max": est.monthly_max},
        "priceDate": est.price_date,
        "region": PRICE_REGIONS[est.cloud] if est.cloud else None,
        "note": est.note,
        "items": [{"name": i.name, "kind": i.kind, "monthlyUsd": {"min": i.monthly_min, "max": i.monthly_max},
                   "assumption": i.assumption} for i in est.items],
        "notIncluded": list(est.not_included) if est.cloud else [],
    }


__all__ = ["CostItem", "CostEstimate", "NO_CLOUD_COST", "HOURS_PER_MONTH", "estimate", "estimate_registrations", "NodePool",
           "node_pools", "cost_section", "cost_json"]
