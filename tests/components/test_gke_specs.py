"""Pure GKE builders: locations, sizes, names, members, storage classes, kubeconfig."""

from __future__ import annotations

import re

import pytest
import yaml

from components.cluster.gke_specs import (
    Locations,
    account_id,
    apis,
    gke_taints,
    gpu_node_labels,
    is_gpu_machine,
    kubeconfig,
    per_zone_count,
    pool_zones,
    rwo_storage_class,
    rwx_storage_class,
    workload_member,
)
from components.cluster.info import GpuPool, GpuSharing, Taint

SA_ID = re.compile(r"^[a-z]([-a-z0-9]{4,28}[a-z0-9])$")


def test_zonal_cluster_locations():
    loc = Locations("us-central1", "zonal", "us-central1-a", ())
    assert loc.location == "us-central1-a"
    assert loc.node_zones == ("us-central1-a",)
    assert loc.cluster_node_locations is None
    multi = Locations("us-central1", "zonal", "us-central1-a", ("us-central1-a", "us-central1-f"))
    assert multi.cluster_node_locations == ["us-central1-f"]


def test_regional_cluster_locations():
    loc = Locations("europe-west4", "regional", None, ("europe-west4-a", "europe-west4-b"))
    assert loc.location == "europe-west4"
    assert loc.node_zones == loc.zones
    assert loc.cluster_node_locations == ["europe-west4-a", "europe-west4-b"]


@pytest.mark.parametrize(("total", "zones", "per_zone"), [(0, 3, 0), (1, 1, 1), (2, 3, 1), (3, 3, 1), (4, 3, 2), (5, 2, 3)])
def test_initial_count_is_per_zone_and_reaches_the_total(total, zones, per_zone):
    assert per_zone_count(total, zones) == per_zone
    assert per_zone * zones >= total


def test_pool_zones_default_to_the_cluster():
    assert pool_zones((), ("us-central1-a", "us-central1-b")) == ("us-central1-a", "us-central1-b")
    assert pool_zones(["us-central1-c"], ("us-central1-a",)) == ("us-central1-c",)


@pytest.mark.parametrize(("prefix", "suffix"), [
    ("genai-prod", "nodes"), ("genai-prod", "model-downloads"),
    ("a-very-long-cluster-name-of-forty-chars", "backups"),
    ("genai", "an-identity-request-name-much-longer-than-thirty"), ("g", "x"),
])
def test_service_account_ids_are_valid(prefix, suffix):
    got = account_id(prefix, suffix)
    assert SA_ID.match(got), got


def test_service_account_ids_keep_the_role_and_stay_distinct():
    assert account_id("genai-prod", "backups") == "genai-prod-backups"
    long = "a-very-long-cluster-name-of-forty-chars"
    assert account_id(long, "backups").endswith("-backups")
    assert account_id(long, "backups") != account_id(long, "model-downloads")


def test_workload_identity_member():
    assert workload_member("acme", "velero", "velero") == "serviceAccount:acme.svc.id.goog[velero/velero]"


def test_taints_use_the_gke_effect_names():
    taints = (Taint("nvidia.com/gpu", "present", "NoSchedule"), Taint("dedicated", "llm", "NoExecute"),
              Taint("soft", "", "PreferNoSchedule"))
    assert [t["effect"] for t in gke_taints(taints)] == ["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]


def test_gpu_labels_include_the_mig_layout_and_gke_device_plugin_switch():
    pool = GpuPool("a100", "A100-80GB", 80, 8, {"genai-platform.io/gpu-pool": "a100"},
                   (Taint("nvidia.com/gpu", "present", "NoSchedule"),), GpuSharing("mig", None, "1g.10gb"))
    assert gpu_node_labels(pool) == {
        "genai-platform.io/gpu-pool": "a100",
        "nvidia.com/device-plugin.config": "a100",
        "nvidia.com/mig.config": "all-1g.10gb",
        "gke-no-default-nvidia-gpu-device-plugin": "true",
    }


def test_gpu_machine_families():
    assert is_gpu_machine("g2-standard-8") and is_gpu_machine("a3-highgpu-8g")
    assert not is_gpu_machine("e2-standard-8") and not is_gpu_machine("n2-standard-16")


def test_kms_api_only_with_secrets_encryption():
    assert "cloudkms.googleapis.com" in apis(True)
    assert "cloudkms.googleapis.com" not in apis(False)
    assert "file.googleapis.com" in apis(False)


def test_storage_classes_retain_when_protected():
    assert rwo_storage_class(True)["reclaimPolicy"] == "Retain"
    assert rwx_storage_class("zonal", "vpc", False)["reclaimPolicy"] == "Delete"
    assert rwx_storage_class("zonal", "vpc", False)["parameters"] == {"tier": "zonal", "network": "vpc"}


def test_kubeconfig_uses_the_auth_plugin():
    doc = yaml.safe_load(kubeconfig("ctx", "10.1.2.3", "Q0E="))
    assert doc["clusters"] == [{"name": "ctx", "cluster": {"server": "https://10.1.2.3",
                                                          "certificate-authority-data": "Q0E="}}]
    assert doc["contexts"][0]["context"] == {"cluster": "ctx", "user": "ctx"}
    exec_ = doc["users"][0]["user"]["exec"]
    assert exec_["command"] == "gke-gcloud-auth-plugin" and exec_["provideClusterInfo"] is True
