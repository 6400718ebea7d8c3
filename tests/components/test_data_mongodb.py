"""MongoDB builders: the psmdb-operator values, the PerconaServerMongoDB (replica set, storage,
resources, spread, PDB, users, TLS, backups per store, retention, exporter), Secrets, service
account, PodMonitor and policies, each rendered object validated against the pinned schemas."""

from __future__ import annotations

import pytest

from components.cluster.info import ClusterInfo, ObjectStore, StorageClasses, WorkloadIdentity
from components.common.security import Resources
from components.data import mongodb_specs as ms
from components.data.common import Backup, BackupTarget, DataContext
from infra.plan.validate import has_chart_reference, validate_manifest

S3 = ObjectStore(kind="s3", bucket="genai-dev-data", region="eu-west-1")
ONPREM = ObjectStore(kind="s3", bucket="genai-backups", region="us-east-1", endpoint="https://minio.storage.internal:9000",
                     access_key_id="AKIAEXAMPLE", secret_access_key="example-secret")
GCS = ObjectStore(kind="gcs", bucket="genai-staging-data", region="us-central1")
BLOB = ObjectStore(kind="azure-blob", bucket="platform", region="eastus", account="genaiprod")
IRSA = WorkloadIdentity(name="mongodb-backups", namespace="genai-data", service_account=ms.SERVICE_ACCOUNT,
                        annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mongo"})
# Keys of the psmdb-operator chart 1.21.3 (values.yaml, plus watchNamespace read by its templates).
CHART_KEYS = {"replicaCount", "image", "disableTelemetry", "watchNamespace", "createNamespace", "watchAllNamespaces",
              "rbac", "serviceAccount", "annotations", "labels", "podAnnotations", "podLabels", "podSecurityContext",
              "securityContext", "operatorName", "imagePullSecrets", "nameOverride", "fullnameOverride", "env",
              "resources", "nodeSelector", "tolerations", "affinity", "logStructured", "logLevel",
              "maxConcurrentReconciles"}


def settings(**kw) -> ms.MongoSettings:
    base = dict(name="mongodb", namespace="genai-data", members=3, storage_gib=50, storage_class="gp3",
                resources=Resources("1", "2Gi", "2", "4Gi"), databases=("app", "rag"))
    return ms.MongoSettings(**{**base, **kw})


def ctx(**kw) -> DataContext:
    cluster = ClusterInfo(kind="existing", name="c", provider=None, kubernetes_version="1.33", gpu_pools=(),  # type: ignore[arg-type]
                          storage=StorageClasses(rwo="standard", rwx=None))
    return DataContext(**{"cluster": cluster, "namespace": "genai-data", "allow_from": ("tenant-a",),
                          "metrics_namespace": "monitoring", **kw})


def backup(store=S3, identity=None, schedule="30 2 * * *", days=14) -> Backup:
    return Backup(target=BackupTarget(store=store, prefix="mongodb", identity=identity), schedule=schedule,
                  retention_days=days)


def rs(spec: dict) -> dict:
    (only,) = spec["replsets"]
    return only


def assert_valid(obj: dict) -> None:
    assert validate_manifest(obj, "1.33") == []


# --- the replica set -----------------------------------------------------------------------

def test_replica_set_size_storage_resources_and_pinned_versions():
    obj = ms.cluster(settings(members=5))
    assert_valid(obj)
    assert (obj["apiVersion"], obj["kind"]) == ("psmdb.percona.com/v1", "PerconaServerMongoDB")
    spec = obj["spec"]
    assert spec["crVersion"] == ms.OPERATOR_VERSION == "1.21.2"
    assert spec["image"] == "percona/percona-server-mongodb:8.0.17-6"
    r = rs(spec)
    assert (r["name"], r["size"]) == ("rs0", 5)
    assert r["volumeSpec"] == {"persistentVolumeClaim": {"storageClassName": "gp3", "accessModes": ["ReadWriteOnce"],
                                                         "resources": {"requests": {"storage": "50Gi"}}}}
    assert r["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert spec["sharding"] == {"enabled": False}
    assert spec["tls"] == {"mode": "preferTLS"}
    assert spec["upgradeOptions"] == {"apply": "disabled"}
    assert "unsafeFlags" not in spec and "backup" not in spec


def test_one_member_is_allowed_explicitly_and_nothing_else_is_unsafe():
    spec = ms.cluster_spec(settings(members=1))
    assert spec["unsafeFlags"] == {"replsetSize": True}
    assert rs(spec)["size"] == 1


def test_members_never_share_a_node_and_spread_over_zones_when_asked():
    plain = rs(ms.cluster_spec(settings()))
    assert plain["affinity"] == {"antiAffinityTopologyKey": "kubernetes.io/hostname"}
    assert "topologySpreadConstraints" not in plain
    zoned = rs(ms.cluster_spec(settings(zone_spread=True)))
    assert zoned["affinity"] == {"antiAffinityTopologyKey": "kubernetes.io/hostname"}
    (tsc,) = zoned["topologySpreadConstraints"]
    assert (tsc["topologyKey"], tsc["maxSkew"], tsc["whenUnsatisfiable"]) == ("topology.kubernetes.io/zone", 1,
                                                                              "DoNotSchedule")
    assert tsc["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "percona-server-mongodb",
                                                   "app.kubernetes.io/instance": "mongodb",
                                                   "app.kubernetes.io/replset": "rs0"}
    assert_valid(ms.cluster(settings(zone_spread=True)))


def test_native_pdb_and_operator_probes():
    r = rs(ms.cluster_spec(settings()))
    assert r["podDisruptionBudget"] == {"maxUnavailable": 1}
    # The operator sets mongod's liveness/readiness probes itself; nothing overrides them.
    assert "livenessProbe" not in r and "readinessProbe" not in r


def test_every_container_is_hardened():
    spec = ms.cluster_spec(settings(metrics=True), backup(S3))
    r = rs(spec)
    contexts = [r["containerSecurityContext"], spec["initContainerSecurityContext"],
                spec["backup"]["containerSecurityContext"], r["sidecars"][0]["securityContext"]]
    for c in contexts:
        assert c["runAsNonRoot"] is True and c["allowPrivilegeEscalation"] is False
        assert c["capabilities"] == {"drop": ["ALL"]} and c["seccompProfile"] == {"type": "RuntimeDefault"}
    assert r["containerSecurityContext"]["runAsUser"] == 1001
    assert spec["initContainerSecurityContext"]["readOnlyRootFilesystem"] is True
    assert r["sidecars"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert r["podSecurityContext"] == {"runAsNonRoot": True, "fsGroup": 1001, "seccompProfile": {"type": "RuntimeDefault"}}
    assert r["serviceAccountName"] == ms.SERVICE_ACCOUNT


# --- users and secrets ------------------------------------------------------------------------

def test_one_read_write_user_per_database_from_generated_secrets():
    s = settings()
    spec = ms.cluster_spec(s)
    assert spec["secrets"] == {"users": "mongodb-system-users"}
    assert spec["users"] == [
        {"name": "app", "db": "app", "passwordSecretRef": {"name": "mongodb-app-user", "key": "password"},
         "roles": [{"name": "readWrite", "db": "app"}]},
        {"name": "rag", "db": "rag", "passwordSecretRef": {"name": "mongodb-rag-user", "key": "password"},
         "roles": [{"name": "readWrite", "db": "rag"}]},
    ]


def test_existing_secret_holds_the_application_passwords():
    s = settings(existing_secret="mongo-creds")
    users = ms.cluster_spec(s)["users"]
    assert [u["passwordSecretRef"] for u in users] == [{"name": "mongo-creds", "key": "app-password"},
                                                       {"name": "mongo-creds", "key": "rag-password"}]
    # The operator makes the system users Secret itself when it finds none.
    assert ms.cluster_spec(s)["secrets"] == {"users": "mongodb-system-users"}


def test_system_users_secret_has_every_key_the_operator_reads():
    passwords = {role: f"pw-{role}" for role in ms.SYSTEM_USERS}
    data = ms.users_secret_data(passwords)
    for role in ("DATABASE_ADMIN", "CLUSTER_ADMIN", "USER_ADMIN", "CLUSTER_MONITOR", "BACKUP"):
        assert data[f"MONGODB_{role}_PASSWORD"] == f"pw-MONGODB_{role}"
    assert data["MONGODB_BACKUP_USER"] == "backup" and data["MONGODB_CLUSTER_MONITOR_USER"] == "clusterMonitor"
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "stringData": data,
              "metadata": ms.secret_metadata(settings(), "mongodb-system-users", "database")}
    assert_valid(secret)


def test_application_secret_and_connection_string():
    parts = ms.connection_uri("app", "pw", "mongodb-rs0.genai-data.svc.cluster.local")
    assert "".join(parts) == ("mongodb://app:pw@mongodb-rs0.genai-data.svc.cluster.local:27017/app"
                              "?replicaSet=rs0&authSource=app")
    assert ms.app_user_secret_data("app", "pw", "uri") == {"username": "app", "password": "pw", "uri": "uri"}


def test_service_account_carries_the_identity_and_no_token():
    sa = ms.service_account(settings(), IRSA.annotations)
    assert_valid(sa)
    assert sa["metadata"]["name"] == "mongodb-replset"
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mongo"}
    assert sa["automountServiceAccountToken"] is False
    assert "annotations" not in ms.service_account(settings())["metadata"]


def test_identity_pod_labels_reach_the_pods():
    r = rs(ms.cluster_spec(settings(pod_labels={"azure.workload.identity/use": "true"})))
    assert r["labels"] == {"azure.workload.identity/use": "true"}
    assert "labels" not in rs(ms.cluster_spec(settings()))


# --- backups --------------------------------------------------------------------------------

def test_s3_backups_use_the_workload_identity_and_no_keys():
    spec = ms.cluster_spec(settings(), backup(S3, IRSA), keep=14)
    assert_valid(ms.cluster(settings(), backup(S3, IRSA), keep=14))
    b = spec["backup"]
    assert (b["enabled"], b["image"]) == (True, "percona/percona-backup-mongodb:2.11.0")
    assert b["storages"] == {"object-store": {"type": "s3", "s3": {"bucket": "genai-dev-data", "region": "eu-west-1",
                                                                   "prefix": "mongodb"}}}
    assert b["resources"]["limits"] and b["resources"]["requests"]
    (task,) = b["tasks"]
    assert task["schedule"] == "30 2 * * *" and task["storageName"] == "object-store" and task["enabled"] is True
    assert task["retention"] == {"type": "count", "count": 14, "deleteFromStorage": True}
    assert b["pitr"] == {"enabled": False}


def test_s3_compatible_store_gets_its_endpoint_and_a_keys_secret():
    b = ms.cluster_spec(settings(), backup(ONPREM))["backup"]
    assert_valid(ms.cluster(settings(), backup(ONPREM)))
    s3 = b["storages"]["object-store"]["s3"]
    assert s3["endpointUrl"] == "https://minio.storage.internal:9000"
    assert s3["credentialsSecret"] == "mongodb-backup-s3"
    assert ms.backup_keys_secret_data(backup(ONPREM)) == {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
                                                          "AWS_SECRET_ACCESS_KEY": "example-secret"}
    assert ms.store_port(backup(ONPREM)) == 9000
    assert ms.store_port(backup(S3)) is None and ms.store_port(None) is None


@pytest.mark.parametrize("store", [GCS, BLOB])
def test_gcs_and_azure_blob_are_refused_by_the_builder_too(store):
    with pytest.raises(ValueError, match="workload identity"):
        ms.cluster_spec(settings(), backup(store))


# --- exporter, PodMonitor, policies ----------------------------------------------------------------

def test_exporter_sidecar_only_with_metrics():
    assert "sidecars" not in rs(ms.cluster_spec(settings()))
    (side,) = rs(ms.cluster_spec(settings(metrics=True)))["sidecars"]
    assert side["image"] == "percona/mongodb_exporter:0.52.0"
    assert side["ports"] == [{"name": "metrics", "containerPort": 9216, "protocol": "TCP"}]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in side["env"]}
    assert env == {"MONGODB_USER": {"name": "mongodb-system-users", "key": "MONGODB_CLUSTER_MONITOR_USER"},
                   "MONGODB_PASSWORD": {"name": "mongodb-system-users", "key": "MONGODB_CLUSTER_MONITOR_PASSWORD"}}
    assert not any("@" in a for a in side["args"]), "no credentials in arguments"
    assert side["resources"]["limits"] and side["resources"]["requests"]
    assert side["readinessProbe"] and side["livenessProbe"]
    assert_valid(ms.cluster(settings(metrics=True)))


def test_pod_monitor_selects_the_members_with_the_extra_labels():
    pm = ms.pod_monitor(settings(metrics=True, service_monitor_labels={"release": "kps"}))
    assert_valid(pm)
    assert pm["kind"] == "PodMonitor" and pm["metadata"]["labels"]["release"] == "kps"
    assert pm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "mongod"
    assert pm["spec"]["namespaceSelector"] == {"matchNames": ["genai-data"]}
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


def _rules(policy: dict) -> list[tuple[list[str], list[int]]]:
    out = []
    for rule in policy["spec"]["ingress"]:
        peers = [p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name", "<pods>")
                 for p in rule["from"]]
        out.append((peers, [p["port"] for p in rule.get("ports", [])]))
    return out


def test_network_policy_ports_and_peers():
    policy = ms.network_policy(settings(metrics=True), ctx(), ["rag-ingest"], "psmdb-operator")
    assert_valid(policy)
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "percona-server-mongodb",
                                                           "app.kubernetes.io/instance": "mongodb"}
    assert _rules(policy) == [
        (["<pods>"], []),
        (["<pods>", "rag-ingest", "tenant-a"], [27017]),
        (["psmdb-operator"], [27017]),
        (["monitoring"], [9216]),
    ]
    quiet = ms.network_policy(settings(metrics=False), ctx(), [], "psmdb-operator")
    assert all(9216 not in ports for _, ports in _rules(quiet))


def test_operator_namespace_policies():
    policies = ms.operator_network_policies("psmdb-operator", "genai-data", None)
    for p in policies:
        assert_valid(p)
    names = [p["metadata"]["name"] for p in policies]
    assert names == ["allow-egress-api-server", "allow-egress-instances"]
    instances = policies[1]["spec"]["egress"][0]
    assert instances["ports"] == [{"protocol": "TCP", "port": 27017}]
    with_store = ms.operator_network_policies("psmdb-operator", "genai-data", 9000)
    assert with_store[-1]["spec"]["egress"] == [{"ports": [{"protocol": "TCP", "port": 9000}]}]
    assert_valid(with_store[-1])


# --- operator chart -----------------------------------------------------------------------------

def test_operator_values_watch_the_data_namespace_and_are_hardened():
    assert not has_chart_reference(ms.CHART), "no reference values: keys are checked against CHART_KEYS"
    values = ms.operator_values("genai-data")
    assert set(values) <= CHART_KEYS
    assert values["watchNamespace"] == "genai-data" and "watchAllNamespaces" not in values
    assert values["image"] == {"repository": "percona/percona-server-mongodb-operator", "tag": ms.OPERATOR_VERSION}
    assert values["disableTelemetry"] is True
    assert values["resources"]["limits"] and values["resources"]["requests"]
    assert values["securityContext"]["readOnlyRootFilesystem"] is True
    assert values["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "serviceAccount" not in values and "podLabels" not in values


def test_operator_service_account_gets_the_operator_identity():
    values = ms.operator_values("genai-data", {"azure.workload.identity/client-id": "abc"},
                                {"azure.workload.identity/use": "true"})
    assert set(values) <= CHART_KEYS
    assert values["serviceAccount"] == {"create": True, "annotations": {"azure.workload.identity/client-id": "abc"}}
    assert values["podLabels"] == {"azure.workload.identity/use": "true"}
