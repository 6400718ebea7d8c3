"""MongoDB as the program wires it: stack ``databases.mongodb`` -> operator release, Secrets,
PerconaServerMongoDB, policies, monitoring and endpoints, under the recording mocks.

The builders have their own unit tests (tests/components/test_data_mongodb.py); here are what
each target gets, what is protected, that no password leaks into the plan, and bad input.
"""

from __future__ import annotations

import json

import pytest
from stack_overrides import isolate_pools

from infra import data_mongodb as dm
from infra.plan.runner import RunResult, load_stack_config, run_program
from infra.schema_data import MongodbConfig

NS = "genai-platform"
STORE = {"endpoint": "https://minio.storage.internal:9000", "bucket": "genai-backups"}
KEYS = {"objectStoreAccessKeyId": "AKIAMONGOPLANTEST", "objectStoreSecretAccessKey": "mongo-store-secret-0123456789"}
CR = "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB"
RELEASE = "kubernetes:helm.sh/v3:Release"


def run(stack: str, databases: dict, **kw) -> RunResult:
    overrides = {"databases": databases, **kw.pop("overrides", {})}
    return run_program(load_stack_config(stack, overrides=isolate_pools(overrides, stack), **kw))


def ok(result: RunResult) -> RunResult:
    assert result.error is None, result.error
    return result


def mongo(result: RunResult) -> list:
    """Everything the MongoDB component registered (its own children, not the cluster's)."""
    comp = next(r.urn for r in result.monitor.registrations if r.type == "genai:data:MongoDB")
    children, frontier = [], {comp}
    while frontier:
        found = [r for r in result.monitor.registrations if r.parent in frontier]
        children += found
        frontier = {r.urn for r in found}
    return children


def one(result: RunResult, type_: str, name: str = ""):
    (found,) = [r for r in mongo(result) if r.type == type_ and name in r.name]
    return found


def named(result: RunResult, kind: str) -> dict:
    return {r.inputs["metadata"]["name"]: r for r in mongo(result) if r.type.endswith(f":{kind}")}


@pytest.fixture(scope="module")
def local() -> RunResult:
    """A laptop: one member, two databases, credentials from an existing Secret, no Prometheus."""
    return ok(run("local", {"mongodb": {"members": 1, "databases": ["app", "rag"],
                                        "credentials": {"existingSecret": "mongo-app-creds"}},
                            "serviceMonitors": False}))


@pytest.fixture(scope="module")
def onprem() -> RunResult:
    """On-prem S3-compatible store, backups on a one-member set, Prometheus on."""
    return ok(run("onprem", {"mongodb": {"members": 1, "allowFrom": ["rag-ingest"],
                                         "backup": {"enabled": True, "schedule": "0 */6 * * *", "retentionDays": 3}},
                             "serviceMonitorLabels": {"release": "kps"}},
                  overrides={"objectStore": STORE}, secrets=KEYS))


@pytest.fixture(scope="module")
def aws() -> RunResult:
    """EKS in prod: protected, zone-spread, backups to the cluster's bucket with Pod Identity."""
    return ok(run("prod-aws", {"mongodb": {"members": 5, "storageGiB": 200, "backup": {"enabled": True}},
                               "zoneSpread": True}))


# --- what each target gets ----------------------------------------------------------------------

def test_laptop_cluster_uses_the_existing_secret_and_no_monitoring(local):
    assert not [r for r in local.monitor.registrations if r.type.startswith("kubernetes:monitoring.coreos.com")]
    assert not [r for r in mongo(local) if r.type.endswith(":Secret") or r.type.startswith("random:")]
    spec = one(local, CR).inputs["spec"]
    assert spec["unsafeFlags"] == {"replsetSize": True}
    (rs,) = spec["replsets"]
    assert rs["size"] == 1 and "sidecars" not in rs
    assert rs["volumeSpec"]["persistentVolumeClaim"]["storageClassName"] == "standard"
    assert [u["passwordSecretRef"] for u in spec["users"]] == [{"name": "mongo-app-creds", "key": "app-password"},
                                                               {"name": "mongo-app-creds", "key": "rag-password"}]
    assert "backup" not in spec


def test_endpoints_name_the_secret_and_the_replica_set(local):
    out = local.monitor.stack_outputs["databases"]
    assert set(out) == {"mongodb", "mongodb-rag"}
    app, rag = out["mongodb"], out["mongodb-rag"]
    assert app["host"] == rag["host"] == "mongodb-rs0.genai-data.svc.cluster.local"
    assert (app["port"], app["database"], app["replicaSet"], app["username"]) == (27017, "app", "rs0", "app")
    assert (app["secretName"], app["secretKeys"]) == ("mongo-app-creds", {"password": "app-password"})
    assert rag["database"] == "rag" and rag["secretKeys"] == {"password": "rag-password"}


def test_every_kubernetes_object_has_the_explicit_provider_and_the_namespaces_are_restricted(local):
    for r in mongo(local):
        if r.type.startswith("kubernetes:"):
            assert r.provider, r.name
    ns = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
          for r in local.monitor.by_type("kubernetes:core/v1:Namespace")}
    assert ns["psmdb-operator"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns["genai-data"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_operator_release_is_pinned_and_watches_the_data_namespace(local):
    rel = one(local, RELEASE, "mongodb")
    i = rel.inputs
    assert (i["chart"], i["version"], i["repositoryOpts"]["repo"]) == (
        "psmdb-operator", "1.21.3", "https://percona.github.io/percona-helm-charts/")
    assert (i["name"], i["namespace"], i["values"]["watchNamespace"]) == ("psmdb-operator", "psmdb-operator", "genai-data")
    cluster = one(local, CR)
    assert rel.urn in cluster.dependencies, "the CRDs come with the release"
    assert any(d.endswith("::data-ns") for d in cluster.dependencies)
    assert not rel.protect and not cluster.protect, "the local stack protects nothing"


def test_on_prem_backups_go_to_the_store_with_its_keys(onprem):
    spec = one(onprem, CR).inputs["spec"]
    b = spec["backup"]
    assert b["storages"]["object-store"] == {"type": "s3", "s3": {
        "bucket": "genai-backups", "region": "us-east-1", "prefix": "mongodb",
        "endpointUrl": "https://minio.storage.internal:9000", "credentialsSecret": "mongodb-backup-s3"}}
    (task,) = b["tasks"]
    assert task["schedule"] == "0 */6 * * *"
    assert task["retention"]["count"] == 12, "four a day for three days"
    keys = named(onprem, "Secret")["mongodb-backup-s3"].inputs["stringData"]
    assert keys == {"AWS_ACCESS_KEY_ID": "[secret]", "AWS_SECRET_ACCESS_KEY": "[secret]"}
    assert named(onprem, "Secret")["mongodb-backup-s3"].urn in one(onprem, CR).dependencies


def test_on_prem_operator_may_reach_the_store_port(onprem):
    policies = named(onprem, "NetworkPolicy")
    egress = policies["allow-egress-object-store"].inputs
    assert egress["metadata"]["namespace"] == "psmdb-operator"
    assert egress["spec"]["egress"] == [{"ports": [{"protocol": "TCP", "port": 9000}]}]


def test_generated_passwords_and_store_keys_never_reach_the_plan(onprem):
    users = named(onprem, "Secret")["mongodb-system-users"].inputs["stringData"]
    roles = ("DATABASE_ADMIN", "CLUSTER_ADMIN", "USER_ADMIN", "CLUSTER_MONITOR", "BACKUP")
    assert users == {f"MONGODB_{role}_{part}": "[secret]" for role in roles for part in ("USER", "PASSWORD")}
    app = named(onprem, "Secret")["mongodb-app-user"].inputs["stringData"]
    assert app == {"username": "[secret]", "password": "[secret]", "uri": "[secret]"}
    assert len([r for r in mongo(onprem) if r.type == "random:index/randomPassword:RandomPassword"]) == 6
    plan = json.dumps([r.to_json() for r in onprem.monitor.registrations]) + json.dumps(onprem.monitor.stack_outputs)
    assert '"plan-' not in plan, "a generated password is in the plan"
    for value in KEYS.values():
        assert value not in plan


def test_metrics_exporter_pod_monitor_and_network_policy(onprem):
    (rs,) = one(onprem, CR).inputs["spec"]["replsets"]
    assert [c["name"] for c in rs["sidecars"]] == ["mongodb-exporter"]
    monitor = one(onprem, "kubernetes:monitoring.coreos.com/v1:PodMonitor")
    assert monitor.inputs["metadata"]["labels"]["release"] == "kps"
    policy = named(onprem, "NetworkPolicy")["allow-mongodb"].inputs["spec"]
    peers = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]: rule.get("ports")
             for rule in policy["ingress"] for p in rule["from"] if "namespaceSelector" in p}
    assert peers["rag-ingest"] == [{"protocol": "TCP", "port": 27017}]
    assert peers["psmdb-operator"] == [{"protocol": "TCP", "port": 27017}]
    assert [p["port"] for p in peers["monitoring"]] == [9216]


def test_eks_backups_use_the_bound_service_account_and_no_keys(aws):
    spec = one(aws, CR).inputs["spec"]
    storage = spec["backup"]["storages"]["object-store"]["s3"]
    assert "credentialsSecret" not in storage and "endpointUrl" not in storage
    assert storage["prefix"] == "mongodb" and storage["region"] and storage["bucket"]
    assert spec["backup"]["tasks"][0]["retention"]["count"] == 14
    assert not [r for r in mongo(aws) if r.type.endswith(":Secret") and "backup" in r.name]
    (rs,) = spec["replsets"]
    assert rs["serviceAccountName"] == "mongodb-replset"
    assert named(aws, "ServiceAccount")["mongodb-replset"].inputs["metadata"]["namespace"] == "genai-data"
    assocs = [r.inputs for r in aws.monitor.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")]
    assert {"namespace": "genai-data", "serviceAccount": "mongodb-replset"} in [
        {"namespace": a["namespace"], "serviceAccount": a["serviceAccount"]} for a in assocs]


def test_prod_protects_the_release_and_the_cluster_and_spreads_over_zones(aws):
    assert one(aws, RELEASE, "mongodb").protect
    cluster = one(aws, CR)
    assert cluster.protect
    (rs,) = cluster.inputs["spec"]["replsets"]
    assert rs["size"] == 5
    assert rs["volumeSpec"]["persistentVolumeClaim"]["resources"]["requests"]["storage"] == "200Gi"
    assert rs["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"


# --- identities and pod security (no run) ---------------------------------------------------------

def test_backup_identities_name_the_replica_set_and_the_operator_service_accounts():
    on = MongodbConfig.model_validate({"backup": {"enabled": True}, "operatorNamespace": "mongo-op"})
    agents = dm.backup_identity(on, "genai-data")
    assert (agents.name, agents.namespace, agents.service_account, agents.access) == (
        "mongodb-backups", "genai-data", "mongodb-replset", "read-write")
    operator = dm.operator_identity(on, "genai-data")
    assert (operator.name, operator.namespace, operator.service_account, operator.access) == (
        "mongodb-operator-backups", "mongo-op", "psmdb-operator", "read-write")
    off = MongodbConfig.model_validate({})
    assert dm.backup_identity(off, "genai-data") is None and dm.operator_identity(off, "genai-data") is None
    assert dm.pod_security(on) == "restricted"


# --- the backup schedule -> retention count (no run) ---------------------------------------------

@pytest.mark.parametrize(("schedule", "days", "count"), [
    ("0 3 * * *", 14, 14),          # daily
    ("0 */6 * * *", 7, 28),         # four a day
    ("0 3 * * 0", 14, 2),           # weekly
    ("0 3 * * 0", 10, 2),           # a partial week still keeps the previous one
    ("0 3 1 * *", 30, 1),           # monthly
    ("15,45 1 * * 1-5", 7, 10),     # twice on weekdays
    ("0 3 1 * 0", 7, 2),            # day-of-month OR day-of-week when both are set
    ("0 3 */2 * 1", 14, 9),         # a stepped * is no wildcard: odd days OR Mondays
    ("30 5/6 * * *", 2, 8),         # N/step runs from N to the end: 5, 11, 17, 23
])
def test_retention_days_become_a_backup_count(schedule, days, count):
    assert dm.retention_count(schedule, days) == count


@pytest.mark.parametrize(("schedule", "field"), [
    ("0 3 * * 7", "day-of-week"), ("60 3 * * *", "minute"), ("0 24 * * *", "hour"), ("0 3 0 * *", "day-of-month"),
    ("0 3 * 13 *", "month"), ("*/0 3 * * *", "minute"), ("0 5-2 * * *", "hour"),
])
def test_schedules_the_operator_cannot_parse_are_named(schedule, field):
    with pytest.raises(ValueError, match=field):
        dm.parse_schedule(schedule)


def test_a_schedule_that_never_fires_runs_zero_times():
    assert dm.runs_per_day("0 3 31 2 *") == 0
    assert dm.runs_per_day("0 3 29 2 *") > 0



# --- bad input ----------------------------------------------------------------------------------

def problems(result: RunResult) -> str:
    assert result.error, "expected a configuration error"
    assert "Traceback" not in result.error
    assert not result.monitor.registrations
    return result.error


def test_an_even_member_count_is_refused():
    err = problems(run("dev", {"mongodb": {"members": 4}}))
    assert f"{NS}:databases.mongodb.members: must be odd (1, 3, 5 or 7): 4 members" in err
    assert "use 3 or 5" in err


def test_gke_backups_and_bad_names_and_schedules_are_refused_at_once():
    err = problems(run("staging", {"mongodb": {"databases": ["app", "admin", "backup", "app"],
                                               "backup": {"enabled": True, "schedule": "0 3 * * 7"}}}))
    assert f"{NS}:databases.mongodb.databases: lists app more than once" in err
    assert f"{NS}:databases.mongodb.databases[1]: 'admin' is one of MongoDB's own databases" in err
    assert f"{NS}:databases.mongodb.databases[2]: 'backup' is the name of one of the operator's system users" in err
    assert f"{NS}:databases.mongodb.backup.enabled: backups cannot go to Google Cloud Storage" in err
    assert "set backup.enabled to false" in err
    assert f"{NS}:databases.mongodb.backup.schedule: '0 3 * * 7': day-of-week field: '7' is outside 0-6" in err


def test_aks_backups_and_a_schedule_that_never_runs_are_refused():
    err = problems(run("prod-azure", {"mongodb": {"backup": {"enabled": True, "schedule": "0 3 30 2 *"}}}))
    assert f"{NS}:databases.mongodb.backup.enabled: backups cannot go to Azure Blob Storage" in err
    assert "shared key" in err
    assert f"{NS}:databases.mongodb.backup.schedule: '0 3 30 2 *' never runs" in err


def test_no_database_is_refused():
    err = problems(run("local", {"mongodb": {"databases": []}}))
    assert f"{NS}:databases.mongodb.databases: list at least one database" in err
