"""Cassandra on K8ssandra: operator values, racks, the K8ssandraCluster, Medusa per store, the
backup schedule and the NetworkPolicies, from the pure builders; every object schema-checked."""

from __future__ import annotations

import jsonschema
import pytest

from components.cluster.info import ClusterInfo, ObjectStore, StorageClasses
from components.common.security import Resources
from components.data import cassandra_specs as cs
from components.data.common import BackupTarget, DataContext
from infra import data_cassandra
from infra.plan.validate import has_chart_reference, validate_helm_values, validate_manifest
from infra.schema import PlatformConfig

NS = "genai-data"
LABELS = {"app.kubernetes.io/name": "cassandra"}
RES = Resources(cpu_request="1", memory_request="4Gi", cpu_limit="2", memory_limit="8Gi")
RESTRICTED_KEYS = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                   "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def settings(**kw) -> cs.CassandraSettings:
    base = dict(cluster_name="cassandra", datacenter="dc1", size=3,
                racks=(cs.Rack("rack1", "z-a"), cs.Rack("rack2", "z-b"), cs.Rack("rack3", "z-c")),
                storage_gib=50, storage_class="gp3", resources=RES, heap="2Gi", superuser_secret="cassandra-superuser",
                service_account="cassandra")
    return cs.CassandraSettings(**{**base, **kw})


def ctx(kind="eks", service_monitors=True, metrics_ns="monitoring", allow_from=("apps",)) -> DataContext:
    cluster = ClusterInfo(kind=kind, name="c", provider=None, kubernetes_version="1.33", gpu_pools=(),  # type: ignore[arg-type]
                          storage=StorageClasses("gp3", None))
    return DataContext(cluster=cluster, namespace=NS, allow_from=allow_from, metrics_namespace=metrics_ns,
                       service_monitors=service_monitors)


S3 = BackupTarget(store=ObjectStore(kind="s3", bucket="bkt", region="us-east-1"), prefix="cassandra")
GCS = BackupTarget(store=ObjectStore(kind="gcs", bucket="bkt", region="us-central1"), prefix="cassandra")
AZURE = BackupTarget(store=ObjectStore(kind="azure-blob", bucket="bkt", region="eastus", account="acct"), prefix="cassandra")
MINIO = BackupTarget(store=ObjectStore(kind="s3", bucket="bkt", region="us-east-1", endpoint="https://minio.internal:9000",
                                       access_key_id="AKIA", secret_access_key="secret"), prefix="cassandra")


def dc_of(manifest: dict) -> dict:
    (dc,) = manifest["spec"]["cassandra"]["datacenters"]
    return dc


# --- operator -------------------------------------------------------------------------------

def test_operator_values_exist_upstream_and_watch_every_namespace():
    values = cs.operator_values()
    assert has_chart_reference(cs.OPERATOR_CHART)
    assert validate_helm_values(cs.OPERATOR_CHART, values) == []
    assert values["global"]["clusterScoped"] is True, "the cluster lives in the data namespace, not the operator's"
    assert values["image"]["tag"] == "v1.32.5" and cs.OPERATOR_VERSION == "1.32.5"
    assert cs.OPERATOR_REPOSITORY == "https://helm.k8ssandra.io/stable"


@pytest.mark.parametrize("part", ["k8ssandra", "cass-operator"])
def test_both_operators_are_restricted_and_bounded(part):
    values = cs.operator_values()
    v = values if part == "k8ssandra" else values["cass-operator"]
    for key, want in RESTRICTED_KEYS.items():
        assert v["securityContext"][key] == want
    assert v["podSecurityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert set(v["resources"]) == {"requests", "limits"}
    assert set(v["resources"]["limits"]) == {"cpu", "memory"}


# --- racks ----------------------------------------------------------------------------------

def test_default_racks_follow_zones_up_to_three():
    racks = cs.plan_racks([], ("a", "b", "c", "d"))
    assert racks == (cs.Rack("rack1", "a"), cs.Rack("rack2", "b"), cs.Rack("rack3", "c"))
    assert cs.plan_racks([], ("a", "b")) == (cs.Rack("rack1", "a"), cs.Rack("rack2", "b"))
    assert cs.plan_racks([], ("a",)) == (cs.Rack("rack1"),), "one zone: nothing to pin"
    assert cs.plan_racks([], ()) == (cs.Rack("rack1"),)
    assert cs.default_rack_count(("a", "b", "c", "d")) == 3 and cs.default_rack_count(()) == 1


def test_listed_racks_keep_their_zone_or_take_the_zone_of_their_position():
    racks = cs.plan_racks([("r1", None), ("r2", "2"), ("r3", None)], ("eastus-1", "eastus-2", "eastus-3"),
                          {"2": "eastus-2"})
    assert racks == (cs.Rack("r1", "eastus-1"), cs.Rack("r2", "eastus-2"), cs.Rack("r3", "eastus-3"))
    assert cs.plan_racks([("r1", None)], ()) == (cs.Rack("r1"),)


# --- K8ssandraCluster -----------------------------------------------------------------------

def test_cluster_datacenter_sizing_storage_heap_and_auth():
    m = cs.k8ssandra_cluster(settings(), NS, LABELS)
    assert validate_manifest(m, "1.33") == []
    assert m["metadata"] == {"name": "cassandra", "namespace": NS, "labels": LABELS}
    spec = m["spec"]
    assert spec["auth"] is True
    assert spec["cassandra"]["serverVersion"] == cs.SERVER_VERSION == "5.0.6"
    assert spec["cassandra"]["superuserSecretRef"] == {"name": "cassandra-superuser"}
    assert "medusa" not in spec
    dc = dc_of(m)
    assert dc["metadata"]["name"] == "dc1" and dc["size"] == 3
    assert dc["racks"] == [{"name": f"rack{i}", "nodeAffinityLabels": {"topology.kubernetes.io/zone": z}}
                           for i, z in ((1, "z-a"), (2, "z-b"), (3, "z-c"))]
    pvc = dc["storageConfig"]["cassandraDataVolumeClaimSpec"]
    assert pvc == {"storageClassName": "gp3", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}}
    assert dc["resources"] == {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}}
    assert dc["config"]["jvmOptions"] == {"heap_initial_size": "2Gi", "heap_max_size": "2Gi"}
    assert dc["softPodAntiAffinity"] is False, "one Cassandra pod per node"
    assert dc["serviceAccount"] == "cassandra"


def test_unpinned_rack_has_no_node_affinity():
    dc = dc_of(cs.k8ssandra_cluster(settings(size=1, racks=(cs.Rack("rack1"),)), NS, LABELS))
    assert dc["racks"] == [{"name": "rack1"}]


def test_every_container_the_operators_inject_is_restricted():
    dc = dc_of(cs.k8ssandra_cluster(settings(), NS, LABELS))
    pod = dc["podSecurityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == pod["fsGroup"] == 999
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert dc["readOnlyRootFilesystem"] is True
    names = {c["name"]: c for c in dc["containers"] + dc["initContainers"]}
    assert set(names) == {"cassandra", "server-system-logger", "server-config-init-base", "server-config-init"}
    for c in names.values():
        for key, want in RESTRICTED_KEYS.items():
            assert c["securityContext"][key] == want, (c["name"], key)
    # cass-operator gives the cassandra container the datacenter's resources; the others are ours.
    for name in ("server-system-logger", "server-config-init-base", "server-config-init"):
        assert set(names[name]["resources"]) == {"requests", "limits"}, name
    assert [c["name"] for c in dc["initContainers"]] == ["server-config-init-base", "server-config-init"]


def test_telemetry_only_with_service_monitors_and_with_their_labels():
    off = dc_of(cs.k8ssandra_cluster(settings(), NS, LABELS))
    assert "telemetry" not in off
    on = cs.k8ssandra_cluster(settings(service_monitors=True, service_monitor_labels={"release": "kps"}), NS, LABELS)
    assert validate_manifest(on, "1.33") == []
    assert dc_of(on)["telemetry"] == {"prometheus": {"enabled": True, "commonLabels": {"release": "kps"}}}


def test_identity_pod_labels_reach_the_pods():
    m = cs.k8ssandra_cluster(settings(pod_labels={"azure.workload.identity/use": "true"}), NS, LABELS)
    assert validate_manifest(m, "1.33") == []
    assert dc_of(m)["metadata"]["pods"] == {"labels": {"azure.workload.identity/use": "true"}}
    assert "pods" not in dc_of(cs.k8ssandra_cluster(settings(), NS, LABELS))["metadata"]


# --- Medusa -----------------------------------------------------------------------------------

def with_medusa(storage: dict) -> dict:
    m = cs.k8ssandra_cluster(settings(), NS, LABELS, cs.medusa(storage))
    assert validate_manifest(m, "1.33") == []
    return m["spec"]["medusa"]


def test_s3_uses_the_pod_identity_without_a_secret():
    med = with_medusa(cs.medusa_storage(S3, 7))
    assert med["storageProperties"] == {"storageProvider": "s3", "bucketName": "bkt", "prefix": "cassandra",
                                        "region": "us-east-1", "credentialsType": "role-based", "maxBackupAge": 7}
    assert med["purgeBackups"] is True


def test_gcs_uses_workload_identity():
    props = with_medusa(cs.medusa_storage(GCS, 30))["storageProperties"]
    assert props["storageProvider"] == "google_storage" and props["credentialsType"] == "role-based"
    assert props["bucketName"] == "bkt" and props["maxBackupAge"] == 30
    assert "storageSecretRef" not in props


def test_s3_compatible_store_uses_static_keys_and_its_endpoint():
    endpoint = cs.s3_endpoint("https://minio.internal:9000")
    assert endpoint == ("minio.internal", 9000, True)
    props = with_medusa(cs.medusa_storage(MINIO, 14, "cassandra-medusa-bucket", endpoint))["storageProperties"]
    assert props["storageProvider"] == "s3_compatible"
    assert (props["host"], props["port"], props["secure"], props["sslVerify"]) == ("minio.internal", 9000, True, True)
    assert props["storageSecretRef"] == {"name": "cassandra-medusa-bucket"}
    assert props["credentialsType"] == "credential-based"
    with pytest.raises(ValueError):
        cs.medusa_storage(MINIO, 14)


def test_plain_http_endpoint_and_credentials_file():
    assert cs.s3_endpoint("http://10.0.0.5") == ("10.0.0.5", 80, False)
    assert cs.credentials_file("AKIA", "s3cr3t") == "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s3cr3t\n"


def test_azure_blob_is_refused():
    with pytest.raises(ValueError, match="azure-blob"):
        cs.medusa_storage(AZURE, 7)


def test_medusa_containers_are_restricted_and_bounded():
    med = with_medusa(cs.medusa_storage(S3, 7))
    for key, want in RESTRICTED_KEYS.items():
        assert med["securityContext"][key] == want
    for res in (med["containerResources"], med["initContainerResources"]):
        assert set(res) == {"requests", "limits"} and set(res["limits"]) == {"cpu", "memory"}


# MedusaBackupSchedule has no schema in the reference data: this one follows the Go types of
# k8ssandra-operator 1.32.5 (apis/medusa/v1alpha1 MedusaBackupScheduleSpec, MedusaBackupJobSpec).
SCHEDULE_SPEC = {
    "type": "object", "additionalProperties": False, "required": ["cronSchedule", "backupSpec"],
    "properties": {
        "cronSchedule": {"type": "string", "minLength": 1},
        "disabled": {"type": "boolean"},
        "concurrencyPolicy": {"enum": ["Allow", "Forbid", "Replace"]},
        "operationType": {"enum": ["backup", "purge"]},
        "backupSpec": {"type": "object", "additionalProperties": False, "required": ["cassandraDatacenter"],
                       "properties": {"cassandraDatacenter": {"type": "string", "minLength": 1},
                                      "backupType": {"enum": ["differential", "full"]}}},
    },
}


def test_backup_schedule_runs_the_stack_cron_on_the_datacenter():
    s = cs.backup_schedule("cassandra-dc1-backup", NS, LABELS, "dc1", "30 2 * * *")
    assert (s["apiVersion"], s["kind"]) == ("medusa.k8ssandra.io/v1alpha1", "MedusaBackupSchedule")
    assert s["metadata"] == {"name": "cassandra-dc1-backup", "namespace": NS, "labels": LABELS}
    jsonschema.validate(s["spec"], SCHEDULE_SPEC)
    assert s["spec"]["cronSchedule"] == "30 2 * * *"
    assert s["spec"]["backupSpec"] == {"cassandraDatacenter": "dc1", "backupType": "differential"}
    assert s["spec"]["operationType"] == "backup"


# --- accounts and network ------------------------------------------------------------------------

def test_service_account_mounts_no_token():
    sa = cs.service_account("cassandra", NS, LABELS)
    assert validate_manifest(sa, "1.33") == []
    assert sa["automountServiceAccountToken"] is False and sa["metadata"]["name"] == "cassandra"


def rules_by_ports(policy: dict) -> dict[tuple[int, ...], list]:
    return {tuple(p["port"] for p in r.get("ports", [])): r["from"] for r in policy["spec"]["ingress"]}


def test_ingress_clients_operators_and_prometheus():
    p = cs.cassandra_ingress("cassandra", ctx(), LABELS, "cassandra", allow_from=("rag",),
                             operator_namespace="k8ssandra-operator", backups=True)
    assert validate_manifest(p, "1.33") == []
    assert p["spec"]["podSelector"] == {"matchLabels": {"cassandra.datastax.com/cluster": "cassandra"}}
    rules = rules_by_ports(p)
    assert rules[()] == [{"podSelector": {"matchLabels": {"cassandra.datastax.com/cluster": "cassandra"}}}], \
        "gossip and streaming only among the cluster's pods"
    peers = rules[(9042,)]
    assert {"podSelector": {}} in peers
    named = {f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for f in peers if "namespaceSelector" in f}
    assert named == {"apps", "rag"}
    op = rules[(8080, 9042, 50051)]
    assert op == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "k8ssandra-operator"}}}]
    assert rules[(9000,)] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_ingress_without_backups_or_monitoring():
    p = cs.cassandra_ingress("cassandra", ctx(service_monitors=False, metrics_ns=None), LABELS, "cassandra",
                             allow_from=(), operator_namespace="k8ssandra-operator", backups=False)
    rules = rules_by_ports(p)
    assert (8080, 9042) in rules and not any(9000 in k or 50051 in k for k in rules)


@pytest.mark.parametrize(("kind", "cidr"), [("eks", "169.254.170.23/32"), ("gke", "169.254.169.254/32"),
                                            ("aks", None), ("existing", None)])
def test_identity_endpoint_egress_per_cloud(kind, cidr):
    p = cs.identity_egress("cassandra", NS, LABELS, "cassandra", kind)
    if cidr is None:
        assert p is None
        return
    assert validate_manifest(p, "1.33") == []
    (rule,) = p["spec"]["egress"]
    assert rule == {"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": 80}]}
    assert p["spec"]["podSelector"]["matchLabels"] == {"cassandra.datastax.com/cluster": "cassandra"}


# --- config rules (called directly on a parsed config) --------------------------------------------

def config(cassandra: dict, cluster: dict | None = None, **databases) -> PlatformConfig:
    cluster = cluster or {"target": "eks", "kubernetesVersion": "1.33", "eks": {"region": "us-east-1", "azCount": 3}}
    return PlatformConfig.model_validate({"cluster": cluster, "databases": {**databases, "cassandra": cassandra}})


def problems(cassandra: dict, cluster: dict | None = None, **databases) -> dict[str, str]:
    cfg = config(cassandra, cluster, **databases)
    return dict(data_cassandra.problems(cfg.databases.cassandra, cfg))


OK = {"resources": {"memory": "4Gi"}}


def test_a_sound_config_has_no_problems():
    assert problems(OK) == {}
    assert problems({**OK, "size": 6, "racks": [{"name": "a", "zone": "us-east-1a"}, {"name": "b"}]}) == {}


def test_more_racks_than_zones():
    out = problems({**OK, "size": 4, "racks": [{"name": n} for n in "abcd"]})
    assert "lists 4 racks but the cluster has 3 zones" in out["databases.cassandra.racks"]


def test_rack_zone_outside_the_cluster():
    out = problems({**OK, "racks": [{"name": "a", "zone": "us-west-2a"}], "size": 3})
    assert "'us-west-2a' is not one of the cluster's zones" in out["databases.cassandra.racks[0].zone"]


def test_aks_rack_zone_in_either_spelling():
    aks = {"target": "aks", "kubernetesVersion": "1.33", "aks": {"location": "eastus", "zones": ["1", "2", "3"]}}
    racks = [{"name": "a", "zone": "1"}, {"name": "b", "zone": "eastus-2"}]
    assert problems({**OK, "size": 2, "racks": racks}, aks) == {}
    out = problems({**OK, "size": 2, "racks": [{"name": "a", "zone": "4"}, {"name": "b"}]}, aks)
    assert "(eastus-1, eastus-2, eastus-3)" in out["databases.cassandra.racks[0].zone"]
    backups = problems({**OK, "backup": {"enabled": True}}, aks)
    assert "Azure Blob" in backups["databases.cassandra.backup.enabled"]


def test_two_racks_in_one_zone():
    out = problems({**OK, "size": 2, "racks": [{"name": "a", "zone": "us-east-1b"}, {"name": "b"}]})
    assert "more than one rack in zone us-east-1b" in out["databases.cassandra.racks"]


def test_size_against_racks():
    fewer = problems({**OK, "size": 2})
    assert "fewer than the 3 racks" in fewer["databases.cassandra.size"]
    uneven = problems({**OK, "size": 4})
    assert "does not split evenly over the 3 racks" in uneven["databases.cassandra.size"]
    assert "use 3 or 6" in uneven["databases.cassandra.size"]


def test_duplicate_rack_names_and_bad_datacenter_name():
    out = problems({**OK, "datacenter": "1dc", "size": 2, "racks": [{"name": "a"}, {"name": "a"}]})
    assert "names a more than once" in out["databases.cassandra.racks"]
    assert "must start with a letter" in out["databases.cassandra.datacenter"]


def test_heap_against_memory_limit():
    out = problems({"heap": "3Gi", "resources": {"memory": "4Gi", "memoryLimit": "5Gi"}})
    assert "more than half the memory limit 5Gi" in out["databases.cassandra.heap"]
    assert "at least 6Gi" in out["databases.cassandra.heap"]
    assert "databases.cassandra.heap" not in problems({"heap": "2Gi", "resources": {"memory": "4Gi"}})
    tiny = problems({"heap": "512m", "resources": {"memory": "4Gi"}})
    assert "below 256Mi" in tiny["databases.cassandra.heap"]


def test_zone_spread_needs_known_zones_or_racks():
    regional = {"target": "existing", "kubernetesVersion": "1.33", "existing": {}}
    out = problems({**OK, "size": 3}, regional, zoneSpread=True)
    assert "databases.zoneSpread" in out["databases.cassandra.racks"]
    assert problems({**OK, "size": 3}, regional) == {}


def test_statefulset_name_length():
    out = problems({**OK, "size": 1, "datacenter": "d" * 40, "racks": [{"name": "r" * 20}]})
    assert "longer than 60 characters" in out["databases.cassandra.racks"]


def test_backup_identity_names_the_cassandra_pods_account():
    cfg = config({**OK, "backup": {"enabled": True}})
    req = data_cassandra.backup_identity(cfg.databases.cassandra, NS)
    assert req is not None
    assert (req.name, req.namespace, req.service_account, req.access) == ("cassandra-backups", NS, "cassandra", "read-write")
    assert data_cassandra.backup_identity(config(OK).databases.cassandra, NS) is None
    assert data_cassandra.pod_security(cfg.databases.cassandra) == "restricted"
