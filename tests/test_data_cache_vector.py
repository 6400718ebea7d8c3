"""``databases.redis`` and ``databases.vector`` as the program wires them, under the recording
mocks: releases, Secrets, identities per cloud, snapshots, protection, Pod Security, exports,
and the config rules."""

from __future__ import annotations

import json

import pytest
import yaml
from stack_overrides import without_load_test

from components.data import cache_specs as cs
from components.data import milvus_specs as ms
from components.data import qdrant_specs as qs
from infra import data_redis, data_vector
from infra.plan.render import build
from infra.plan.runner import load_stack_config, run_program
from infra.schema import PlatformConfig

NS = "genai-platform"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORE = {"endpoint": "https://minio.storage.internal:9000", "bucket": "genai-backups"}
KEYS = {"objectStoreAccessKeyId": "AKIAPLANCACHEVEC", "objectStoreSecretAccessKey": "plan-store-secret-cachevec"}
# Reported by the key check although the qdrant chart reads them (see tests/components/test_data_vector.py).
QDRANT_KEYS_OUTSIDE_DEFAULTS = ("persistence.storageClassName", "config.storage",
                                "containerSecurityContext.capabilities", "containerSecurityContext.seccompProfile")


def planned(stack: str, databases: dict, overrides: dict | None = None, secrets: dict | None = None):
    # About the engines themselves: the stack's tenants (which need its PostgreSQL) are left out.
    cfg = load_stack_config(stack, overrides=without_load_test({"databases": databases, "tenants": [], **(overrides or {})},
                                                               stack),
                            secrets=secrets)
    plan = build(cfg, run_program(cfg))
    assert plan.run.error is None, plan.run.error
    unexpected = [e for e in plan.errors if not any(f"helm qdrant: {k}: not a value" in e
                                                      for k in QDRANT_KEYS_OUTSIDE_DEFAULTS)]
    assert unexpected == []
    return plan


def regs(plan, prefix: str):
    return [r for r in plan.run.monitor.registrations if r.type.startswith(prefix)]


def release(plan, chart: str, namespace: str = "genai-data"):
    found = [r for r in regs(plan, RELEASE) if r.inputs["chart"] == chart and r.inputs["namespace"] == namespace]
    assert len(found) == 1, [r.inputs["chart"] for r in regs(plan, RELEASE)]
    return found[0]


def data_namespace(plan) -> dict:
    return next(r.inputs for r in regs(plan, "kubernetes:core/v1:Namespace")
                if r.inputs["metadata"]["name"] == "genai-data")


def secrets(plan) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r for r in regs(plan, "kubernetes:core/v1:Secret")
            if r.inputs["metadata"].get("namespace") == "genai-data"}


def recorded(plan) -> str:
    return json.dumps([r.to_json() for r in plan.run.monitor.registrations])


@pytest.fixture(scope="module")
def local():
    return planned("local", {"serviceMonitors": False, "redis": {"replicas": 1},
                             "vector": {"replicas": 3, "replicationFactor": 2}})


@pytest.fixture(scope="module")
def dev():
    return planned("dev", {"redis": {}, "vector": {"backup": {"enabled": True, "retentionDays": 5}}})


@pytest.fixture(scope="module")
def azure():
    return planned("prod-azure", {"vector": {"engine": "milvus", "storageGiB": 40}})


@pytest.fixture(scope="module")
def onprem():
    return planned("onprem", {"redis": {}, "vector": {"backup": {"enabled": True}}}, {"objectStore": STORE},
                   secrets=KEYS)


# --- what is created ------------------------------------------------------------------------

def test_local_installs_both_pinned_charts_with_generated_credentials(local):
    valkey, qdrant = release(local, cs.CHART), release(local, qs.CHART)
    assert (valkey.inputs["version"], valkey.inputs["repositoryOpts"]["repo"]) == (cs.CHART_VERSION, cs.REPOSITORY)
    assert (qdrant.inputs["version"], qdrant.inputs["repositoryOpts"]["repo"]) == (qs.CHART_VERSION, qs.REPOSITORY)
    assert qdrant.inputs["values"]["replicaCount"] == 3
    assert qdrant.inputs["values"]["config"]["storage"]["collection"]["replication_factor"] == 2
    assert valkey.inputs["values"]["replica"]["replicas"] == 1
    assert not valkey.protect and not qdrant.protect
    found = secrets(local)
    assert found["valkey-auth"].inputs["stringData"] == {"default": "[secret]"}
    assert found["qdrant-api-key"].inputs["stringData"] == {"api-key": "[secret]"}
    # The chart reads the Secret at install: the release waits for it (and the namespace).
    assert found["valkey-auth"].urn in valkey.dependencies
    assert found["qdrant-api-key"].urn in qdrant.dependencies
    assert local.run.monitor.violations == []


def test_no_generated_password_is_recorded_in_clear(local, dev, azure, onprem):
    for plan in (local, dev, azure, onprem):
        assert "plan-" not in recorded(plan).replace("plan-placeholder", "")


def test_nothing_of_the_prometheus_operator_when_the_stack_does_not_scrape(local):
    assert regs(local, "kubernetes:monitoring.coreos.com") == []
    assert "metrics" not in release(local, cs.CHART).inputs["values"]
    assert "metrics" not in release(local, qs.CHART).inputs["values"]


def test_the_data_namespace_stays_restricted_for_valkey_and_qdrant(local):
    labels = data_namespace(local)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_endpoints_are_exported_without_secret_values(local):
    out = local.run.monitor.stack_outputs["databases"]
    assert out["redis"] == {"engine": "redis", "host": "valkey.genai-data.svc.cluster.local", "port": 6379,
                            "secretName": "valkey-auth", "secretNamespace": "genai-data",
                            "secretKeys": {"password": "default"}, "username": "default",
                            "readHost": "valkey-read.genai-data.svc.cluster.local"}
    assert out["vector"] == {"engine": "qdrant", "host": "qdrant.genai-data.svc.cluster.local", "port": 6333,
                             "secretName": "qdrant-api-key", "secretNamespace": "genai-data",
                             "secretKeys": {"apiKey": "api-key"}, "grpcPort": 6334}


def test_network_policies_for_both_engines(local):
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in regs(local, "kubernetes:networking.k8s.io")
                if r.inputs["metadata"]["namespace"] == "genai-data"}
    client_ports = {name: {p["port"] for p in spec["ingress"][1]["ports"]} for name, spec in policies.items()
                    if name in ("allow-valkey", "allow-qdrant")}
    assert client_ports == {"allow-valkey": {6379}, "allow-qdrant": {6333, 6334}}


def test_eks_binds_qdrants_service_account_and_schedules_snapshots(dev):
    associations = regs(dev, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert ("genai-data", "qdrant") in {(r.inputs["namespace"], r.inputs["serviceAccount"]) for r in associations}
    assert "vector-backups" in dev.run.monitor.stack_outputs["workloadIdentities"]
    values = release(dev, qs.CHART).inputs["values"]
    s3 = values["config"]["storage"]["snapshots_config"]["s3_config"]
    assert s3["region"] == "us-east-1" and s3["bucket"] and "endpoint_url" not in s3
    job = regs(dev, "kubernetes:batch/v1:CronJob")[0].inputs
    assert job["spec"]["schedule"] == "0 3 * * *"
    env = {e["name"]: e.get("value") for e in job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RETENTION_DAYS"] == "5"
    # Scraped by default: both charts get their exporters and ServiceMonitors.
    assert values["metrics"]["serviceMonitor"]["enabled"] is True
    assert release(dev, cs.CHART).inputs["values"]["metrics"]["serviceMonitor"]["enabled"] is True


def test_onprem_snapshots_use_the_store_keys_from_a_secret_and_everything_is_protected(onprem):
    found = secrets(onprem)
    assert found["qdrant-snapshots-s3"].inputs["stringData"] == {"AWS_ACCESS_KEY_ID": "[secret]",
                                                                 "AWS_SECRET_ACCESS_KEY": "[secret]"}
    text = recorded(onprem)
    assert KEYS["objectStoreAccessKeyId"] not in text and KEYS["objectStoreSecretAccessKey"] not in text
    qdrant, valkey = release(onprem, qs.CHART), release(onprem, cs.CHART)
    assert qdrant.protect and valkey.protect
    s3 = qdrant.inputs["values"]["config"]["storage"]["snapshots_config"]["s3_config"]
    assert s3["endpoint_url"] == STORE["endpoint"] and s3["bucket"] == "genai-backups"
    assert valkey.inputs["values"]["dataStorage"]["keepPvc"] is True
    assert valkey.inputs["values"]["dataStorage"]["className"] == "rook-ceph-block"


def test_aks_milvus_uses_the_blob_container_through_workload_identity(azure):
    milvus = release(azure, ms.CHART)
    assert milvus.protect
    values = milvus.inputs["values"]
    assert values["externalS3"]["cloudProvider"] == "azure" and values["externalS3"]["useIAM"] is True
    assert values["labels"]["azure.workload.identity/use"] == "true"
    assert "azure.workload.identity/client-id" in values["serviceAccount"]["annotations"]
    assert values["standalone"]["persistence"]["persistentVolumeClaim"]["size"] == "40Gi"
    assert "vector-backups" in azure.run.monitor.stack_outputs["workloadIdentities"]
    # Milvus' image runs as root: the namespace admits it at baseline, no further.
    assert data_namespace(azure)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert secrets(azure)["milvus-root"].inputs["stringData"] == {"username": "[secret]", "password": "[secret]"}
    assert azure.run.monitor.stack_outputs["databases"]["vector"]["engine"] == "milvus"


def test_gke_runs_distributed_milvus_with_a_pdb_per_component(run):
    result = run("staging", overrides={"databases": {"vector": {"engine": "milvus", "replicas": 3}}})
    assert result.error is None, result.error
    milvus = next(r for r in result.monitor.by_type(RELEASE) if r.inputs["chart"] == ms.CHART)
    values = milvus.inputs["values"]
    assert values["cluster"] == {"enabled": True} and values["externalS3"]["cloudProvider"] == "gcp"
    assert "iam.gke.io/gcp-service-account" in values["serviceAccount"]["annotations"]
    assert yaml.safe_load(values["extraConfigFiles"]["user.yaml"])["mq"] == {"type": "woodpecker"}
    budgets = {r.inputs["metadata"]["name"] for r in result.monitor.by_type("kubernetes:policy/v1:PodDisruptionBudget")
               if r.inputs["metadata"]["namespace"] == "genai-data"}
    assert {"milvus-proxy", "milvus-querynode", "milvus-streamingnode"} <= budgets


# --- bad input ------------------------------------------------------------------------------

def problems(result) -> str:
    assert result.error, "expected a configuration error"
    assert "Traceback" not in result.error
    assert not result.monitor.registrations
    return result.error


def test_cache_and_milvus_mistakes_name_their_keys_and_fixes(run):
    err = problems(run("local", overrides={"databases": {
        "redis": {"backup": {"enabled": True}, "replicas": 1, "persistence": False, "maxMemory": "1Gi"},
        "vector": {"engine": "milvus", "replicas": 2, "replicationFactor": 2},
    }}))
    assert f"{NS}:databases.redis.backup.enabled: a cache is rebuilt from traffic" in err
    assert f"{NS}:databases.redis.persistence: read replicas need persistence" in err
    assert f"{NS}:databases.redis.maxMemory: 1Gi leaves no room below the memory limit 1Gi" in err
    assert f"{NS}:databases.vector.replicas: Milvus runs standalone (1) or distributed" in err
    assert f"{NS}:databases.vector.replicationFactor: only Qdrant replicates shards" in err
    assert f"{NS}:databases.vector.engine: Milvus keeps its data in an object store" in err


def test_pgvector_needs_postgres_and_refuses_settings_of_the_other_engines(run):
    err = problems(run("local", overrides={"databases": {
        "vector": {"engine": "pgvector", "replicas": 3, "storageGiB": 10}}}))
    assert f"{NS}:databases.vector.engine: pgvector runs inside the PostgreSQL cluster" in err
    assert f"{NS}:databases.vector.replicas: only applies to qdrant and milvus" in err
    assert f"{NS}:databases.vector.storageGiB: only applies to qdrant and milvus" in err


def test_qdrant_snapshots_are_refused_where_qdrant_cannot_write(run):
    err = problems(run("staging", overrides={"databases": {"vector": {"backup": {"enabled": True}}}}))
    assert f"{NS}:databases.vector.backup.enabled: Qdrant writes snapshots only to S3" in err
    assert "GCS" in err


def platform(databases: dict, target: str = "existing") -> PlatformConfig:
    cfg = PlatformConfig.model_validate({"databases": databases})
    return cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"target": target})})


def test_rules_checked_directly():
    vector = lambda cfg: data_vector.problems(cfg.databases.vector, cfg)  # noqa: E731
    cfg = platform({"vector": {"replicas": 2, "replicationFactor": 3}})
    assert [k for k, _ in vector(cfg)] == ["databases.vector.replicationFactor"]
    assert vector(platform({"vector": {"replicas": 3, "replicationFactor": 3}})) == []
    assert "Azure Blob" in vector(platform({"vector": {"backup": {"enabled": True}}}, "aks"))[0][1]
    assert vector(platform({"vector": {"backup": {"enabled": True}}}, "eks")) == []
    aks = vector(platform({"vector": {"engine": "milvus", "replicas": 3}}, "aks"))
    assert [k for k, m in aks if "Woodpecker" in m] == ["databases.vector.replicas"]
    assert vector(platform({"vector": {"engine": "milvus", "replicas": 3}}, "gke")) == []
    backup = vector(platform({"vector": {"engine": "milvus", "backup": {"enabled": True}}}, "eks"))
    assert [k for k, _ in backup] == ["databases.vector.backup.enabled"] and "versioning" in backup[0][1]
    no_vector_db = platform({"postgres": {"databases": [{"name": "app", "extensions": []}]},
                             "vector": {"engine": "pgvector"}})
    assert "none of databases.postgres.databases lists it" in vector(no_vector_db)[0][1]
    assert vector(platform({"postgres": {}, "vector": {"engine": "pgvector"}})) == []
    redis = platform({"redis": {"maxMemory": "800Mi", "resources": {"memory": "1Gi"}}})
    assert data_redis.problems(redis.databases.redis, redis) == []


def test_identities_follow_the_engine_and_its_backups():
    ns = "genai-data"
    assert data_vector.backup_identity(platform({"vector": {}}).databases.vector, ns) is None
    qdrant = data_vector.backup_identity(platform({"vector": {"backup": {"enabled": True}}}).databases.vector, ns)
    assert (qdrant.name, qdrant.service_account, qdrant.access) == ("vector-backups", "qdrant", "read-write")
    milvus = data_vector.backup_identity(platform({"vector": {"engine": "milvus"}}).databases.vector, ns)
    assert (milvus.name, milvus.service_account) == ("vector-backups", ms.SERVICE_ACCOUNT)
    assert data_redis.backup_identity(platform({"redis": {}}).databases.redis, ns) is None
    assert data_vector.pod_security(platform({"vector": {"engine": "milvus"}}).databases.vector) == "baseline"
    assert data_vector.pod_security(platform({"vector": {}}).databases.vector) == "restricted"
