"""AKS pure builders: taints, labels, role-assignment names, global names, kubeconfig, classes."""

from __future__ import annotations

import base64
import uuid

import pytest
import yaml

from components.cluster.aks_specs import (
    RWO_CLASS,
    RWX_CLASS,
    SPOT_TAINT,
    global_name,
    gpu_node_labels,
    role_assignment_name,
    role_definition_id,
    storage_classes,
    taint_string,
    user_kubeconfig,
    with_spot_taint,
)
from components.cluster.info import GpuPool, GpuSharing, Taint

GPU_TAINT = Taint("nvidia.com/gpu", "present", "NoSchedule")
NO_SHARING = GpuSharing()
SCOPE = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa"


def pool(name="a100", spot=False, sharing: GpuSharing = NO_SHARING) -> GpuPool:
    return GpuPool(name, "A100-80GB", 80, 1, {"genai-platform.io/gpu-pool": name}, (GPU_TAINT,), sharing,
                   instance_type="Standard_NC24ads_A100_v4", max_size=2, spot=spot)


def test_taints_use_the_aks_string_form():
    assert taint_string(GPU_TAINT) == "nvidia.com/gpu=present:NoSchedule"
    assert taint_string(Taint("dedicated", "", "NoExecute")) == "dedicated:NoExecute"


def test_spot_pools_gain_the_aks_spot_taint_once():
    spot = with_spot_taint(pool(spot=True))
    assert spot.taints == (GPU_TAINT, SPOT_TAINT)
    assert with_spot_taint(spot) == spot
    assert with_spot_taint(pool()) == pool()
    assert {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot",
            "effect": "NoSchedule"} in spot.tolerations


def test_node_labels_carry_selector_sharing_and_spot():
    assert gpu_node_labels(pool()) == {"genai-platform.io/gpu-pool": "a100"}
    shared = pool("l4", spot=True, sharing=GpuSharing("time-slicing", 4))
    assert gpu_node_labels(shared) == {
        "genai-platform.io/gpu-pool": "l4",
        "nvidia.com/device-plugin.config": "l4",
        "kubernetes.azure.com/scalesetpriority": "spot",
    }


def test_role_assignment_names_are_stable_guids_per_scope_principal_and_role():
    a = role_assignment_name(SCOPE, "p1", "AcrPull")
    assert a == role_assignment_name(SCOPE.upper(), "P1", "AcrPull")   # ARM ids are case-insensitive
    assert uuid.UUID(a).version == 5
    assert len({a, role_assignment_name(SCOPE, "p2", "AcrPull"), role_assignment_name(SCOPE, "p1", "Network Contributor"),
                role_assignment_name(SCOPE + "x", "p1", "AcrPull")}) == 4


def test_role_definition_id_is_in_the_scopes_subscription():
    assert role_definition_id(SCOPE, "Storage Blob Data Reader") == (
        "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Authorization/"
        "roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
    with pytest.raises(ValueError, match="not an Azure resource id"):
        role_definition_id("storageAccounts/sa", "AcrPull")


def test_global_names_fit_azure_rules_and_differ_per_subscription():
    a = global_name("genai-prod_cluster", "sub-a/rg/genai-prod", 24)
    b = global_name("genai-prod_cluster", "sub-b/rg/genai-prod", 24)
    assert a != b and a.startswith("genaiprodcluster")
    assert len(a) <= 24 and a.isalnum() and a.islower()
    assert len(global_name("x" * 80, "s", 50)) == 50


def _kubeconfig(user: dict) -> str:
    doc = {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [],
           "users": [{"name": "u", "user": user}]}
    return base64.b64encode(yaml.safe_dump(doc).encode()).decode()


DEVICECODE = {"exec": {"command": "kubelogin", "args": [
    "get-token", "--environment", "AzurePublicCloud", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
    "--client-id", "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "--tenant-id", "t", "--login", "devicecode"]}}


def test_entra_kubeconfig_switches_kubelogin_to_a_non_interactive_login():
    out = yaml.safe_load(user_kubeconfig(_kubeconfig(DEVICECODE), "azurecli"))
    assert out["users"][0]["user"]["exec"]["args"] == [
        "get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    wi = yaml.safe_load(user_kubeconfig(_kubeconfig(DEVICECODE), "workloadidentity"))
    assert wi["users"][0]["user"]["exec"]["args"][2] == "workloadidentity"


def test_kubeconfig_without_entra_or_with_devicecode_is_unchanged():
    cert = _kubeconfig({"client-certificate-data": "Y2VydA==", "token": "t"})
    assert user_kubeconfig(cert, None) == base64.b64decode(cert).decode()
    assert user_kubeconfig(_kubeconfig(DEVICECODE), "devicecode") == base64.b64decode(_kubeconfig(DEVICECODE)).decode()


def test_storage_classes_are_premium_disk_and_premium_nfs_files():
    rwo, rwx = storage_classes(protect=False)
    assert (rwo.name, rwx.name) == (RWO_CLASS, RWX_CLASS)
    assert rwo.name not in ("managed-csi", "managed-csi-premium", "default")
    assert rwx.name not in ("azurefile-csi", "azurefile-csi-premium", "azurefile-csi-nfs")
    assert rwo.manifest()["provisioner"] == "disk.csi.azure.com"
    assert rwo.manifest()["volumeBindingMode"] == "WaitForFirstConsumer"
    files = rwx.manifest()
    assert files["provisioner"] == "file.csi.azure.com"
    assert files["parameters"] == {"skuName": "Premium_LRS", "protocol": "nfs"}
    assert files["reclaimPolicy"] == "Delete"
    assert "nconnect=4" in files["mountOptions"]
    assert all(c.reclaim_policy == "Retain" for c in storage_classes(protect=True))
