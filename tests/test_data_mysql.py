"""MySQL as the program wires it: ``databases.mysql`` -> operator release, InnoDBCluster, Secrets,
policies, databases Job and endpoints, on a laptop, on-prem with an S3-compatible store and on
EKS; and the config rules, each naming its key and the fix."""

from __future__ import annotations

import json

import pytest
from stack_overrides import isolate_pools

from infra.data_mysql import backup_identity, pod_security, problems
from infra.plan.runner import load_stack_config, run_program
from infra.plan.validate import validate_helm_values, validate_manifest
from infra.schema import PlatformConfig

NS = "genai-platform"
K8S = "kubernetes:"
IC = "kubernetes:mysql.oracle.com/v2:InnoDBCluster"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORE = {"endpoint": "https://minio.storage.internal:9000", "bucket": "genai-backups"}
KEYS = {"objectStoreAccessKeyId": "AKIAPLANTEST", "objectStoreSecretAccessKey": "plan-store-secret-0123456789"}


def run_stack(stack: str, overrides: dict, secrets: dict | None = None):
    """One run shared by a module's tests (the ``run`` fixture is per test)."""
    return run_program(load_stack_config(stack, overrides=isolate_pools(overrides, stack), secrets=secrets))


@pytest.fixture(scope="module")
def local():
    result = run_stack("local", overrides={"databases": {
        "serviceMonitors": False, "allowFrom": ["tenant-a"],
        "mysql": {"databases": ["app", "rag"], "storageGiB": 30}}})
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def onprem():
    result = run_stack("onprem", overrides={"objectStore": STORE, "databases": {
        "zoneSpread": False, "serviceMonitorLabels": {"release": "prometheus"},
        "mysql": {"backup": {"enabled": True, "schedule": "15 1 * * *"}}}}, secrets=KEYS)
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def eks():
    result = run_stack("dev", overrides={"databases": {"mysql": {"backup": {"enabled": True}}}})
    assert result.error is None, result.error
    return result


def one(result, type_: str, name: str):
    found = [r for r in result.monitor.registrations if r.type == type_ and r.name == name]
    assert len(found) == 1, [(r.type, r.name) for r in result.monitor.registrations if r.type == type_]
    return found[0]


def of_kind(result, kind: str) -> list:
    return [r for r in result.monitor.registrations if r.type.startswith(K8S) and r.type.endswith(f":{kind}")]


def mysql_objects(result) -> list:
    """Every Kubernetes object the MySQL component registered."""
    component = one(result, "genai:data:MysqlCluster", "mysql")
    parents = {component.urn} | {r.urn for r in result.monitor.registrations if r.parent == component.urn}
    return [r for r in result.monitor.registrations if r.parent in parents and r.type.startswith(K8S)]


def test_local_installs_the_pinned_operator_and_a_cluster_sized_from_config(local):
    rel = one(local, RELEASE, "mysql-operator")
    assert (rel.inputs["chart"], rel.inputs["version"]) == ("mysql-operator", "2.2.2")
    assert rel.inputs["repositoryOpts"]["repo"] == "https://mysql.github.io/mysql-operator/"
    assert rel.inputs["namespace"] == "mysql-operator"
    assert validate_helm_values("mysql-operator", rel.inputs["values"]) == []
    ic = one(local, IC, "mysql")
    spec = ic.inputs["spec"]
    assert (spec["instances"], spec["router"]["instances"]) == (3, 2)
    assert spec["datadirVolumeClaimTemplate"]["storageClassName"] == "standard"       # the stack's RWO class
    assert spec["datadirVolumeClaimTemplate"]["resources"]["requests"]["storage"] == "30Gi"
    assert spec["secretName"] == "mysql-root"
    assert "metrics" not in spec and "backupProfiles" not in spec
    assert rel.urn in ic.dependencies                      # the CRDs come with the release
    assert not ic.protect and not rel.protect


def test_local_renders_valid_objects_with_explicit_providers(local):
    objects = mysql_objects(local)
    assert {r.type.rsplit(":", 1)[1] for r in objects} >= {
        "InnoDBCluster", "Release", "Secret", "ServiceAccount", "NetworkPolicy", "PodDisruptionBudget", "Job",
        "LimitRange", "Namespace"}
    for r in objects:
        assert r.provider, f"{r.type} {r.name} has no explicit provider"
        if r.type in (RELEASE,):
            continue
        errors = validate_manifest(r.inputs, "1.33")
        if r.type == IC:   # apiVersion/kind/metadata are the API server's, see the component tests
            errors = [e for e in errors if not e.endswith(("apiVersion: unknown field", "kind: unknown field"))
                      and ": metadata." not in e]
        assert errors == [], errors
    # No Prometheus Operator on this stack: no monitoring.coreos.com objects at all.
    assert not [r for r in local.monitor.registrations if "monitoring.coreos.com" in r.type]


def test_local_creates_each_database_user_and_exports_typed_endpoints(local):
    secrets = {r.inputs["metadata"]["name"]: r.inputs for r in of_kind(local, "Secret")}
    assert set(secrets["mysql-root"]["stringData"]) == {"rootUser", "rootHost", "rootPassword"}
    for db in ("app", "rag"):
        assert set(secrets[f"mysql-user-{db}"]["stringData"]) == {"username", "password", "database"}
    job, = [r for r in of_kind(local, "Job") if r.name == "mysql-databases"]
    assert one(local, IC, "mysql").urn in job.dependencies
    env = {e["name"] for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {"ROOT_PASSWORD", "USER_0", "PASSWORD_0", "USER_1", "PASSWORD_1"} <= env
    out = local.monitor.stack_outputs["databases"]
    assert out["mysql"] == {
        "engine": "mysql", "host": "mysql.genai-data.svc.cluster.local", "port": 3306, "database": "app",
        "secretName": "mysql-user-app", "secretNamespace": "genai-data",
        "secretKeys": {"username": "username", "password": "password", "database": "database"},
        "readHost": "mysql.genai-data.svc.cluster.local", "readPort": 6447}
    assert out["mysql-rag"]["database"] == "rag" and out["mysql-rag"]["secretName"] == "mysql-user-rag"


def test_local_policies_and_pod_security(local):
    policy = next(r for r in of_kind(local, "NetworkPolicy") if r.inputs["metadata"]["name"] == "allow-mysql")
    clients = policy.inputs["spec"]["ingress"][1]
    names = [p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
             for p in clients["from"]]
    assert names == [None, "tenant-a"]
    assert 6446 in [p["port"] for p in clients["ports"]]
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"] for r in of_kind(local, "Namespace")}
    assert namespaces["genai-data"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespaces["mysql-operator"]["pod-security.kubernetes.io/enforce"] == "baseline"
    pdb, = [r for r in of_kind(local, "PodDisruptionBudget") if r.name == "mysql-router-pdb"]
    assert pdb.inputs["spec"]["selector"]["matchLabels"]["component"] == "mysqlrouter"


@pytest.mark.parametrize("stack", ["local", "onprem", "eks"])
def test_no_generated_password_or_store_key_reaches_state_in_clear(stack, request):
    result = request.getfixturevalue(stack)
    dumped = json.dumps([r.to_json() for r in result.monitor.registrations]) + json.dumps(result.monitor.stack_outputs)
    assert "plan-" not in dumped.replace("plan-placeholder", "")
    assert KEYS["objectStoreSecretAccessKey"] not in dumped and KEYS["objectStoreAccessKeyId"] not in dumped


def test_onprem_backs_up_to_the_s3_compatible_store_with_static_keys(onprem):
    spec = one(onprem, IC, "mysql").inputs["spec"]
    s3 = spec["backupProfiles"][0]["dumpInstance"]["storage"]["s3"]
    assert s3 == {"bucketName": "genai-backups", "prefix": "mysql", "config": "mysql-backup-s3",
                  "endpoint": "https://minio.storage.internal:9000"}
    assert spec["backupSchedules"][0]["schedule"] == "15 1 * * *"
    config = next(r for r in of_kind(onprem, "Secret") if r.inputs["metadata"]["name"] == "mysql-backup-s3")
    assert config.inputs["stringData"] == {"config": "[secret]", "credentials": "[secret]"}
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"] for r in of_kind(onprem, "Namespace")}
    assert namespaces["genai-data"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_onprem_protects_the_cluster_and_the_operator_and_scrapes_the_exporter(onprem):
    ic, rel = one(onprem, IC, "mysql"), one(onprem, RELEASE, "mysql-operator")
    assert ic.protect and rel.protect
    assert ic.inputs["spec"]["metrics"]["enable"] is True
    sm, = [r for r in onprem.monitor.registrations if r.type == "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
           and r.name == "mysql-service-monitor"]
    assert sm.inputs["metadata"]["labels"]["release"] == "prometheus"
    assert validate_manifest(sm.inputs, "1.33") == []


def test_eks_binds_the_servers_account_to_the_bucket_through_pod_identity(eks):
    assoc = [r for r in eks.monitor.registrations if r.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation"
             and r.inputs.get("serviceAccount") == "mysql-sidecar-sa"]
    assert len(assoc) == 1 and assoc[0].inputs["namespace"] == "genai-data"
    spec = one(eks, IC, "mysql").inputs["spec"]
    s3 = spec["backupProfiles"][0]["dumpInstance"]["storage"]["s3"]
    assert s3["bucketName"] and "endpoint" not in s3 and spec["serviceAccountName"] == "mysql-sidecar-sa"
    config = next(r for r in of_kind(eks, "Secret") if r.inputs["metadata"]["name"] == "mysql-backup-s3")
    assert set(config.inputs["stringData"]) == {"config"}            # no keys: the agent hands them out
    agent = [r for r in of_kind(eks, "NetworkPolicy") if r.inputs["metadata"]["name"] == "allow-mysql-backup-credentials"]
    assert len(agent) == 1
    assert agent[0].inputs["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 80}]


# --- bad input ------------------------------------------------------------------------------

def config(mysql: dict, **top) -> PlatformConfig:
    return PlatformConfig.model_validate({"databases": {"mysql": mysql}, **top})


def rules(mysql: dict, **top) -> dict[str, str]:
    cfg = config(mysql, **top)
    return dict(problems(cfg.databases.mysql, cfg))


def test_two_members_and_even_counts_are_refused_with_the_fix():
    assert "2 members tolerate no failure" in rules({"instances": 2})["databases.mysql.instances"]
    assert "use an odd count such as 3 or 5" in rules({"instances": 4})["databases.mysql.instances"]
    assert "databases.mysql.instances" not in rules({"instances": 1, "routerInstances": 0})
    assert "databases.mysql.instances" not in rules({"instances": 5})


def test_no_router_in_front_of_a_group_is_refused():
    msg = rules({"instances": 3, "routerInstances": 0})["databases.mysql.routerInstances"]
    assert "follow the primary" in msg and "set routerInstances to 2" in msg


def test_database_names_duplicate_reserved_or_too_long_are_refused():
    assert rules({"databases": ["app", "app"]})["databases.mysql.databases"] == "lists app more than once"
    assert "schema of the server itself" in rules({"databases": ["sys"]})["databases.mysql.databases"]
    assert "account the server or the operator uses" in rules({"databases": ["mysqlrouter"]})["databases.mysql.databases"]
    long = "a" * 33
    assert "longer than 32 characters" in rules({"databases": [long]})["databases.mysql.databases"]
    # Users come from the existing Secret: only the schema rules still apply.
    assert "databases.mysql.databases" not in rules({"databases": [long], "credentials": {"existingSecret": "db"}})
    assert "at least one" in rules({"databases": []})["databases.mysql.databases"]


def test_the_error_reaches_the_run_before_anything_is_registered(run):
    result = run("local", overrides={"databases": {"mysql": {"instances": 2, "databases": ["app", "app"]}}})
    assert f"{NS}:databases.mysql.instances: 2 members tolerate no failure" in result.error
    assert f"{NS}:databases.mysql.databases: lists app more than once" in result.error
    assert not result.monitor.registrations


@pytest.mark.parametrize("stack, words", [
    ("staging", "cannot write to Google Cloud Storage"),
    ("prod-azure", "storage account key or SAS token"),
])
def test_backups_where_mysql_shell_cannot_write_are_refused(run, stack, words):
    result = run(stack, overrides={"databases": {"mysql": {"backup": {"enabled": True}}}})
    assert f"{NS}:databases.mysql.backup.enabled: MySQL Shell" in result.error
    assert words in result.error and "set backup.enabled to false" in result.error


def test_backups_on_eks_need_pod_identity_not_irsa():
    eks = {"target": "eks", "eks": {"region": "eu-west-1", "workloadIdentity": "irsa"}}
    msg = rules({"backup": {"enabled": True}}, cluster=eks)["databases.mysql.backup.enabled"]
    assert "cannot use IRSA" in msg and "cluster.eks.workloadIdentity to pod-identity" in msg
    eks["eks"]["workloadIdentity"] = "pod-identity"
    assert "databases.mysql.backup.enabled" not in rules({"backup": {"enabled": True}}, cluster=eks)


def test_backup_identity_and_pod_security_follow_the_backup_switch():
    on = config({"backup": {"enabled": True}}).databases.mysql
    off = config({}).databases.mysql
    request = backup_identity(on, "genai-data")
    assert request is not None
    assert (request.name, request.namespace, request.service_account, request.access) == (
        "mysql-backups", "genai-data", "mysql-sidecar-sa", "read-write")
    assert backup_identity(off, "genai-data") is None
    assert (pod_security(on), pod_security(off)) == ("baseline", "restricted")
