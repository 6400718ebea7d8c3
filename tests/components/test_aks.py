"""AksCluster: what the prod-azure stack registers, and what the layers above receive.

Runs the real program on ``stacks/Pulumi.prod-azure.yaml`` (with keys replaced where a test
says so) under the recording mocks, and checks the registered Azure resources, the
Kubernetes objects and the ClusterInfo handed to the platform layer.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from stack_overrides import isolate_pools

from components.cluster.aks_specs import role_assignment_name
from components.platform.gpu_operator_values import platform_node_labels
from infra import cluster_aks
from infra.plan.mocks import PlatformMocks
from infra.plan.runner import RunResult, load_stack_config, run_program

STACK = "prod-azure"
NS = "genai-platform"
CONFIG = yaml.safe_load((Path(__file__).resolve().parents[2] / "stacks" / f"Pulumi.{STACK}.yaml").read_text())["config"]
CLUSTER, POOLS = CONFIG[f"{NS}:cluster"], CONFIG[f"{NS}:gpuPools"]
GPU_TAINT = "nvidia.com/gpu=present:NoSchedule"
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
AZ = "azure-native:"


def cluster(drop: tuple[str, ...] = (), **aks: Any) -> dict:
    """The stack's cluster section with ``cluster.aks`` keys changed (``drop`` removes keys)."""
    out = copy.deepcopy(CLUSTER)
    for key in drop:
        out["aks"].pop(key)
    out["aks"].update(aks)
    return out


def pools(index: int, **changes: Any) -> list[dict]:
    out = copy.deepcopy(POOLS)
    out[index].update(changes)
    return out


class Captured:
    """A run plus what the recording alone doesn't keep: the ClusterInfo and the kubeconfig the
    Kubernetes provider was given."""

    def __init__(self, result: RunResult, info, kubeconfig: Optional[str]):
        self.result, self.info, self.kubeconfig = result, info, kubeconfig
        self.regs = result.monitor.registrations

    def one(self, type_: str, name: str):
        found = [r for r in self.regs if r.type == type_ and r.name == name]
        assert len(found) == 1, f"{type_} {name}: {[r.name for r in self.regs if r.type == type_]}"
        return found[0]

    def all(self, type_: str) -> list:
        return [r for r in self.regs if r.type == type_]

    def state(self, reg) -> dict:
        """The mocked outputs and id of a registered resource (what Azure would return)."""
        registered = self.result.monitor.resources[reg.urn]
        return {**registered.state, "id": registered.id}


def run_aks(overrides: Optional[dict] = None) -> Captured:
    seen: dict[str, Any] = {}

    class Mocks(PlatformMocks):
        def new_resource(self, args):
            if args.typ == "pulumi:providers:kubernetes":
                value = args.inputs.get("kubeconfig")
                seen["kubeconfig"] = value.get("value") if isinstance(value, dict) else value
            return super().new_resource(args)

    build = cluster_aks.build

    def spy(*args):
        seen["info"] = build(*args)
        return seen["info"]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cluster_aks, "build", spy)
        result = run_program(load_stack_config(STACK, overrides=isolate_pools(overrides, STACK)), mocks=Mocks())
    assert result.error is None, result.error
    return Captured(result, seen.get("info"), seen.get("kubeconfig"))


@pytest.fixture(scope="module")
def prod() -> Captured:
    return run_aks()


def test_the_stack_runs_and_every_azure_resource_uses_the_explicit_provider(prod):
    assert prod.result.monitor.violations == []
    assert "azure-native" in load_stack_config(STACK).disabled_default_providers
    provider = prod.one("pulumi:providers:azure-native", "cluster-azure")
    assert provider.inputs["location"] == "eastus"
    azure = [r for r in prod.regs if r.type.startswith(AZ)]
    assert len(azure) >= 20
    assert {r.provider for r in azure} == {provider.urn}
    component = prod.one("genai:cluster:AksCluster", "cluster")
    assert all(r.parent for r in azure)
    assert provider.parent == component.urn
    group = prod.one(f"{AZ}resources:ResourceGroup", "cluster-rg")
    assert group.protect is True and group.inputs["resourceGroupName"] == "genai-prod-rg"
    assert group.inputs["tags"] == {"part-of": "genai-platform", "managed-by": "pulumi", "stack": STACK}


def test_cluster_is_pinned_private_entra_overlay_and_cilium(prod):
    aks = prod.one(f"{AZ}containerservice:ManagedCluster", "cluster-aks")
    i = aks.inputs
    assert aks.protect is True
    assert (i["resourceName"], i["resourceGroupName"], i["location"]) == ("genai-prod", "genai-prod-rg", "eastus")
    assert i["kubernetesVersion"] == "1.35"
    assert i["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert i["sku"] == {"name": "Base", "tier": "Standard"}
    net = i["networkProfile"]
    assert (net["networkPlugin"], net["networkPluginMode"]) == ("azure", "overlay")
    assert (net["networkPolicy"], net["networkDataplane"]) == ("cilium", "cilium")
    assert (net["podCidr"], net["serviceCidr"], net["dnsServiceIP"]) == ("10.244.0.0/16", "10.0.0.0/16", "10.0.0.10")
    assert i["oidcIssuerProfile"] == {"enabled": True}
    assert i["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert i["aadProfile"]["managed"] is True
    assert i["aadProfile"]["adminGroupObjectIDs"] == CLUSTER["aks"]["entraId"]["adminGroupObjectIds"]
    assert i["disableLocalAccounts"] is True and i["enableRBAC"] is True
    assert i["apiServerAccessProfile"] == {"enablePrivateCluster": True, "privateDNSZone": "system"}
    assert i["storageProfile"]["fileCSIDriver"] == {"enabled": True}
    identity = prod.one(f"{AZ}managedidentity:UserAssignedIdentity", "cluster-control-plane")
    assert i["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [prod.state(identity)["id"]]}


def test_system_pool_is_critical_addons_only_zonal_and_autoscaled(prod):
    (system,) = prod.one(f"{AZ}containerservice:ManagedCluster", "cluster-aks").inputs["agentPoolProfiles"]
    assert (system["name"], system["mode"], system["vmSize"]) == ("system", "System", "Standard_D4s_v5")
    assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert system["availabilityZones"] == ["1", "2", "3"]
    assert (system["enableAutoScaling"], system["minCount"], system["maxCount"], system["count"]) == (True, 3, 5, 3)
    assert system["orchestratorVersion"] == "1.35" and system["osDiskSizeGB"] == 128
    assert "scaleSetPriority" not in system
    assert prod.one(f"{AZ}containerservice:ManagedCluster", "cluster-aks").ignore_changes == ["agentPoolProfiles[0].count"]


def test_system_pool_defaults_to_a_d4s_v5(run):
    section = copy.deepcopy(CLUSTER)
    section["systemPool"].pop("instanceType")
    result = run(STACK, {"cluster": section})
    (aks,) = result.monitor.by_type(f"{AZ}containerservice:ManagedCluster")
    assert aks.inputs["agentPoolProfiles"][0]["vmSize"] == "Standard_D4s_v5"


@pytest.mark.parametrize(("name", "vm", "max_size", "disk"), [
    ("h100", "Standard_ND96isr_H100_v5", 2, 512),
    ("a100", "Standard_NC24ads_A100_v4", 12, 256),
])
def test_gpu_pools_skip_the_aks_driver_and_carry_taints_labels_and_bounds(prod, name, vm, max_size, disk):
    reg = prod.one(f"{AZ}containerservice:AgentPool", f"cluster-pools-{name}")
    i = reg.inputs
    assert i["gpuProfile"] == {"driver": "None"}
    assert (i["agentPoolName"], i["vmSize"], i["mode"], i["osType"]) == (name, vm, "User", "Linux")
    assert i["resourceName"] == "genai-prod" and i["resourceGroupName"] == "genai-prod-rg"
    assert i["nodeTaints"] == [GPU_TAINT]
    pool = next(p for p in prod.info.gpu_pools if p.name == name)
    assert i["nodeLabels"] == {"genai-platform.io/gpu-pool": name, **platform_node_labels("aks"), **pool.operator_node_labels}
    assert (i["enableAutoScaling"], i["minCount"], i["maxCount"], i["count"]) == (True, 0, max_size, 0)
    assert i["osDiskSizeGB"] == disk and i["orchestratorVersion"] == "1.35"
    assert i["scaleSetPriority"] == "Regular" and "spotMaxPrice" not in i
    assert i["upgradeSettings"] == {"maxSurge": "0", "maxUnavailable": "1"}
    assert "availabilityZones" not in i
    assert reg.ignore_changes == ["count"]
    subnet = prod.one(f"{AZ}network:Subnet", "cluster-network-nodes")
    assert i["vnetSubnetID"] == prod.state(subnet)["id"]


def test_spot_shared_zonal_pool(run):
    changed = pools(1, spot=True, zones=["2", "3"], desiredSize=1, minSize=1,
                    sharing={"mode": "time-slicing", "replicas": 4})
    captured = run_aks({"gpuPools": changed})
    i = captured.one(f"{AZ}containerservice:AgentPool", "cluster-pools-a100").inputs
    assert (i["scaleSetPriority"], i["scaleSetEvictionPolicy"], i["spotMaxPrice"]) == ("Spot", "Delete", -1)
    # AKS refuses upgrade settings with a max surge on spot pools.
    assert "upgradeSettings" not in i
    assert i["nodeTaints"] == [GPU_TAINT, SPOT_TAINT]
    pool = next(p for p in captured.info.gpu_pools if p.name == "a100")
    assert pool.operator_node_labels == {"nvidia.com/device-plugin.config": "a100"}
    assert i["nodeLabels"] == {"genai-platform.io/gpu-pool": "a100", "nvidia.com/device-plugin.config": "a100",
                               "kubernetes.azure.com/scalesetpriority": "spot", **platform_node_labels("aks")}
    assert i["availabilityZones"] == ["2", "3"]
    assert (i["count"], i["minCount"]) == (1, 1)
    # The platform (and the GPU Operator) tolerate the spot taint AKS puts on these nodes.
    assert {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot",
            "effect": "NoSchedule"} in pool.tolerations
    (release,) = [r for r in captured.all("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "gpu-operator"]
    assert {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Exists",
            "effect": "NoSchedule"} in release.inputs["values"]["daemonsets"]["tolerations"]
    assert release.inputs["values"]["devicePlugin"]["config"]["name"] == "device-plugin-config"


def test_user_pool_runs_platform_workloads_untainted(prod):
    i = prod.one(f"{AZ}containerservice:AgentPool", "cluster-pools-user").inputs
    assert (i["agentPoolName"], i["mode"], i["vmSize"]) == ("user", "User", "Standard_D8s_v5")
    assert "nodeTaints" not in i and "gpuProfile" not in i
    assert (i["minCount"], i["maxCount"], i["availabilityZones"]) == (2, 8, ["1", "2", "3"])
    assert prod.one(f"{AZ}containerservice:AgentPool", "cluster-pools-user").ignore_changes == ["count"]


def test_control_plane_identity_is_network_contributor_on_the_subnet_before_the_cluster(prod):
    role = prod.one(f"{AZ}authorization:RoleAssignment", "cluster-control-plane-network")
    subnet = prod.one(f"{AZ}network:Subnet", "cluster-network-nodes")
    identity = prod.one(f"{AZ}managedidentity:UserAssignedIdentity", "cluster-control-plane")
    assert role.inputs["scope"] == prod.state(subnet)["id"]
    assert role.inputs["principalId"] == prod.state(identity)["principalId"]
    assert role.inputs["roleDefinitionId"].endswith("/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7")
    assert role.inputs["principalType"] == "ServicePrincipal"
    assert role.urn in prod.one(f"{AZ}containerservice:ManagedCluster", "cluster-aks").dependencies
    assert subnet.inputs["serviceEndpoints"] == [{"service": "Microsoft.Storage"}]


def test_role_assignment_names_are_deterministic_guids(prod):
    roles = prod.all(f"{AZ}authorization:RoleAssignment")
    # AcrPull, Network Contributor, and one bucket role per identity: model downloads,
    # Velero and the PostgreSQL backups of the stack's databases.
    assert len(roles) == 5
    by_id = {"7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull", "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
             "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
             "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor"}
    for r in roles:
        role = by_id[r.inputs["roleDefinitionId"].rsplit("/", 1)[1]]
        assert r.inputs["roleAssignmentName"] == role_assignment_name(r.inputs["scope"], r.inputs["principalId"], role)
    again = {r.name: r.inputs["roleAssignmentName"] for r in run_aks().all(f"{AZ}authorization:RoleAssignment")}
    assert again == {r.name: r.inputs["roleAssignmentName"] for r in roles}


def test_registry_is_locked_down_and_the_kubelet_pulls_from_it(prod):
    acr = prod.one(f"{AZ}containerregistry:Registry", "cluster-registry-acr")
    assert acr.protect is True
    assert acr.inputs["sku"] == {"name": "Premium"} and acr.inputs["zoneRedundancy"] == "Enabled"
    assert acr.inputs["adminUserEnabled"] is False and acr.inputs["anonymousPullEnabled"] is False
    pull = prod.one(f"{AZ}authorization:RoleAssignment", "cluster-registry-kubelet-acrpull")
    kubelet = prod.state(prod.one(f"{AZ}containerservice:ManagedCluster", "cluster-aks"))["identityProfile"]["kubeletidentity"]
    assert pull.inputs["principalId"] == kubelet["objectId"]
    assert pull.inputs["scope"] == prod.state(acr)["id"]
    assert pull.inputs["roleDefinitionId"].endswith("/7f951dda-4ed3-4680-a7ca-43fe172d538d")
    assert prod.result.monitor.stack_outputs["registry"] == prod.state(acr)["loginServer"]


def test_object_store_is_encrypted_private_and_recoverable(prod):
    account = prod.one(f"{AZ}storage:StorageAccount", "cluster-object-store-account")
    i = account.inputs
    assert account.protect is True
    assert (i["kind"], i["sku"]) == ("StorageV2", {"name": "Standard_ZRS"})
    assert i["enableHttpsTrafficOnly"] is True and i["minimumTlsVersion"] == "TLS1_2"
    assert i["allowBlobPublicAccess"] is False and i["allowSharedKeyAccess"] is False
    assert i["encryption"]["requireInfrastructureEncryption"] is True
    assert i["encryption"]["services"]["blob"] == {"enabled": True, "keyType": "Account"}
    subnet = prod.one(f"{AZ}network:Subnet", "cluster-network-nodes")
    assert i["networkRuleSet"]["defaultAction"] == "Deny"
    assert i["networkRuleSet"]["virtualNetworkRules"] == [{"virtualNetworkResourceId": prod.state(subnet)["id"],
                                                           "action": "Allow"}]
    blob = prod.one(f"{AZ}storage:BlobServiceProperties", "cluster-object-store-blob-service").inputs
    assert blob["isVersioningEnabled"] is True
    assert blob["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert blob["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}
    container = prod.one(f"{AZ}storage:BlobContainer", "cluster-object-store-container")
    assert container.protect is True
    assert (container.inputs["containerName"], container.inputs["publicAccess"]) == ("platform", "None")
    store = prod.info.object_store
    assert (store.kind, store.region) == ("azure-blob", "eastus")
    assert prod.result.monitor.stack_outputs["objectStore"] == {
        "kind": "azure-blob", "bucket": "platform", "region": "eastus", "account": prod.state(account)["name"]}


def test_workload_identities_are_federated_with_the_service_accounts(prod):
    aks_state = prod.state(prod.one(f"{AZ}containerservice:ManagedCluster", "cluster-aks"))
    account = prod.state(prod.one(f"{AZ}storage:StorageAccount", "cluster-object-store-account"))
    expected = {"model-downloads": ("genai-models", "model-downloader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
                "backups": ("velero", "velero", "ba92f5b4-2d11-453d-a403-e96b0029c9fe")}
    outputs = prod.result.monitor.stack_outputs["workloadIdentities"]
    for name, (ns, sa, role_id) in expected.items():
        identity = prod.one(f"{AZ}managedidentity:UserAssignedIdentity", f"cluster-identities-{name}")
        assert identity.inputs["resourceName"] == f"genai-prod-{name}"
        fed = prod.one(f"{AZ}managedidentity:FederatedIdentityCredential", f"cluster-identities-{name}-federation").inputs
        assert fed["subject"] == f"system:serviceaccount:{ns}:{sa}"
        assert fed["audiences"] == ["api://AzureADTokenExchange"]
        assert fed["issuer"] == aks_state["oidcIssuerProfile"]["issuerURL"]
        assert fed["resourceName"] == f"genai-prod-{name}"
        role = prod.one(f"{AZ}authorization:RoleAssignment", f"cluster-identities-{name}-blob").inputs
        assert role["scope"] == account["id"] and role["roleDefinitionId"].endswith(role_id)
        assert role["principalId"] == prod.state(identity)["principalId"]
        wi = prod.info.identities[name]
        assert (wi.namespace, wi.service_account) == (ns, sa)
        assert wi.pod_labels == {"azure.workload.identity/use": "true"}
        assert wi.annotations["azure.workload.identity/client-id"] is wi.cloud_principal
        assert outputs[name] == {"namespace": ns, "serviceAccount": sa, "principal": prod.state(identity)["clientId"]}


def test_storage_classes_are_created_through_the_cluster_provider(prod):
    k8s_provider = prod.one("pulumi:providers:kubernetes", "cluster-k8s")
    classes = {r.inputs["metadata"]["name"]: r for r in prod.all("kubernetes:storage.k8s.io/v1:StorageClass")}
    assert set(classes) == {"genai-disk-premium", "genai-files-nfs"}
    assert {r.provider for r in classes.values()} == {k8s_provider.urn}
    disk, files = classes["genai-disk-premium"].inputs, classes["genai-files-nfs"].inputs
    assert (disk["provisioner"], disk["parameters"]) == ("disk.csi.azure.com", {"skuName": "Premium_LRS"})
    assert (files["provisioner"], files["parameters"]) == ("file.csi.azure.com", {"skuName": "Premium_LRS", "protocol": "nfs"})
    assert disk["reclaimPolicy"] == files["reclaimPolicy"] == "Retain"
    assert disk["metadata"]["labels"]["app.kubernetes.io/part-of"] == "genai-platform"
    assert "annotations" not in disk["metadata"]      # AKS's managed-csi stays the default class
    assert (prod.info.storage.rwo, prod.info.storage.rwx) == ("genai-disk-premium", "genai-files-nfs")


def test_kubeconfig_is_secret_private_and_signs_in_with_kubelogin(prod):
    provider = prod.one("pulumi:providers:kubernetes", "cluster-k8s")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert provider.inputs["enableServerSideApply"] == "true"
    assert prod.result.monitor.stack_outputs["kubeconfig"] == "[secret]"
    kubeconfig = yaml.safe_load(prod.kubeconfig)
    aks_state = prod.state(prod.one(f"{AZ}containerservice:ManagedCluster", "cluster-aks"))
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{aks_state['privateFQDN']}:443"
    assert kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
    exec_ = kubeconfig["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["args"][:3] == ["get-token", "--login", "azurecli"]
    assert prod.info.kubeconfig is not None and prod.info.provider is not None


def test_cluster_info_describes_the_aks_cluster(prod):
    info = prod.info
    assert (info.kind, info.name, info.gpu_platform, info.kubernetes_version) == ("aks", "genai-prod", "aks", "1.35")
    assert info.zones == ("1", "2", "3") and info.protect is True
    assert [p.name for p in info.gpu_pools] == ["h100", "a100"]
    assert [(p.gpu_model, p.gpus_per_node) for p in info.gpu_pools] == [("H100-80GB", 8), ("A100-80GB", 1)]
    assert prod.result.monitor.stack_outputs["cluster"]["gpuPlatform"] == "aks"


def test_gpu_operator_installs_driver_and_toolkit_on_aks(prod):
    (release,) = [r for r in prod.all("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "gpu-operator"]
    values = release.inputs["values"]
    assert values["driver"] == {"enabled": True}
    assert values["toolkit"] == {"enabled": True}
    assert "hostPaths" not in values and "cdi" not in values
    assert values["daemonsets"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert release.provider == prod.one("pulumi:providers:kubernetes", "cluster-k8s").urn


def test_unprotected_public_cluster_without_entra(run):
    section = cluster(drop=("entraId", "disableLocalAccounts", "kubeloginMode"), privateCluster=False,
                      authorizedIpRanges=["203.0.113.0/24"], network={**CLUSTER["aks"]["network"], "policy": "calico"})
    captured = run_aks({"cluster": section, "protect": False})
    aks = captured.one(f"{AZ}containerservice:ManagedCluster", "cluster-aks")
    assert aks.protect is False
    assert "aadProfile" not in aks.inputs and aks.inputs["disableLocalAccounts"] is False
    assert aks.inputs["apiServerAccessProfile"] == {"enablePrivateCluster": False, "authorizedIPRanges": ["203.0.113.0/24"]}
    assert (aks.inputs["networkProfile"]["networkPolicy"], aks.inputs["networkProfile"]["networkDataplane"]) == (
        "calico", "azure")
    user = yaml.safe_load(captured.kubeconfig)["users"][0]["user"]
    assert "exec" not in user and user["client-certificate-data"]
    assert captured.state(aks)["fqdn"] in yaml.safe_load(captured.kubeconfig)["clusters"][0]["cluster"]["server"]
    assert not any(r.protect for r in captured.regs if r.type.startswith(AZ))
    assert {r.inputs["reclaimPolicy"] for r in captured.all("kubernetes:storage.k8s.io/v1:StorageClass")} == {"Delete"}


def test_existing_resource_group_is_adopted_not_created(run):
    result = run(STACK, {"cluster": cluster(drop=("resourceGroup",), existingResourceGroup="shared-aks")})
    assert result.error is None, result.error
    assert result.monitor.by_type(f"{AZ}resources:ResourceGroup") == []
    azure = [r for r in result.monitor.registrations if "resourceGroupName" in r.inputs]
    assert azure and {r.inputs["resourceGroupName"] for r in azure} == {"shared-aks"}


def test_names_and_sizes_come_from_the_settings(run):
    section = cluster(registry={"name": "genaiprodacr", "sku": "Standard"}, encryptionAtHost=True,
                      objectStore={"accountName": "genaiprodblobs", "container": "backups", "replication": "LRS"})
    result = run(STACK, {"cluster": section})
    assert result.error is None, result.error
    (acr,) = result.monitor.by_type(f"{AZ}containerregistry:Registry")
    assert (acr.inputs["registryName"], acr.inputs["sku"]) == ("genaiprodacr", {"name": "Standard"})
    assert acr.inputs["zoneRedundancy"] == "Disabled"   # only Premium is zone-redundant
    (account,) = result.monitor.by_type(f"{AZ}storage:StorageAccount")
    assert (account.inputs["accountName"], account.inputs["sku"]) == ("genaiprodblobs", {"name": "Standard_LRS"})
    pools_ = result.monitor.by_type(f"{AZ}containerservice:AgentPool")
    assert pools_ and all(p.inputs["enableEncryptionAtHost"] is True for p in pools_)
