"""GKE target: what the staging and prod-gcp stacks register, as the engine would see it."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format

from infra.plan.mocks import RecordingMonitor

NS = "genai-platform"
STACKS = Path(__file__).resolve().parents[2] / "stacks"
GKE = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"
SC = "kubernetes:storage.k8s.io/v1:StorageClass"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def stack_config(stack: str, key: str):
    return copy.deepcopy(yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())["config"][f"{NS}:{key}"])


def one(mon, type_: str, name: str):
    (reg,) = [r for r in mon.by_type(type_) if r.name == name]
    return reg


def ok(result):
    assert result.error is None, result.error
    assert result.monitor.violations == []
    return result.monitor


@pytest.fixture
def raw(monkeypatch):
    """What the engine receives before the recording masks secrets."""
    seen: dict[str, dict] = {}
    original = RecordingMonitor.RegisterResource

    def register(self, request):
        seen[request.name] = json_format.MessageToDict(request.object)
        return original(self, request)

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", register)
    return seen


def _unsecret(value):
    return value["value"] if isinstance(value, dict) and value.get("4dabf18193072939515e22adb298388d") == _SECRET_SIG else value


# -- explicit providers --------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["staging", "prod-gcp"])
def test_every_resource_uses_the_explicit_providers(run, stack):
    mon = ok(run(stack))
    (gcp_provider,) = mon.by_type("pulumi:providers:gcp")
    (k8s_provider,) = mon.by_type("pulumi:providers:kubernetes")
    cloud = [r for r in mon.registrations if r.custom and r.type.startswith("gcp:")]
    assert len(cloud) > 20
    assert all(r.provider == gcp_provider.urn for r in cloud)
    assert all(r.provider == k8s_provider.urn for r in mon.registrations if r.type.startswith("kubernetes:"))
    (component,) = mon.by_type("genai:cluster:GkeCluster")
    assert gcp_provider.parent == component.urn and k8s_provider.parent == component.urn
    assert gcp_provider.inputs["project"] == stack_config(stack, "cluster")["gke"]["project"]
    assert gcp_provider.inputs["region"] == "us-central1"
    assert k8s_provider.inputs["enableServerSideApply"] == "true"


@pytest.mark.parametrize("stack", ["staging", "prod-gcp"])
def test_gke_stacks_disable_the_default_gcp_provider(stack):
    from infra.plan.runner import load_stack_config

    assert set(load_stack_config(stack).disabled_default_providers) == {"kubernetes", "gcp"}


# -- the cluster ---------------------------------------------------------------------------------

def test_prod_cluster_is_regional_private_pinned_and_protected(run):
    mon = ok(run("prod-gcp"))
    c = one(mon, GKE, "cluster-gke")
    i = c.inputs
    assert (i["name"], i["location"], i["project"]) == ("genai-prod", "us-central1", "acme-genai-prod")
    assert i["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert i["releaseChannel"] == {"channel": "STABLE"}
    assert i["minMasterVersion"] == "1.33"
    assert i["workloadIdentityConfig"] == {"workloadPool": "acme-genai-prod.svc.id.goog"}
    assert i["datapathProvider"] == "ADVANCED_DATAPATH"
    assert "networkPolicy" not in i  # Dataplane V2 enforces policies itself
    assert i["addonsConfig"] == {"gcePersistentDiskCsiDriverConfig": {"enabled": True},
                                 "gcpFilestoreCsiDriverConfig": {"enabled": True},
                                 "gcsFuseCsiDriverConfig": {"enabled": True}}
    assert (i["removeDefaultNodePool"], i["initialNodeCount"]) == (True, 1)
    assert i["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": False,
                                         "masterIpv4CidrBlock": "172.16.0.0/28"}
    assert i["masterAuthorizedNetworksConfig"]["cidrBlocks"] == [
        {"cidrBlock": "203.0.113.0/24", "displayName": "office"},
        {"cidrBlock": "198.51.100.0/26", "displayName": "ci-runners"}]
    assert i["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}
    assert i["networkingMode"] == "VPC_NATIVE"
    assert i["deletionProtection"] is True and c.protect is True
    subnet = one(mon, "gcp:compute/subnetwork:Subnetwork", "cluster-network-subnet")
    assert subnet.urn in c.dependencies
    assert i["subnetwork"] == "projects/acme-genai-prod/regions/us-central1/subnetworks/genai-prod-vpc-nodes"


def test_staging_cluster_is_zonal_public_and_unprotected(run):
    mon = ok(run("staging"))
    i = one(mon, GKE, "cluster-gke").inputs
    assert i["location"] == "us-central1-a"
    assert "nodeLocations" not in i  # a zonal cluster's own zone is implied
    assert "privateClusterConfig" not in i and "masterAuthorizedNetworksConfig" not in i
    assert i["deletionProtection"] is False and one(mon, GKE, "cluster-gke").protect is False
    assert i["releaseChannel"] == {"channel": "REGULAR"}
    # The default pool's settings and size are read back from other pools: never a diff.
    assert set(one(mon, GKE, "cluster-gke").ignore_changes) == {"nodeConfig", "initialNodeCount"}


def test_kubernetes_version_pins_the_control_plane(run):
    cluster = stack_config("staging", "cluster")
    cluster["kubernetesVersion"] = "1.32"
    mon = ok(run("staging", {"cluster": cluster}))
    assert one(mon, GKE, "cluster-gke").inputs["minMasterVersion"] == "1.32"


def test_multi_zonal_cluster_lists_only_its_extra_zones(run):
    cluster = stack_config("staging", "cluster")
    cluster["gke"]["zones"] = ["us-central1-a", "us-central1-b"]
    mon = ok(run("staging", {"cluster": cluster}))
    assert one(mon, GKE, "cluster-gke").inputs["nodeLocations"] == ["us-central1-b"]
    assert one(mon, POOL, "cluster-pools-system").inputs["nodeLocations"] == ["us-central1-a", "us-central1-b"]


# -- node pools ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("pool", "machine", "accelerator"), [
    ("a100", "a2-ultragpu-8g", "nvidia-a100-80gb"),
    ("h100", "a3-highgpu-8g", "nvidia-h100-80gb"),
])
def test_gpu_pools_carry_the_catalog_accelerator_and_gke_driver(run, pool, machine, accelerator):
    mon = ok(run("prod-gcp"))
    p = one(mon, POOL, f"cluster-pools-gpu-{pool}").inputs
    assert p["name"] == pool and p["cluster"] == "genai-prod" and p["location"] == "us-central1"
    cfg = p["nodeConfig"]
    assert cfg["machineType"] == machine
    assert cfg["guestAccelerators"] == [{"type": accelerator, "count": 8,
                                         "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}]
    assert cfg["imageType"] == "COS_CONTAINERD"
    assert cfg["gcfsConfig"] == {"enabled": True}
    assert cfg["gvnic"] == {"enabled": True}
    assert cfg["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert cfg["diskSizeGb"] == 500 and cfg["spot"] is False
    assert p["nodeLocations"] == ["us-central1-a", "us-central1-c"]


def test_gpu_pool_labels_and_taint(run):
    pools = stack_config("staging", "gpuPools")
    pools[0]["sharing"] = {"mode": "time-slicing", "replicas": 4}
    mon = ok(run("staging", {"gpuPools": pools}))
    cfg = one(mon, POOL, "cluster-pools-gpu-l4").inputs["nodeConfig"]
    assert cfg["labels"] == {
        "genai-platform.io/gpu-pool": "l4",                        # the pool's selector
        "nvidia.com/device-plugin.config": "l4",                   # the operator's sharing config
        "gke-no-default-nvidia-gpu-device-plugin": "true",         # GKE's own plugin off
    }
    assert cfg["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert cfg["spot"] is True
    assert cfg["guestAccelerators"][0]["type"] == "nvidia-l4" and cfg["guestAccelerators"][0]["count"] == 4


def test_latest_driver_by_setting(run):
    cluster = stack_config("staging", "cluster")
    cluster["gke"]["gpuDriverVersion"] = "LATEST"
    mon = ok(run("staging", {"cluster": cluster}))
    accel = one(mon, POOL, "cluster-pools-gpu-l4").inputs["nodeConfig"]["guestAccelerators"][0]
    assert accel["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}


def test_pools_autoscale_on_totals_and_ignore_node_counts(run):
    mon = ok(run("prod-gcp"))
    h100 = one(mon, POOL, "cluster-pools-gpu-h100").inputs
    assert h100["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 2, "locationPolicy": "ANY"}
    assert "minNodeCount" not in h100["autoscaling"] and "nodeCount" not in h100
    assert h100["initialNodeCount"] == 0 and h100["ignoreNodeCountChanges"] is True
    assert h100["upgradeSettings"] == {"maxSurge": 0, "maxUnavailable": 1}
    system = one(mon, POOL, "cluster-pools-system").inputs
    assert system["autoscaling"] == {"totalMinNodeCount": 3, "totalMaxNodeCount": 9, "locationPolicy": "BALANCED"}
    assert system["initialNodeCount"] == 1  # per zone: 3 nodes over 3 zones
    for name in ("cluster-pools-system", "cluster-pools-gpu-a100", "cluster-pools-gpu-h100"):
        assert set(one(mon, POOL, name).ignore_changes) == {"nodeCount", "initialNodeCount"}


def test_desired_size_sets_the_initial_count_per_zone(run):
    pools = stack_config("prod-gcp", "gpuPools")
    pools[1]["desiredSize"] = 2
    mon = ok(run("prod-gcp", {"gpuPools": pools}))
    assert one(mon, POOL, "cluster-pools-gpu-h100").inputs["initialNodeCount"] == 1


def test_system_pool_defaults_to_a_cpu_machine(run):
    mon = ok(run("staging"))
    system = one(mon, POOL, "cluster-pools-system").inputs
    cfg = system["nodeConfig"]
    assert cfg["machineType"] == "e2-standard-8"
    assert "guestAccelerators" not in cfg and "taints" not in cfg
    assert cfg["labels"] == {"genai-platform.io/pool": "system"}
    assert cfg["spot"] is True
    assert system["autoscaling"]["totalMinNodeCount"] == 1 and system["autoscaling"]["totalMaxNodeCount"] == 4
    assert cfg["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}


def test_nodes_run_as_a_minimal_service_account(run):
    mon = ok(run("prod-gcp"))
    account = one(mon, "gcp:serviceaccount/account:Account", "cluster-node-account-sa")
    email = f"{account.inputs['accountId']}@acme-genai-prod.iam.gserviceaccount.com"
    assert account.inputs["accountId"] == "genai-prod-nodes"
    for reg in [*mon.by_type(POOL), one(mon, GKE, "cluster-gke")]:
        assert reg.inputs["nodeConfig"]["serviceAccount"] == email
        assert reg.inputs["nodeConfig"]["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]
    roles = {r.inputs["role"] for r in mon.by_type("gcp:projects/iAMMember:IAMMember")}
    assert roles == {"roles/container.defaultNodeServiceAccount"}
    (reader,) = mon.by_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert reader.inputs["role"] == "roles/artifactregistry.reader"
    assert reader.inputs["member"] == f"serviceAccount:{email}"
    assert reader.inputs["repository"] == "genai-prod"


# -- network -------------------------------------------------------------------------------------

def test_prod_network_has_secondary_ranges_nat_and_webhook_firewall(run):
    mon = ok(run("prod-gcp"))
    vpc = one(mon, "gcp:compute/network:Network", "cluster-network-vpc").inputs
    assert vpc["autoCreateSubnetworks"] is False
    subnet = one(mon, "gcp:compute/subnetwork:Subnetwork", "cluster-network-subnet").inputs
    assert subnet["ipCidrRange"] == "10.0.0.0/20" and subnet["privateIpGoogleAccess"] is True
    assert subnet["secondaryIpRanges"] == [{"rangeName": "pods", "ipCidrRange": "10.4.0.0/14"},
                                           {"rangeName": "services", "ipCidrRange": "10.8.0.0/20"}]
    nat = one(mon, "gcp:compute/routerNat:RouterNat", "cluster-network-nat").inputs
    assert nat["router"] == one(mon, "gcp:compute/router:Router", "cluster-network-router").inputs["name"]
    self_link = "https://www.googleapis.com/compute/v1/projects/acme-genai-prod/regions/us-central1/subnetworks/genai-prod-vpc-nodes"
    assert nat["subnetworks"] == [{"name": self_link, "sourceIpRangesToNats": ["ALL_IP_RANGES"]}]
    fw = one(mon, "gcp:compute/firewall:Firewall", "cluster-network-webhooks").inputs
    assert fw["sourceRanges"] == ["172.16.0.0/28"] and fw["targetTags"] == ["genai-prod-node"]
    assert one(mon, POOL, "cluster-pools-gpu-a100").inputs["nodeConfig"]["tags"] == ["genai-prod-node"]


def test_public_nodes_need_no_nat(run):
    mon = ok(run("staging"))
    for t in ("gcp:compute/router:Router", "gcp:compute/routerNat:RouterNat", "gcp:compute/firewall:Firewall"):
        assert mon.by_type(t) == []


# -- storage, registry, bucket, identities -----------------------------------------------------

@pytest.mark.parametrize(("stack", "reclaim", "tier"), [("staging", "Delete", "standard"),
                                                         ("prod-gcp", "Retain", "regional")])
def test_storage_classes(run, stack, reclaim, tier):
    mon = ok(run(stack))
    classes = {r.inputs["metadata"]["name"]: r.inputs for r in mon.by_type(SC)}
    assert set(classes) == {"genai-rwo", "genai-rwx"}
    rwo, rwx = classes["genai-rwo"], classes["genai-rwx"]
    assert rwo["provisioner"] == "pd.csi.storage.gke.io" and rwo["parameters"] == {"type": "pd-balanced"}
    assert rwo["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert rwo["volumeBindingMode"] == "WaitForFirstConsumer" and rwo["allowVolumeExpansion"] is True
    assert rwx["provisioner"] == "filestore.csi.storage.gke.io"
    network = stack_config(stack, "cluster")["gke"]["name"] + "-vpc"
    assert rwx["parameters"] == {"tier": tier, "network": network}
    assert "annotations" not in rwx["metadata"]
    assert rwo["reclaimPolicy"] == rwx["reclaimPolicy"] == reclaim
    assert rwx["metadata"]["labels"]["app.kubernetes.io/part-of"] == "genai-platform"
    assert run(stack).monitor.stack_outputs["storageClasses"] == {"rwo": "genai-rwo", "rwx": "genai-rwx"}


@pytest.mark.parametrize(("stack", "protect"), [("staging", False), ("prod-gcp", True)])
def test_stateful_resources_follow_protect(run, stack, protect):
    mon = ok(run(stack))
    bucket = one(mon, "gcp:storage/bucket:Bucket", "cluster-artifacts-bucket")
    repo = one(mon, "gcp:artifactregistry/repository:Repository", "cluster-artifacts-registry")
    keys = [*mon.by_type("gcp:kms/keyRing:"), *mon.by_type("gcp:kms/cryptoKey:")]
    assert len(keys) == (2 if protect else 0)
    for reg in (bucket, repo, one(mon, GKE, "cluster-gke"), *keys):
        assert reg.protect is protect, reg.urn
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert bucket.inputs["versioning"] == {"enabled": True}
    assert bucket.inputs["location"] == "US-CENTRAL1"
    assert bucket.inputs["forceDestroy"] is (not protect)
    assert repo.inputs["format"] == "DOCKER" and repo.inputs["location"] == "us-central1"
    # Node pools and networks are rebuilt freely; they are not protected.
    assert not any(r.protect for r in mon.by_type(POOL))


def test_identities_are_bound_to_their_namespace_and_service_account(run):
    mon = ok(run("prod-gcp"))
    cluster = one(mon, GKE, "cluster-gke")
    expected = {"model-downloads": ("genai-models", "model-downloader", "roles/storage.objectViewer"),
                "backups": ("velero", "velero", "roles/storage.objectAdmin")}
    for name, (ns, sa, bucket_role) in expected.items():
        account = one(mon, "gcp:serviceaccount/account:Account", f"cluster-workload-identity-{name}")
        email = f"{account.inputs['accountId']}@acme-genai-prod.iam.gserviceaccount.com"
        binding = one(mon, "gcp:serviceaccount/iAMMember:IAMMember", f"cluster-workload-identity-{name}-wi")
        assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
        assert binding.inputs["member"] == f"serviceAccount:acme-genai-prod.svc.id.goog[{ns}/{sa}]"
        assert binding.inputs["serviceAccountId"] == f"projects/acme-genai-prod/serviceAccounts/{email}"
        assert cluster.urn in binding.dependencies  # the workload pool exists once the cluster does
        grant = one(mon, "gcp:storage/bucketIAMMember:BucketIAMMember", f"cluster-workload-identity-{name}-bucket")
        assert grant.inputs["role"] == bucket_role
        assert grant.inputs["member"] == f"serviceAccount:{email}"
        assert grant.inputs["bucket"] == "acme-genai-prod-genai-prod"
    outputs = run("prod-gcp").monitor.stack_outputs
    assert outputs["workloadIdentities"]["backups"] == {
        "namespace": "velero", "serviceAccount": "velero",
        "principal": "genai-prod-backups@acme-genai-prod.iam.gserviceaccount.com"}
    assert outputs["objectStore"] == {"kind": "gcs", "bucket": "acme-genai-prod-genai-prod", "region": "us-central1"}
    assert outputs["registry"] == "us-central1-docker.pkg.dev/acme-genai-prod/genai-prod"


def test_cluster_info_hands_out_the_service_account_annotation(tmp_path):
    # The layers annotate their own ServiceAccounts from ClusterInfo; run the cluster alone and
    # export what they would get.
    from infra.plan.runner import load_stack_config, run_program

    (tmp_path / "__main__.py").write_text(
        "import pulumi\n"
        "from infra import config, program\n"
        "info = program.build_cluster(config.load())\n"
        "pulumi.export('identities', {n: {'annotations': dict(w.annotations), 'labels': dict(w.pod_labels),\n"
        "    'namespace': w.namespace, 'sa': w.service_account} for n, w in info.identities.items()})\n"
        "pulumi.export('storage', [info.storage.rwo, info.storage.rwx])\n"
        "pulumi.export('platform', info.gpu_platform)\n"
    )
    result = run_program(load_stack_config("prod-gcp"), program_dir=tmp_path)
    assert result.error is None, result.error
    out = result.monitor.stack_outputs
    assert out["identities"]["model-downloads"] == {
        "annotations": {"iam.gke.io/gcp-service-account": "genai-prod-model-downloads@acme-genai-prod.iam.gserviceaccount.com"},
        "labels": {}, "namespace": "genai-models", "sa": "model-downloader"}
    # Besides the platform's two, PostgreSQL's backups and Milvus' segments use the bucket.
    assert set(out["identities"]) == {"model-downloads", "backups", "postgres-backups", "vector-backups"}
    assert out["storage"] == ["genai-rwo", "genai-rwx"] and out["platform"] == "gke"


# -- encryption ----------------------------------------------------------------------------------

def test_prod_encrypts_secrets_with_a_rotated_kms_key(run):
    mon = ok(run("prod-gcp"))
    ring = one(mon, "gcp:kms/keyRing:KeyRing", "cluster-secrets-key-ring")
    key = one(mon, "gcp:kms/cryptoKey:CryptoKey", "cluster-secrets-key-key")
    assert ring.inputs["location"] == "us-central1" and ring.protect and key.protect
    assert key.inputs["rotationPeriod"] == "7776000s" and key.inputs["purpose"] == "ENCRYPT_DECRYPT"
    key_id = "projects/acme-genai-prod/locations/us-central1/keyRings/genai-prod/cryptoKeys/gke-secrets"
    assert key.inputs["keyRing"] == key_id.rsplit("/cryptoKeys/", 1)[0]
    grant = one(mon, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "cluster-secrets-key-gke-agent")
    assert grant.inputs["cryptoKeyId"] == key_id
    # The project's number comes from the getProject invoke (mocked as 123456789012).
    assert grant.inputs["member"] == "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com"
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    cluster = one(mon, GKE, "cluster-gke")
    assert cluster.inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": key_id}
    assert grant.urn in cluster.dependencies


def test_staging_keeps_google_managed_encryption(run):
    mon = ok(run("staging"))
    assert mon.by_type("gcp:kms/") == []
    assert "databaseEncryption" not in one(mon, GKE, "cluster-gke").inputs


# -- APIs ----------------------------------------------------------------------------------------

def test_required_apis_are_enabled_and_kept_on_destroy(run):
    mon = ok(run("prod-gcp"))
    services = {r.inputs["service"]: r for r in mon.by_type("gcp:projects/service:Service")}
    for api in ("container", "compute", "file", "artifactregistry", "containerfilesystem", "iamcredentials", "cloudkms"):
        assert f"{api}.googleapis.com" in services
    assert all(r.inputs["disableOnDestroy"] is False for r in services.values())
    network = one(mon, "gcp:compute/network:Network", "cluster-network-vpc")
    assert services["compute.googleapis.com"].urn in network.dependencies


def test_apis_can_be_left_to_the_project_owner(run):
    cluster = stack_config("staging", "cluster")
    cluster["gke"]["enableApis"] = False
    mon = ok(run("staging", {"cluster": cluster}))
    assert mon.by_type("gcp:projects/service:Service") == []
    assert mon.by_type(GKE)


# -- GPU Operator on GKE -------------------------------------------------------------------------

def _operator_values(mon) -> dict:
    (rel,) = [r for r in mon.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "gpu-operator"]
    return rel.inputs["values"]


def test_gpu_operator_follows_the_gke_procedure(run):
    mon = ok(run("prod-gcp"))
    values = _operator_values(mon)
    assert values["driver"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": True, "installDir": "/home/kubernetes/bin/nvidia",
                                 "env": [{"name": "RUNTIME_CONFIG_SOURCE", "value": "file"}]}
    assert values["hostPaths"] == {"driverInstallDir": "/home/kubernetes/bin/nvidia"}
    assert values["cdi"] == {"enabled": True}
    (quota,) = [q for q in mon.by_type("kubernetes:core/v1:ResourceQuota")
                if q.inputs["metadata"]["namespace"] == "gpu-operator"]
    assert quota.inputs["metadata"]["namespace"] == "gpu-operator"
    assert quota.inputs["spec"]["scopeSelector"]["matchExpressions"][0]["values"] == [
        "system-node-critical", "system-cluster-critical"]


def test_toolkit_reads_containerd_config_from_file_only_from_1_33(run):
    cluster = stack_config("staging", "cluster")
    cluster["kubernetesVersion"] = "1.32"
    values = _operator_values(ok(run("staging", {"cluster": cluster})))
    assert "env" not in values["toolkit"] and values["toolkit"]["installDir"] == "/home/kubernetes/bin/nvidia"


# -- kubeconfig and outputs ----------------------------------------------------------------------

def test_kubeconfig_is_built_from_the_cluster_endpoint_and_ca(run, raw):
    mon = ok(run("prod-gcp"))
    provider = next(r for r in mon.by_type("pulumi:providers:kubernetes"))
    assert provider.inputs["kubeconfig"] == "[secret]"
    cluster = one(mon, GKE, "cluster-gke")
    system = one(mon, POOL, "cluster-pools-system")
    assert cluster.urn in provider.dependencies and system.urn in provider.dependencies
    kubeconfig = yaml.safe_load(_unsecret(raw["cluster-k8s"]["kubeconfig"]))
    context = "gke_acme-genai-prod_us-central1_genai-prod"
    assert kubeconfig["current-context"] == context
    server = kubeconfig["clusters"][0]["cluster"]["server"]
    assert server.startswith("https://34.")  # the public endpoint the mock cluster reports
    ca = kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
    assert base64.b64decode(ca).startswith(b"-----BEGIN CERTIFICATE-----")
    user = kubeconfig["users"][0]["user"]
    assert "token" not in user and user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert mon.stack_outputs["kubeconfig"] == "[secret]"


def test_private_endpoint_kubeconfig_uses_the_private_address(run, raw):
    cluster = stack_config("prod-gcp", "cluster")
    cluster["gke"]["network"]["privateEndpoint"] = True
    ok(run("prod-gcp", {"cluster": cluster}))
    kubeconfig = yaml.safe_load(_unsecret(raw["cluster-k8s"]["kubeconfig"]))
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://172.16.0.1"


@pytest.mark.parametrize(("stack", "zones"), [("staging", ["us-central1-a"]),
                                               ("prod-gcp", ["us-central1-a", "us-central1-b", "us-central1-c"])])
def test_cluster_outputs(run, stack, zones):
    outputs = ok(run(stack)).stack_outputs
    assert outputs["cluster"] == {"kind": "gke", "kubernetesVersion": "1.33", "cpuOnly": False,
                                  "gpuPlatform": "gke", "zones": zones}
