"""Backups with Velero: the chart's values per cloud (checked against the pinned chart's reference
values and values.schema.json), the storage location and credentials per bucket kind, Schedules
and VolumeSnapshotClasses against their CRD schemas, the node agent's ConfigMap, the namespace's
NetworkPolicies with the policy walker, and the component under the recording mocks for an
EKS-like cluster and an existing one."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from component_programs import run_component_program
from netpol_walk import External, Pod, allowed

from components.cluster.info import ObjectStore, WorkloadIdentity
from components.common.security import Resources
from components.ops import backup_specs as bs
from components.ops import backup_values as bv
from components.ops.contracts import VELERO_RELEASE, VELERO_SERVICE_ACCOUNT
from components.platform import network_policies
from infra.plan.mocks import SECRET
from infra.plan.policy import check_plan
from infra.plan.validate import REFERENCE_DIR, has_chart_reference, validate_helm_values, validate_manifest
from infra.schema_ops import VELERO_CHART_VERSION

NS = "velero"
SERVER = Resources("100m", "256Mi", "500m", "512Mi")
ROLE_ARN = "arn:aws:iam::111122223333:role/prod-backups"
GSA = "prod-backups@proj.iam.gserviceaccount.com"
CLIENT_ID = "00000000-1111-2222-3333-444444444444"
ACCESS_KEY, SECRET_KEY = "AKIABACKUPEXAMPLE", "backup-secret-example-value"

S3 = ObjectStore(kind="s3", bucket="prod-platform", region="eu-west-1")
GCS = ObjectStore(kind="gcs", bucket="prod-platform", region="europe-west4")
BLOB = ObjectStore(kind="azure-blob", bucket="platform", region="westeurope", account="prodplatform",
                   endpoint="https://prodplatform.blob.core.windows.net/")
MINIO = ObjectStore(kind="s3", bucket="backups", region="us-east-1", endpoint="http://minio.storage.local:9000",
                    access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)

IRSA = WorkloadIdentity("backups", NS, "velero", annotations={"eks.amazonaws.com/role-arn": ROLE_ARN},
                        cloud_principal=ROLE_ARN)
POD_IDENTITY = WorkloadIdentity("backups", NS, "velero", cloud_principal=ROLE_ARN)
GKE_WI = WorkloadIdentity("backups", NS, "velero", annotations={"iam.gke.io/gcp-service-account": GSA},
                          cloud_principal=GSA)
AZURE_WI = WorkloadIdentity("backups", NS, "velero", annotations={"azure.workload.identity/client-id": CLIENT_ID},
                            pod_labels={"azure.workload.identity/use": "true"}, cloud_principal=CLIENT_ID)

CLOUDS = {"aws": (S3, IRSA), "gcp": (GCS, GKE_WI), "azure": (BLOB, AZURE_WI), "existing": (MINIO, None)}


def settings(node_agent: bool = True, metrics: bool = True, **kw) -> bv.VeleroSettings:
    return bv.VeleroSettings(namespace=NS, prefix="velero", resources=SERVER, node_agent=node_agent,
                             repository_namespaces=("genai-system", "tenant-acme"),
                             metrics_namespace="monitoring" if metrics else None, **kw)


def values(cloud: str = "aws", **kw) -> dict:
    store, identity = CLOUDS[cloud]
    return bv.velero_values(store, identity, settings(**kw))


def bsl(v: dict) -> dict:
    (location,) = v["configuration"]["backupStorageLocation"]
    return location


def containers(v: dict) -> list[dict]:
    """Every container spec the values hand the chart, with the resources it gets."""
    out = [{"name": "velero", "resources": v["resources"], "securityContext": v["containerSecurityContext"]},
           {"name": "upgrade-crds", "resources": v["upgradeJobResources"]},
           *v["initContainers"]]
    if v.get("deployNodeAgent"):
        out.append({"name": "node-agent", "resources": v["nodeAgent"]["resources"],
                    "securityContext": v["nodeAgent"]["containerSecurityContext"]})
    return out


# --- chart, images and values ---------------------------------------------------------------

def test_chart_and_server_image_are_the_pinned_reference_ones():
    assert has_chart_reference(bv.CHART)
    assert (bv.CHART, bv.REPOSITORY, bv.CHART_VERSION) == ("velero", "https://vmware-tanzu.github.io/helm-charts",
                                                           VELERO_CHART_VERSION)
    defaults = yaml.safe_load((REFERENCE_DIR / "chart-values" / "velero" / "values.yaml").read_text())
    # The server runs the image chart 12.1.0 ships (app 1.18.1), pinned here as well.
    assert (defaults["image"]["repository"], defaults["image"]["tag"]) == (bv.VELERO_IMAGE, bv.VELERO_TAG)
    assert bv.VELERO_TAG == "v1.18.1"


@pytest.mark.parametrize("cloud", list(CLOUDS))
@pytest.mark.parametrize("node_agent", [True, False])
def test_values_are_keys_of_the_pinned_chart_and_satisfy_its_schema(cloud, node_agent):
    assert validate_helm_values("velero", values(cloud, node_agent=node_agent)) == []
    assert validate_helm_values("velero", values(cloud, node_agent=node_agent, metrics=False)) == []


@pytest.mark.parametrize(("cloud", "plugin"), [
    ("aws", "velero-plugin-for-aws"), ("gcp", "velero-plugin-for-gcp"),
    ("azure", "velero-plugin-for-microsoft-azure"), ("existing", "velero-plugin-for-aws"),
])
def test_one_plugin_of_the_velero_1_18_line_per_bucket_kind(cloud, plugin):
    (init,) = values(cloud)["initContainers"]
    assert init["name"] == plugin
    # Plugin v1.14.x is what each plugin's README pairs with Velero v1.18.x.
    assert init["image"] == f"docker.io/velero/{plugin}:v1.14.2"
    assert init["volumeMounts"] == [{"mountPath": "/target", "name": "plugins"}]


def test_every_image_is_pinned():
    for cloud in CLOUDS:
        v = values(cloud)
        for image in [f"{v['image']['repository']}:{v['image']['tag']}", *(c["image"] for c in v["initContainers"])]:
            tag = image.rsplit(":", 1)[1]
            assert tag.startswith("v1.") and tag != "latest", image


def test_csi_snapshots_need_no_snapshot_location_but_the_feature_flag():
    for cloud in CLOUDS:
        v = values(cloud)
        # Velero 1.18 still skips its CSI actions without EnableCSI (pkg/util/csi ShouldSkipAction).
        assert v["configuration"]["features"] == "EnableCSI"
        assert v["snapshotsEnabled"] is False and v["configuration"]["volumeSnapshotLocation"] == []
        assert v["backupsEnabled"] is True
        assert v["schedules"] == {}, "schedules are Pulumi resources, not chart values"


# --- storage location and credentials per cloud ----------------------------------------------

def test_aws_location_uses_the_region_and_the_workload_identity():
    v = values("aws")
    assert bsl(v) == {"name": "default", "provider": "aws", "bucket": "prod-platform", "prefix": "velero",
                      "default": True, "accessMode": "ReadWrite", "config": {"region": "eu-west-1"}}
    assert v["credentials"] == {"useSecret": False}
    server = v["serviceAccount"]["server"]
    assert (server["create"], server["name"]) == (True, VELERO_SERVICE_ACCOUNT)
    assert server["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}


def test_pod_identity_needs_no_annotation():
    v = bv.velero_values(S3, POD_IDENTITY, settings())
    assert v["credentials"] == {"useSecret": False}
    assert "annotations" not in v["serviceAccount"]["server"]
    assert validate_helm_values("velero", v) == []


def test_s3_compatible_store_is_addressed_by_path_with_static_keys_in_a_secret():
    v = values("existing")
    assert bsl(v)["provider"] == "aws"
    assert bsl(v)["config"] == {"region": "us-east-1", "s3ForcePathStyle": "true",
                                "s3Url": "http://minio.storage.local:9000"}
    assert v["credentials"] == {"useSecret": True, "existingSecret": bv.CREDENTIALS_SECRET}
    assert bv.credentials_mode(MINIO, None) == "keys"


def test_gcp_location_names_the_google_service_account_for_signed_urls():
    v = values("gcp")
    assert bsl(v)["provider"] == "gcp" and bsl(v)["config"] == {"serviceAccount": GSA}
    assert v["credentials"] == {"useSecret": False}
    assert v["serviceAccount"]["server"]["annotations"] == {"iam.gke.io/gcp-service-account": GSA}
    # Without a key file the plugin refuses to start unless the location names the account.
    nameless = WorkloadIdentity("backups", NS, "velero", annotations=GKE_WI.annotations)
    with pytest.raises(ValueError, match="Google service account"):
        bv.velero_values(GCS, nameless, settings())


def test_azure_location_signs_in_with_entra_id_at_the_blob_endpoint():
    v = values("azure")
    assert bsl(v)["provider"] == "azure" and bsl(v)["bucket"] == "platform"
    assert bsl(v)["config"] == {"storageAccount": "prodplatform", "useAAD": "true",
                                "storageAccountURI": "https://prodplatform.blob.core.windows.net/"}
    assert v["credentials"] == {"useSecret": False}
    assert v["serviceAccount"]["server"]["annotations"] == {"azure.workload.identity/client-id": CLIENT_ID}
    # The webhook injects the token only into pods carrying the label.
    assert v["podLabels"]["azure.workload.identity/use"] == "true"
    assert v["nodeAgent"]["podLabels"]["azure.workload.identity/use"] == "true"
    with pytest.raises(ValueError, match="storage account"):
        bv.velero_values(ObjectStore(kind="azure-blob", bucket="c", region="westeurope"), AZURE_WI, settings())


def test_location_config_values_are_strings_as_the_chart_quotes_them():
    for cloud in CLOUDS:
        assert all(isinstance(x, str) for x in bsl(values(cloud))["config"].values()), cloud


def test_static_keys_never_reach_the_values():
    for cloud in CLOUDS:
        text = json.dumps(values(cloud))
        assert ACCESS_KEY not in text and SECRET_KEY not in text
        assert "secretContents" not in text
    assert bv.aws_credentials_file(ACCESS_KEY, SECRET_KEY) == (
        f"[default]\naws_access_key_id={ACCESS_KEY}\naws_secret_access_key={SECRET_KEY}\n")


def test_no_identity_and_no_keys_is_refused():
    with pytest.raises(ValueError, match="no credentials"):
        bv.credentials_mode(ObjectStore(kind="s3", bucket="b", region="r", endpoint="http://m:9000"), None)
    with pytest.raises(ValueError, match="no credentials"):
        bv.credentials_mode(ObjectStore(kind="gcs", bucket="b", region="r"), None)


# --- pods: security, resources, node agent, metrics ------------------------------------------

@pytest.mark.parametrize("node_agent", [True, False])
def test_every_container_has_requests_and_limits(node_agent):
    for c in containers(values("azure", node_agent=node_agent)):
        assert c["resources"]["requests"] and c["resources"]["limits"], c["name"]
    assert values()["resources"] == SERVER.to_k8s()


def test_server_runs_non_root_read_only_with_kopias_home_on_volumes():
    v = values()
    pod = v["podSecurityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == bv.VELERO_UID == 1002
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = v["containerSecurityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsUser"] == 1002
    mounts = {m["mountPath"]: m["name"] for m in v["extraVolumeMounts"]}
    assert mounts == {"/home/cnb/udmrepo": "udmrepo", "/home/cnb/.cache": "cache"}
    assert {x["name"] for x in v["extraVolumes"]} == set(mounts.values())
    (init,) = v["initContainers"]
    assert init["securityContext"]["runAsUser"] == 65532 and init["securityContext"]["readOnlyRootFilesystem"]


def test_node_agent_runs_for_the_data_mover_without_host_paths():
    v = values(node_agent=True)
    assert v["deployNodeAgent"] is True
    agent = v["nodeAgent"]
    assert agent["disableHostPath"] is True
    assert agent["extraArgs"] == [f"--node-agent-configmap={bv.NODE_AGENT_CONFIG}"]
    sc = agent["containerSecurityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert "privileged" not in sc
    assert v["configuration"]["defaultSnapshotMoveData"] is True
    # Chart's own selector labels are not restated (duplicate keys in its templates).
    for labels in (v["podLabels"], agent["podLabels"]):
        assert not {"app.kubernetes.io/name", "app.kubernetes.io/instance", "name"} & set(labels)
    off = values(node_agent=False)
    assert off["deployNodeAgent"] is False and "nodeAgent" not in off
    assert "defaultSnapshotMoveData" not in off["configuration"]


def test_repository_maintenance_jobs_get_resources_per_backed_up_namespace():
    maintenance = values(node_agent=True)["configuration"]["repositoryMaintenanceJob"]["repositoryConfigData"]
    # Velero keys per-repository settings "<volume namespace>-<location>-<repository type>".
    assert set(maintenance["repositories"]) == {"genai-system-default-kopia", "tenant-acme-default-kopia"}
    for repo in maintenance["repositories"].values():
        assert set(repo["podResources"]) == {"cpuRequest", "cpuLimit", "memoryRequest", "memoryLimit"}
    assert "repositoryMaintenanceJob" not in values(node_agent=False)["configuration"]


def test_monitors_only_with_a_metrics_namespace():
    on = values(node_agent=True)["metrics"]
    assert on["enabled"] is True
    assert on["serviceMonitor"] == {"enabled": True, "autodetect": False}
    assert on["nodeAgentPodMonitor"] == {"enabled": True, "autodetect": False}
    assert values(node_agent=False)["metrics"]["nodeAgentPodMonitor"]["enabled"] is False
    off = values(metrics=False)["metrics"]
    assert off["serviceMonitor"]["enabled"] is False and off["nodeAgentPodMonitor"]["enabled"] is False


# --- schedules --------------------------------------------------------------------------------

PLATFORM = bs.ScheduleSettings("platform", "0 2 * * *", 30, ("genai-system", "genai-models", "genai-data"))
TENANTS = bs.ScheduleSettings("tenants", "0 * * * *", 3, ("tenant-acme", "tenant-globex"))


@pytest.mark.parametrize(("days", "ttl"), [(1, "24h0m0s"), (3, "72h0m0s"), (30, "720h0m0s"), (365, "8760h0m0s")])
def test_retention_is_a_go_duration(days, ttl):
    assert bs.go_duration(days) == ttl


def test_schedule_carries_cron_ttl_namespaces_and_the_data_mover():
    obj = bs.schedule(PLATFORM, NS, "backups", snapshots=True, move_data=True)
    assert validate_manifest(obj, "1.33") == []
    assert (obj["apiVersion"], obj["kind"]) == ("velero.io/v1", "Schedule")
    assert obj["metadata"]["namespace"] == NS and obj["metadata"]["name"] == "platform"
    spec = obj["spec"]
    assert spec["schedule"] == "0 2 * * *" and spec["useOwnerReferencesInBackup"] is False
    t = spec["template"]
    assert t["includedNamespaces"] == ["genai-system", "genai-models", "genai-data"]
    assert t["ttl"] == "720h0m0s" and t["storageLocation"] == "default"
    assert t["snapshotVolumes"] is True and t["snapshotMoveData"] is True
    assert t["defaultVolumesToFsBackup"] is False
    assert t["metadata"]["labels"]["genai-platform.io/backup-schedule"] == "platform"
    tenants = bs.schedule(TENANTS, NS, "backups", snapshots=True, move_data=False)
    assert validate_manifest(tenants, "1.33") == []
    assert tenants["spec"]["template"]["ttl"] == "72h0m0s" and tenants["spec"]["template"]["snapshotMoveData"] is False


def test_without_snapshots_volumes_are_left_alone():
    t = bs.schedule(TENANTS, NS, "backups", snapshots=False, move_data=False)["spec"]["template"]
    assert t["snapshotVolumes"] is False and "snapshotMoveData" not in t


# --- snapshot classes, node agent ConfigMap, exclusion label -----------------------------------

@pytest.mark.parametrize(("kind", "driver"), [
    ("eks", "ebs.csi.aws.com"), ("gke", "pd.csi.storage.gke.io"), ("aks", "disk.csi.azure.com"),
])
def test_one_labelled_snapshot_class_per_cloud_rwo_driver(kind, driver):
    (vsc,) = bs.snapshot_classes(kind)
    assert validate_manifest(vsc, "1.33") == []
    assert vsc["driver"] == driver and vsc["deletionPolicy"] == "Retain"
    assert vsc["metadata"]["labels"]["velero.io/csi-volumesnapshot-class"] == "true"


def test_existing_clusters_bring_their_own_snapshot_classes():
    assert bs.snapshot_classes("existing") == []


def test_exclusion_label_is_velero_s():
    assert bs.EXCLUDE_LABEL == {"velero.io/exclude-from-backup": "true"}


def test_node_agent_config_sizes_and_labels_the_data_mover_pods():
    cm = bs.node_agent_config(NS, "backups", AZURE_WI, Resources("250m", "512Mi", "2", "2Gi"))
    assert validate_manifest(cm, "1.33") == []
    assert cm["metadata"]["name"] == bv.NODE_AGENT_CONFIG
    (text,) = cm["data"].values()          # Velero refuses a ConfigMap with more than one key
    config = json.loads(text)
    # Field names of Velero 1.18's NodeAgentConfigs / kube.PodResources (json tags).
    assert set(config) == {"podResources", "podLabels"}
    assert config["podResources"] == {"cpuRequest": "250m", "memoryRequest": "512Mi",
                                      "cpuLimit": "2", "memoryLimit": "2Gi"}
    assert config["podLabels"]["azure.workload.identity/use"] == "true"
    no_identity = json.loads(next(iter(bs.node_agent_config(NS, "b", None, SERVER)["data"].values())))
    assert "azure.workload.identity/use" not in no_identity["podLabels"]


@pytest.mark.parametrize(("store", "port"), [
    (S3, 443), (MINIO, 9000), (ObjectStore(kind="s3", bucket="b", region="r", endpoint="https://s3.corp"), 443),
    (ObjectStore(kind="s3", bucket="b", region="r", endpoint="http://ceph.corp"), 80), (BLOB, 443),
])
def test_object_store_port(store, port):
    assert bs.store_port(store) == port


# --- network policies -------------------------------------------------------------------------

NAMESPACES = {NS: {}, "monitoring": {}, "tenant-acme": {}, "kube-system": {}}
VELERO = Pod(NS, {"app.kubernetes.io/name": "velero", "name": "velero"}, "velero", ip="10.0.0.5")
DATA_MOVER = Pod(NS, {"velero.io/data-upload": "x"}, "data-mover", ip="10.0.0.6")
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}, "prometheus", ip="10.0.1.5")
TENANT = Pod("tenant-acme", {"app": "chat"}, "chat", ip="10.0.2.5")
DNS = Pod("kube-system", {"k8s-app": "kube-dns"}, "coredns", ip="10.0.3.5")
BUCKET = External("52.218.1.10")


def policies(kind: str = "eks", port: int = 443, identity: bool = True, metrics: str | None = "monitoring") -> list:
    out = [*network_policies.baseline(NS, {}),
           *bs.network_policies(NS, {}, cluster_kind=kind, object_store_port=port, workload_identity=identity,
                                metrics_namespace=metrics)]
    for p in out:
        assert validate_manifest(p, "1.33") == []
    return out


@pytest.mark.parametrize("pod", [VELERO, DATA_MOVER])
def test_every_velero_pod_reaches_dns_the_api_server_and_the_bucket_only(pod):
    p = policies()
    assert allowed(p, NAMESPACES, pod, DNS, 53, "UDP")
    assert allowed(p, NAMESPACES, pod, External("172.20.0.1"), 443)
    assert allowed(p, NAMESPACES, pod, External("10.100.0.1"), 6443)
    assert allowed(p, NAMESPACES, pod, BUCKET, 443)
    assert not allowed(p, NAMESPACES, pod, BUCKET, 80)
    assert not allowed(p, NAMESPACES, pod, TENANT, 5432)
    assert not allowed(p, NAMESPACES, pod, External("10.0.9.9"), 9000)


def test_on_prem_store_is_reached_on_its_endpoints_port():
    p = policies(kind="existing", port=9000, identity=False)
    assert allowed(p, NAMESPACES, VELERO, External("192.168.10.20"), 9000)
    assert not allowed(policies(), NAMESPACES, VELERO, External("192.168.10.20"), 9000)


@pytest.mark.parametrize(("kind", "endpoint"), [("eks", "169.254.170.23"), ("gke", "169.254.169.254")])
def test_identity_endpoint_is_reachable_where_the_cloud_serves_credentials_there(kind, endpoint):
    assert allowed(policies(kind=kind), NAMESPACES, VELERO, External(endpoint), 80)
    assert not allowed(policies(kind=kind), NAMESPACES, VELERO, External(endpoint), 8080)
    assert not allowed(policies(kind="existing", identity=False), NAMESPACES, VELERO, External(endpoint), 80)
    assert not allowed(policies(kind=kind, identity=False), NAMESPACES, VELERO, External(endpoint), 80)
    assert not allowed(policies(kind="aks"), NAMESPACES, VELERO, External(endpoint), 80)


def test_only_prometheus_scrapes_the_metrics_port():
    p = policies()
    assert allowed(p, NAMESPACES, PROMETHEUS, VELERO, 8085)
    assert not allowed(p, NAMESPACES, PROMETHEUS, VELERO, 8086)
    assert not allowed(p, NAMESPACES, TENANT, VELERO, 8085)
    assert not allowed(policies(metrics=None), NAMESPACES, PROMETHEUS, VELERO, 8085)


# --- the component under the recording mocks --------------------------------------------------

EKS_PROGRAM = textwrap.dedent(f'''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, ObjectStore, StorageClasses, WorkloadIdentity
    from components.common.security import Resources
    from components.ops.backup import Backups, BackupArgs, ScheduleSettings

    provider = k8s.Provider("k8s", kubeconfig="stub")
    identity = WorkloadIdentity("backups", "velero", "velero",
                                annotations={{"eks.amazonaws.com/role-arn": "{ROLE_ARN}"}},
                                cloud_principal="{ROLE_ARN}")
    cluster = ClusterInfo(kind="eks", name="prod", provider=provider, kubernetes_version="1.33", gpu_pools=(),
                          storage=StorageClasses(rwo="gp3", rwx="efs"), protect=True,
                          identities={{"backups": identity}},
                          object_store=ObjectStore(kind="s3", bucket="prod-platform", region="eu-west-1"))
    tenant_ns = k8s.core.v1.Namespace("tenant-ns", metadata={{"name": "tenant-acme"}},
                                      opts=pulumi.ResourceOptions(provider=provider))
    backups = Backups("backups", BackupArgs(
        cluster=cluster, namespace="velero", chart_version="12.1.0", prefix="velero",
        schedules=(ScheduleSettings("platform", "0 2 * * *", 30, ("genai-system", "genai-data")),
                   ScheduleSettings("tenants", "0 * * * *", 3, ("tenant-acme",))),
        snapshots=True, snapshot_move_data=True, resources=Resources("100m", "256Mi", "500m", "512Mi"),
        metrics_namespace="monitoring", depends_on=(tenant_ns,)))
    pulumi.export("backups", backups.outputs())
    pulumi.export("where", {{"location": backups.storage_location, "schedules": sorted(backups.schedules)}})
''')

EXISTING_PROGRAM = textwrap.dedent(f'''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, ObjectStore, StorageClasses
    from components.common.security import Resources
    from components.ops.backup import Backups, BackupArgs, ScheduleSettings

    provider = k8s.Provider("k8s", kubeconfig="stub")
    store = ObjectStore(kind="s3", bucket="backups", region="us-east-1", endpoint="http://minio.storage.local:9000",
                        access_key_id=pulumi.Output.secret("{ACCESS_KEY}"),
                        secret_access_key=pulumi.Output.secret("{SECRET_KEY}"))
    cluster = ClusterInfo(kind="existing", name="onprem", provider=provider, kubernetes_version="1.33",
                          gpu_pools=(), storage=StorageClasses(rwo="local-path", rwx="nfs"), object_store=store)
    backups = Backups("onprem-backups", BackupArgs(
        cluster=cluster, namespace="velero", chart_version="12.1.0", prefix="velero",
        schedules=(ScheduleSettings("platform", "0 2 * * *", 7, ("genai-system",)),),
        snapshots=False, snapshot_move_data=False, resources=Resources("100m", "256Mi", "500m", "512Mi")))
    pulumi.export("backups", backups.outputs())
''')


@pytest.fixture(scope="module")
def eks_run(tmp_path_factory):
    return run_component_program(tmp_path_factory.mktemp("backups-eks"), EKS_PROGRAM, "backups-eks").monitor


@pytest.fixture(scope="module")
def existing_run(tmp_path_factory):
    return run_component_program(tmp_path_factory.mktemp("backups-onprem"), EXISTING_PROGRAM,
                                 "backups-onprem").monitor


def descendants(mon, component: str) -> list:
    """Custom resources under the component (through the namespace component as well)."""
    parents = {r.urn: r.parent for r in mon.registrations}

    def under(urn):
        while urn:
            if urn.endswith(f"genai:ops:Backups::{component}"):
                return True
            urn = parents.get(urn)
        return False
    return [r for r in mon.registrations if r.custom and under(r.parent)]


def of_kind(regs, kind: str) -> list:
    return [r for r in regs if r.type.endswith(f":{kind}")]


def test_eks_component_renders_valid_objects_with_the_explicit_provider(eks_run):
    mon = eks_run
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    regs = descendants(mon, "backups")
    assert mon.violations == []
    assert regs and all(r.provider == provider.urn for r in regs)
    for r in regs:
        if "apiVersion" in r.inputs:
            assert validate_manifest(r.inputs, "1.33") == [], r.name
    (ns,) = of_kind(regs, "Namespace")
    # The data-mover pods run as root: baseline, not restricted (and never privileged).
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert of_kind(regs, "Secret") == [], "the workload identity needs no Secret"
    names = {r.inputs["metadata"]["name"] for r in of_kind(regs, "NetworkPolicy")}
    assert {"allow-api-server", "allow-object-store", "allow-workload-identity", "allow-metrics-scrape"} <= names


def test_eks_release_carries_the_values_and_waits_for_its_config(eks_run):
    mon = eks_run
    regs = descendants(mon, "backups")
    (release,) = of_kind(regs, "Release")
    r = release.inputs
    assert (r["name"], r["chart"], r["version"], r["namespace"]) == (VELERO_RELEASE, "velero", "12.1.0", NS)
    assert r["repositoryOpts"] == {"repo": bv.REPOSITORY}
    expected = bv.velero_values(S3, IRSA, bv.VeleroSettings(
        namespace=NS, prefix="velero", resources=SERVER, node_agent=True,
        repository_namespaces=("genai-system", "genai-data", "tenant-acme"), metrics_namespace="monitoring"))
    assert r["values"] == json.loads(json.dumps(expected))
    assert validate_helm_values("velero", r["values"]) == []
    (cm,) = of_kind(regs, "ConfigMap")
    (ns,) = of_kind(regs, "Namespace")
    tenant_ns = next(x.urn for x in mon.registrations if x.name == "tenant-ns")
    assert {cm.urn, ns.urn, tenant_ns} <= set(release.dependencies)


def test_eks_snapshot_class_and_schedules_come_after_the_release(eks_run):
    regs = descendants(eks_run, "backups")
    (release,) = of_kind(regs, "Release")
    (vsc,) = of_kind(regs, "VolumeSnapshotClass")
    assert vsc.inputs["driver"] == "ebs.csi.aws.com"
    assert vsc.inputs["metadata"]["labels"]["velero.io/csi-volumesnapshot-class"] == "true"
    schedules = {r.inputs["metadata"]["name"]: r for r in of_kind(regs, "Schedule")}
    assert set(schedules) == {"platform", "tenants"}
    for s in schedules.values():
        assert {release.urn, vsc.urn} <= set(s.dependencies)
        assert s.inputs["spec"]["template"]["snapshotMoveData"] is True
    assert schedules["tenants"].inputs["spec"]["template"]["includedNamespaces"] == ["tenant-acme"]
    assert schedules["tenants"].inputs["spec"]["template"]["ttl"] == "72h0m0s"


def test_eks_outputs(eks_run):
    out = eks_run.stack_outputs
    assert out["where"] == {"location": "default", "schedules": ["platform", "tenants"]}
    b = out["backups"]
    assert (b["namespace"], b["bucket"], b["prefix"], b["dataMover"]) == (NS, "prod-platform", "velero", True)
    assert b["schedules"]["platform"] == {"cron": "0 2 * * *", "retentionDays": 30,
                                          "namespaces": ["genai-system", "genai-data"]}


def test_existing_cluster_keeps_its_keys_in_the_secret_only(existing_run):
    mon = existing_run
    assert mon.violations == []
    regs = descendants(mon, "onprem-backups")
    (secret,) = of_kind(regs, "Secret")
    (release,) = of_kind(regs, "Release")
    assert secret.inputs["metadata"]["name"] == bv.CREDENTIALS_SECRET
    assert secret.inputs["stringData"] == {"cloud": SECRET}
    assert validate_manifest(secret.inputs, "1.33") == []
    assert secret.urn in release.dependencies
    values = release.inputs["values"]
    assert values["credentials"] == {"useSecret": True, "existingSecret": bv.CREDENTIALS_SECRET}
    assert validate_helm_values("velero", values) == []
    recorded = json.dumps([r.inputs for r in mon.registrations])
    assert ACCESS_KEY not in recorded and SECRET_KEY not in recorded


def test_existing_cluster_without_snapshots_stays_restricted(existing_run):
    regs = descendants(existing_run, "onprem-backups")
    (ns,) = of_kind(regs, "Namespace")
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert of_kind(regs, "VolumeSnapshotClass") == [] and of_kind(regs, "ConfigMap") == []
    (release,) = of_kind(regs, "Release")
    assert release.inputs["values"]["deployNodeAgent"] is False
    (schedule,) = of_kind(regs, "Schedule")
    assert schedule.inputs["spec"]["template"]["snapshotVolumes"] is False
    policies = {r.inputs["metadata"]["name"]: r.inputs for r in of_kind(regs, "NetworkPolicy")}
    assert "allow-workload-identity" not in policies and "allow-metrics-scrape" not in policies
    assert policies["allow-object-store"]["spec"]["egress"] == [{"ports": [{"protocol": "TCP", "port": 9000}]}]


@pytest.mark.parametrize(("fixture", "component"), [("eks_run", "backups"), ("existing_run", "onprem-backups")])
def test_the_policy_pack_finds_nothing(request, fixture, component):
    mon = request.getfixturevalue(fixture)
    assert [str(v) for v in check_plan(descendants(mon, component))] == []
