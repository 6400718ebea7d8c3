"""Tests for infra.plan.cost: on small recorded runs and on the real dev, prod-azure and local plans."""

from __future__ import annotations

import json

import pytest

from components.common.instances import PRICES_AS_OF, lookup
from infra.plan.cost import (
    CPU_USD_PER_HOUR,
    HOURS_PER_MONTH,
    NO_CLOUD_COST,
    CostEstimate,
    cost_json,
    cost_section,
    estimate,
    estimate_registrations,
    node_pools,
)
from infra.plan.mocks import PlatformMocks, RecordingMonitor, Registration
from infra.plan.render import Plan, build
from infra.plan.runner import RunResult, load_stack_config, run_program


def reg(type_: str, name: str, inputs: dict) -> Registration:
    return Registration(urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, name=name, parent=None, provider=None,
                        custom=True, protect=False, dependencies=[], inputs=inputs)


def item(est: CostEstimate, name: str):
    (found,) = [i for i in est.items if i.name == name]
    return found


def eks_cluster(support: str = "STANDARD") -> Registration:
    return reg("aws:eks/cluster:Cluster", "eks", {"name": "c", "upgradePolicy": {"supportType": support}})


def eks_group(pool: str, instance: str, lo: int, hi: int, **extra) -> Registration:
    return reg("aws:eks/nodeGroup:NodeGroup", f"{pool}-ng", {
        "instanceTypes": [instance], "labels": {"genai-platform.io/gpu-pool": pool},
        "scalingConfig": {"minSize": lo, "maxSize": hi, "desiredSize": lo}, **extra})


def pvc(name: str, size: str, storage_class: str, component: str = "model-catalog") -> Registration:
    return reg("kubernetes:core/v1:PersistentVolumeClaim", name, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": storage_class,
                 "resources": {"requests": {"storage": size}}}})


def storage_class(name: str, provisioner: str, **parameters) -> Registration:
    return reg("kubernetes:storage.k8s.io/v1:StorageClass", name, {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
        "provisioner": provisioner, "parameters": parameters})


# --- recorded runs built by hand -----------------------------------------------------------


def test_gpu_pool_costs_min_and_max_nodes_times_catalog_price_times_730():
    est = estimate_registrations("t", [eks_cluster(), eks_group("l40s", "g6e.12xlarge", 1, 4)])
    price = lookup("aws", "g6e.12xlarge").usd_per_hour
    pool = item(est, "l40s")
    assert pool.kind == "gpu-pool"
    assert pool.monthly_min == pytest.approx(1 * price * 730, abs=0.01)
    assert pool.monthly_max == pytest.approx(4 * price * 730, abs=0.01)
    assert "1..4 x g6e.12xlarge" in pool.assumption


def test_spot_pool_is_priced_on_demand_and_says_so():
    est = estimate_registrations("t", [eks_cluster(), eks_group("l4", "g6.xlarge", 0, 2, capacityType="SPOT")])
    pool = item(est, "l4")
    assert pool.monthly_max == pytest.approx(2 * lookup("aws", "g6.xlarge").usd_per_hour * 730, abs=0.01)
    assert "spot" in pool.assumption


def test_cpu_system_pool_uses_the_cpu_table():
    est = estimate_registrations("t", [eks_cluster(), eks_group("system", "m6i.xlarge", 2, 3)])
    pool = item(est, "system")
    assert pool.kind == "cpu-pool"
    assert (pool.monthly_min, pool.monthly_max) == pytest.approx((2 * 0.192 * 730, 3 * 0.192 * 730), abs=0.01)


def test_every_default_system_type_has_a_price():
    assert {("aws", "m6i.xlarge"), ("gcp", "e2-standard-8"), ("azure", "Standard_D4s_v5")} <= set(CPU_USD_PER_HOUR)


def test_unknown_instance_type_is_shown_and_not_counted():
    est = estimate_registrations("t", [eks_cluster(), eks_group("odd", "x9.mega", 1, 1)])
    pool = item(est, "odd")
    assert (pool.monthly_min, pool.monthly_max) == (0.0, 0.0)
    assert "x9.mega: no price" in pool.assumption


@pytest.mark.parametrize("support, monthly", [("STANDARD", 73.0), ("EXTENDED", 438.0)])
def test_eks_control_plane_fee_follows_the_support_type(support, monthly):
    cp = item(estimate_registrations("t", [eks_cluster(support)]), "EKS control plane")
    assert (cp.monthly_min, cp.monthly_max) == (monthly, monthly)


def test_gke_zonal_cluster_may_be_free_regional_is_not():
    zonal = reg("gcp:container/cluster:Cluster", "gke", {"location": "us-central1-a", "removeDefaultNodePool": True})
    regional = reg("gcp:container/cluster:Cluster", "gke", {"location": "us-central1", "removeDefaultNodePool": True})
    z = item(estimate_registrations("t", [zonal]), "GKE control plane")
    r = item(estimate_registrations("t", [regional]), "GKE control plane")
    assert (z.monthly_min, z.monthly_max) == (0.0, 73.0)
    assert (r.monthly_min, r.monthly_max) == (73.0, 73.0)


def test_gke_per_zone_limits_multiply_by_zones_total_limits_do_not():
    per_zone = reg("gcp:container/nodePool:NodePool", "a", {
        "name": "a", "nodeLocations": ["z1", "z2", "z3"], "autoscaling": {"minNodeCount": 1, "maxNodeCount": 2},
        "nodeConfig": {"machineType": "e2-standard-8"}})
    total = reg("gcp:container/nodePool:NodePool", "b", {
        "name": "b", "nodeLocations": ["z1", "z2", "z3"], "autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 2},
        "nodeConfig": {"machineType": "e2-standard-8"}})
    pools = {p.name: (p.min_nodes, p.max_nodes) for p in node_pools([per_zone, total])}
    assert pools == {"a": (3, 6), "b": (1, 2)}


def test_filestore_bills_at_least_the_tier_minimum():
    regs = [reg("gcp:container/cluster:Cluster", "gke", {"location": "us-central1", "removeDefaultNodePool": True}),
            storage_class("rwx", "filestore.csi.storage.gke.io", tier="regional"), pvc("model-catalog", "375Gi", "rwx")]
    share = item(estimate_registrations("t", regs), "Filestore model-catalog")
    assert share.monthly_max == pytest.approx(1024 * 0.45, abs=0.01)
    assert "min 1024" in share.assumption


def test_aks_free_tier_pools_inside_the_cluster_and_premium_files():
    cluster = reg("azure-native:containerservice:ManagedCluster", "aks", {
        "sku": {"tier": "Free"},
        "agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4s_v5", "count": 2}]})
    gpu = reg("azure-native:containerservice:AgentPool", "gpu", {
        "agentPoolName": "t4", "vmSize": "Standard_NC4as_T4_v3", "enableAutoScaling": True, "minCount": 0, "maxCount": 3})
    regs = [cluster, gpu, storage_class("files", "file.csi.azure.com", skuName="Premium_LRS"),
            pvc("model-catalog", "50Gi", "files")]
    est = estimate_registrations("t", regs)
    assert item(est, "AKS control plane").monthly_max == 0.0
    assert item(est, "system").monthly_min == pytest.approx(2 * 0.192 * 730, abs=0.01)
    assert item(est, "t4").monthly_max == pytest.approx(3 * lookup("azure", "Standard_NC4as_T4_v3").usd_per_hour * 730,
                                                        abs=0.01)
    assert item(est, "Azure Files model-catalog").monthly_max == pytest.approx(100 * 0.16, abs=0.01)


def test_bucket_ranges_from_empty_to_one_catalog_copy():
    regs = [eks_cluster(), reg("aws:s3/bucket:Bucket", "data", {}), storage_class("efs", "efs.csi.aws.com"),
            pvc("model-catalog", "1Ti", "efs")]
    est = estimate_registrations("t", regs)
    bucket = item(est, "data")
    assert (bucket.monthly_min, bucket.monthly_max) == (0.0, pytest.approx(1024 * 0.023, abs=0.01))
    assert "GiB" in bucket.assumption


def test_no_cluster_means_no_cloud_cost():
    est = estimate_registrations("t", [reg("random:index/randomPassword:RandomPassword", "pw", {})])
    assert est.items == () and est.note == NO_CLOUD_COST
    assert (est.monthly_min, est.monthly_max) == (0.0, 0.0)
    assert "No cloud cost (existing cluster)." in cost_section(est)


def test_failed_run_is_not_estimated():
    plan = Plan(stack=load_stack_config("local"), run=RunResult(monitor=RecordingMonitor(PlatformMocks()), error="bad"))
    est = estimate(plan)
    assert est.items == () and "not estimated" in (est.note or "")


# --- real plans ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    out = {}
    for stack in ("dev", "prod-azure", "local"):
        cfg = load_stack_config(stack)
        out[stack] = build(cfg, run_program(cfg))
    return out


def stack_pools(stack: str) -> list[dict]:
    return json.loads(load_stack_config(stack).values["genai-platform:gpuPools"])


@pytest.mark.parametrize("stack, cloud", [("dev", "aws"), ("prod-azure", "azure")])
def test_real_gpu_pools_match_the_stack_file_and_catalog(plans, stack, cloud):
    est = estimate(plans[stack])
    assert est.cloud == cloud
    pools = stack_pools(stack)
    assert pools
    for p in pools:
        price = lookup(cloud, p["instanceType"]).usd_per_hour
        line = item(est, p["name"])
        assert line.kind == "gpu-pool"
        assert line.monthly_min == pytest.approx(p["minSize"] * price * HOURS_PER_MONTH, abs=0.01)
        assert line.monthly_max == pytest.approx(p["maxSize"] * price * HOURS_PER_MONTH, abs=0.01)


def test_real_prod_azure_has_standard_tier_and_system_pool(plans):
    est = estimate(plans["prod-azure"])
    assert item(est, "AKS control plane").monthly_max == 73.0
    assert item(est, "system").monthly_min == pytest.approx(3 * 0.192 * 730, abs=0.01)
    assert {i.kind for i in est.items} >= {"control-plane", "cpu-pool", "gpu-pool", "file-system", "bucket", "registry"}


def test_real_dev_has_eks_fee_efs_and_nat(plans):
    est = estimate(plans["dev"])
    assert item(est, "EKS control plane").monthly_min == 73.0
    assert {i.kind for i in est.items} >= {"file-system", "bucket", "network"}


def test_real_existing_stack_has_no_cloud_cost(plans):
    est = estimate(plans["local"])
    assert est.note == NO_CLOUD_COST and est.items == ()
    assert cost_json(est)["monthlyUsd"] == {"min": 0.0, "max": 0.0}


@pytest.mark.parametrize("stack", ["dev", "prod-azure"])
def test_totals_add_up_in_the_json_and_the_section(plans, stack):
    est = estimate(plans[stack])
    doc = cost_json(est)
    assert doc["priceDate"] == PRICES_AS_OF
    assert doc["monthlyUsd"]["min"] == pytest.approx(sum(i["monthlyUsd"]["min"] for i in doc["items"]), abs=0.005)
    assert doc["monthlyUsd"]["max"] == pytest.approx(sum(i["monthlyUsd"]["max"] for i in doc["items"]), abs=0.005)
    assert doc["monthlyUsd"]["min"] < doc["monthlyUsd"]["max"]
    assert all(set(i) == {"name", "kind", "monthlyUsd", "assumption"} and i["assumption"] for i in doc["items"])
    json.dumps(doc)
    section = cost_section(est)
    rows = [line for line in section if line.startswith("| ") and not line.startswith("| item") and "---" not in line]
    assert len(rows) == len(est.items) + 1
    assert f"**${est.monthly_max:,.2f}**" in rows[-1]
    assert any(PRICES_AS_OF in line for line in section)
