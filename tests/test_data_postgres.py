"""``databases.postgres`` as the program wires it, under the recording mocks: the operator
release, the Cluster and its databases, credentials, backups on every store, protection,
exports, and the config rules."""

from __future__ import annotations

import json

import pytest
from stack_overrides import without_load_test

from components.data.postgres_specs import OPERATOR_CHART_VERSION, OPERATOR_REPOSITORY
from infra import data_postgres
from infra.plan import runner
from infra.plan.mocks import RecordingMonitor
from infra.plan.render import build
from infra.plan.runner import load_stack_config, run_program
from infra.schema_data import PostgresConfig

NS = "genai-platform"
CNPG = "kubernetes:postgresql.cnpg.io/v1:"
DATABASES = [{"name": "app"}, {"name": "rag", "owner": "rag-owner", "extensions": ["vector", "pg_trgm"]}]
ONPREM_STORE = {"endpoint": "https://minio.storage.internal:9000", "bucket": "genai-backups"}
KEY_ID, SECRET_KEY = "AKIAPLANKEY0001", "plan-store-secret-0001"


class OptionsMonitor(RecordingMonitor):
    """Also keeps ``retainOnDelete``, which the plan's records leave out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.retain: dict[str, bool] = {}

    def RegisterResource(self, request):
        self.retain[request.name] = request.retainOnDelete
        return super().RegisterResource(request)


def planned(stack: str, databases: dict, overrides: dict | None = None, secrets: dict | None = None):
    # About the cluster itself: the stack's tenants (and their databases) are left out.
    cfg = load_stack_config(stack, overrides=without_load_test({"databases": databases, "tenants": [], **(overrides or {})},
                                                               stack),
                            secrets=secrets)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "RecordingMonitor", OptionsMonitor)
        plan = build(cfg, run_program(cfg))
    assert plan.run.error is None, plan.run.error
    assert plan.errors == [], plan.errors
    return plan


@pytest.fixture(scope="module")
def local():
    return planned("local", {"serviceMonitors": False, "postgres": {
        "instances": 1, "databases": DATABASES, "pooler": {"enabled": True, "instances": 2}}})


@pytest.fixture(scope="module")
def clouds():
    backup = {"enabled": True, "schedule": "15 2 * * *", "retentionDays": 21}
    return {stack: planned(stack, {"postgres": {"backup": backup}})
            for stack in ("dev", "staging", "prod-azure")}


@pytest.fixture(scope="module")
def onprem():
    return planned("onprem", {"postgres": {"backup": {"enabled": True}, "credentials": {"existingSecret": "pg-app"}}},
                   {"objectStore": ONPREM_STORE},
                   {"objectStoreAccessKeyId": KEY_ID, "objectStoreSecretAccessKey": SECRET_KEY})


def regs(plan, type_prefix: str):
    return [r for r in plan.registrations if r.type.startswith(type_prefix)]


def one(plan, type_name: str):
    (reg,) = regs(plan, type_name)
    return reg


def operator_release(plan):
    (reg,) = [r for r in regs(plan, "kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "cloudnative-pg"]
    return reg


def cluster_spec(plan) -> dict:
    return one(plan, CNPG + "Cluster").inputs["spec"]


# --- what reaches the cluster ---------------------------------------------------------------

def test_operator_release_is_pinned_and_cluster_waits_for_it(local):
    release = operator_release(local)
    assert release.inputs["chart"] == "cloudnative-pg" and release.inputs["version"] == OPERATOR_CHART_VERSION
    assert release.inputs["repositoryOpts"]["repo"] == OPERATOR_REPOSITORY == "https://cloudnative-pg.github.io/charts"
    assert release.inputs["namespace"] == "cnpg-system"
    ns = [r for r in regs(local, "kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "cnpg-system"]
    assert len(ns) == 1 and ns[0].urn in release.dependencies
    cluster = one(local, CNPG + "Cluster")
    data_ns = [r for r in regs(local, "kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "genai-data"]
    assert release.urn in cluster.dependencies and data_ns[0].urn in cluster.dependencies
    assert all(r.provider for r in regs(local, "kubernetes:") if r.custom)


def test_local_cluster_sizes_databases_and_pooler(local):
    spec = cluster_spec(local)
    assert spec["instances"] == 1 and spec["enablePDB"] is False
    assert spec["storage"] == {"size": "20Gi", "storageClass": "standard"}
    assert spec["bootstrap"]["initdb"]["secret"] == {"name": "postgres-app"}
    assert [r["name"] for r in spec["managed"]["roles"]] == ["rag-owner"]
    dbs = {r.inputs["spec"]["name"]: r.inputs["spec"] for r in regs(local, CNPG + "Database")}
    assert dbs["rag"]["owner"] == "rag-owner" and [e["name"] for e in dbs["rag"]["extensions"]] == ["vector", "pg_trgm"]
    assert [e["name"] for e in dbs["app"]["extensions"]] == ["vector"]
    assert one(local, CNPG + "Pooler").inputs["spec"]["instances"] == 2
    assert one(local, "kubernetes:policy/v1:PodDisruptionBudget").inputs["metadata"]["name"] == "postgres-pooler-rw"
    assert not regs(local, CNPG + "ScheduledBackup") and "backup" not in spec


def test_no_monitoring_objects_when_service_monitors_are_off(local, onprem):
    assert not regs(local, "kubernetes:monitoring.coreos.com")
    release = operator_release(local)
    assert release.inputs["values"]["monitoring"]["podMonitorEnabled"] is False
    monitors = {r.inputs["metadata"]["name"] for r in regs(onprem, "kubernetes:monitoring.coreos.com/v1:PodMonitor")
                if r.inputs["metadata"]["namespace"] == "genai-data"}
    assert monitors == {"postgres"}
    assert operator_release(onprem).inputs["values"]["monitoring"]["podMonitorEnabled"] is True


def test_generated_passwords_stay_secret(local):
    passwords = regs(local, "random:index/randomPassword:RandomPassword")
    assert {r.name for r in passwords} == {"postgres-app-password", "postgres-rag-owner-password"}
    secrets = {r.inputs["metadata"]["name"]: r.inputs for r in regs(local, "kubernetes:core/v1:Secret")}
    for name in ("postgres-app", "postgres-rag-owner"):
        assert secrets[name]["type"] == "kubernetes.io/basic-auth"
        assert secrets[name]["stringData"] == {"username": "[secret]", "password": "[secret]"}
    recorded = json.dumps([r.to_json() for r in local.registrations]) + json.dumps(local.run.monitor.stack_outputs)
    assert '"plan-' not in recorded


def test_endpoints_are_exported_with_secret_names(local):
    out = local.run.monitor.stack_outputs["databases"]
    pg = out["postgres"]
    assert pg["host"] == "postgres-rw.genai-data.svc.cluster.local" and pg["port"] == 5432
    assert pg["readHost"] == "postgres-ro.genai-data.svc.cluster.local" and pg["database"] == "app"
    assert pg["secretName"] == "postgres-app" and pg["secretKeys"] == {"username": "username", "password": "password"}
    assert pg["databases"] == {"app": "postgres-app", "rag": "postgres-rag-owner"}
    assert out["postgres-pooler"]["host"] == "postgres-pooler-rw.genai-data.svc.cluster.local"


# --- backups on every store ---------------------------------------------------------------

def test_every_cloud_schedules_backups_with_retention(clouds):
    for plan in clouds.values():
        spec = cluster_spec(plan)
        assert spec["backup"]["retentionPolicy"] == "21d"
        (sb,) = [r.inputs["spec"] for r in regs(plan, CNPG + "ScheduledBackup")]
        assert sb["schedule"] == "0 15 2 * * *" and sb["cluster"] == {"name": "postgres"}


def test_eks_backups_use_pod_identity_bound_to_the_instances_service_account(clouds):
    plan = clouds["dev"]
    store = cluster_spec(plan)["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://") and store["destinationPath"].endswith("/postgres")
    assert store["s3Credentials"] == {"inheritFromIAMRole": True}
    assoc = [r.inputs for r in regs(plan, "aws:eks/podIdentityAssociation") if r.inputs["serviceAccount"] == "postgres"]
    assert len(assoc) == 1 and assoc[0]["namespace"] == "genai-data"
    egress = [r.inputs for r in regs(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
              if r.inputs["metadata"]["name"] == "allow-postgres-backup-identity"]
    assert egress[0]["spec"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "169.254.170.23/32"}}]
    identity = plan.run.monitor.stack_outputs["workloadIdentities"]["postgres-backups"]
    assert identity["serviceAccount"] == "postgres" and identity["namespace"] == "genai-data"


def test_gke_backups_use_workload_identity(clouds):
    spec = cluster_spec(clouds["staging"])
    assert spec["backup"]["barmanObjectStore"]["googleCredentials"] == {"gkeEnvironment": True}
    assert spec["backup"]["barmanObjectStore"]["destinationPath"].startswith("gs://")
    annotations = spec["serviceAccountTemplate"]["metadata"]["annotations"]
    assert annotations["iam.gke.io/gcp-service-account"].endswith(".iam.gserviceaccount.com")


def test_aks_backups_use_workload_identity_and_prod_protects_the_data(clouds):
    plan = clouds["prod-azure"]
    spec = cluster_spec(plan)
    store = spec["backup"]["barmanObjectStore"]
    assert store["azureCredentials"] == {"inheritFromAzureAD": True}
    assert store["destinationPath"].startswith("https://") and ".blob.core.windows.net/" in store["destinationPath"]
    assert spec["inheritedMetadata"]["labels"] == {"azure.workload.identity/use": "true"}
    assert "azure.workload.identity/client-id" in spec["serviceAccountTemplate"]["metadata"]["annotations"]
    cluster = one(plan, CNPG + "Cluster")
    release = operator_release(plan)
    assert cluster.protect and release.protect
    assert all(r.protect for r in regs(plan, CNPG + "Database"))
    assert plan.run.monitor.retain["postgres-cluster"] is True
    assert not one(clouds["dev"], CNPG + "Cluster").protect and clouds["dev"].run.monitor.retain["postgres-cluster"] is False


def test_onprem_store_uses_static_keys_and_an_existing_owner_secret(onprem):
    store = cluster_spec(onprem)["backup"]["barmanObjectStore"]
    assert store["endpointURL"] == ONPREM_STORE["endpoint"] and store["destinationPath"] == "s3://genai-backups/postgres"
    assert store["s3Credentials"]["accessKeyId"] == {"name": "postgres-backup-s3", "key": "ACCESS_KEY_ID"}
    secrets = {r.inputs["metadata"]["name"]: r.inputs for r in regs(onprem, "kubernetes:core/v1:Secret")}
    assert secrets["postgres-backup-s3"]["stringData"] == {"ACCESS_KEY_ID": "[secret]", "ACCESS_SECRET_KEY": "[secret]"}
    recorded = json.dumps([r.to_json() for r in onprem.registrations])
    assert KEY_ID not in recorded and SECRET_KEY not in recorded
    # The owner's Secret exists already: nothing generated, and everything points at it.
    # Grafana's admin password (the ops layer) is the stack's only generated one.
    assert not [r for r in regs(onprem, "random:index/randomPassword:RandomPassword") if "genai:ops:" not in r.urn]
    assert cluster_spec(onprem)["bootstrap"]["initdb"]["secret"] == {"name": "pg-app"}
    assert onprem.run.monitor.stack_outputs["databases"]["postgres"]["secretName"] == "pg-app"
    assert not [p for p in regs(onprem, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if p.inputs["metadata"]["name"] == "allow-postgres-backup-identity"]


# --- config rules -------------------------------------------------------------------------

def error_line(result, path: str) -> str:
    assert result.error is not None and "Traceback" not in result.error
    assert result.monitor.registrations == []
    lines = [ln.strip() for ln in result.error.splitlines() if ln.strip().startswith(f"{NS}:{path}: ")]
    assert lines, result.error
    return lines[0]


def test_duplicate_database_names_are_rejected(run):
    result = run("local", overrides={"databases": {"postgres": {"databases": [{"name": "app"}, {"name": "app"}]}}})
    line = error_line(result, "databases.postgres.databases[1].name")
    assert "'app' is listed more than once" in line


def test_unknown_extension_is_rejected_with_a_hint(run):
    result = run("local", overrides={"databases": {"postgres": {"databases": [{"name": "app", "extensions": ["vectr"]}]}}})
    line = error_line(result, "databases.postgres.databases[0].extensions")
    assert "'vectr' is not an extension" in line and "did you mean 'vector'" in line


def test_reserved_owner_is_rejected(run):
    result = run("local", overrides={"databases": {"postgres": {"databases": [{"name": "app", "owner": "postgres"}]}}})
    line = error_line(result, "databases.postgres.databases[0].owner")
    assert "superuser" in line and "set owner to another role name" in line


@pytest.mark.parametrize("section, path, words", [
    ({"databases": [{"name": "postgres"}]}, "databases.postgres.databases[0].name", ["created by PostgreSQL itself"]),
    ({"databases": [{"name": "ca"}]}, "databases.postgres.databases[0].name", ["postgres-ca", "operator"]),
    ({"databases": [{"name": "a", "extensions": ["vector", "vector"]}]}, "databases.postgres.databases[0].extensions",
     ["vector more than once"]),
    ({"parameters": {"archive_mode": "off"}}, "databases.postgres.parameters.archive_mode", ["set by the CloudNativePG"]),
    ({"parameters": {"max_connections": "lots"}}, "databases.postgres.parameters.max_connections", ["whole number"]),
    ({"pooler": {"enabled": True, "instances": 4, "defaultPoolSize": 30}}, "databases.postgres.pooler.defaultPoolSize",
     ["= 120", "97", "raise parameters.max_connections"]),
    ({"credentials": {"existingSecret": "pg"}, "databases": DATABASES}, "databases.postgres.credentials.existingSecret",
     ["2 owners", "app, rag-owner"]),
])
def test_rules(section, path, words):
    found = data_postgres.problems(PostgresConfig.model_validate(section), None)  # type: ignore[arg-type]
    lines = [msg for key, msg in found if key == path]
    assert lines, found
    assert all(w in lines[0] for w in words), lines[0]


def test_sound_settings_raise_nothing():
    section = PostgresConfig.model_validate({
        "databases": DATABASES, "parameters": {"max_connections": "300", "shared_buffers": "1GB"},
        "pooler": {"enabled": True, "instances": 4, "defaultPoolSize": 30}, "walStorageGiB": 10})
    assert data_postgres.problems(section, None) == []  # type: ignore[arg-type]
    assert data_postgres.backup_identity(section, "genai-data") is None
    assert data_postgres.pod_security(section) == "restricted"


def test_reserved_database_name_is_one_problem_not_two():
    found = data_postgres.problems(PostgresConfig.model_validate({"databases": [{"name": "postgres"}]}), None)  # type: ignore[arg-type]
    assert [key for key, _ in found] == ["databases.postgres.databases[0].name"]
