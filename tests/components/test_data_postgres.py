"""PostgreSQL on CloudNativePG: the pure builders (operator values, Cluster, Database,
ScheduledBackup, Pooler, PodMonitors, NetworkPolicies), each rendered object schema-validated."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from components.common.security import Resources
from components.data.common import DataContext
from components.data.postgres_access import (
    identity_egress,
    network_policies,
    operator_network_policies,
    pod_monitors,
    pooler,
    pooler_pdb,
)
from components.data.postgres_specs import (
    IMAGES,
    OPERATOR_CHART,
    BackupSettings,
    DatabaseSpec,
    PoolerSettings,
    PostgresSettings,
    cluster,
    cnpg_schedule,
    database,
    operator_values,
    owner_secret,
    scheduled_backup,
)
from infra.plan.validate import REFERENCE_DIR, has_chart_reference, validate_helm_values, validate_manifest

RES = Resources(cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi")


def settings(**kw) -> PostgresSettings:
    base = dict(name="postgres", namespace="genai-data", version="17", instances=3,
                databases=(DatabaseSpec("app", "app"),), storage_gib=50, storage_class="gp3", resources=RES)
    return PostgresSettings(**{**base, **kw})


def ctx(metrics_namespace="monitoring", allow_from=("tenant-a",)) -> DataContext:
    # The policy builders only read the namespaces; no cluster is needed.
    return DataContext(cluster=None, namespace="genai-data", allow_from=allow_from,  # type: ignore[arg-type]
                       metrics_namespace=metrics_namespace)


S3_IDENTITY = BackupSettings(destination="s3://bucket/postgres", store_kind="s3", schedule="0 3 * * *",
                             retention_days=14, region="eu-west-1", workload_identity=True)
IRSA = dataclasses.replace(S3_IDENTITY, sa_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/pg"})
GCS = BackupSettings(destination="gs://bucket/postgres", store_kind="gcs", schedule="30 1 * * 0", retention_days=7,
                     workload_identity=True,
                     sa_annotations={"iam.gke.io/gcp-service-account": "pg@p.iam.gserviceaccount.com"})
AZURE = BackupSettings(destination="https://acct.blob.core.windows.net/platform/postgres", store_kind="azure-blob",
                       schedule="0 2 * * *", retention_days=30, workload_identity=True,
                       sa_annotations={"azure.workload.identity/client-id": "0000-1111"},
                       pod_labels={"azure.workload.identity/use": "true"})
MINIO = BackupSettings(destination="s3://genai-backups/postgres", store_kind="s3", schedule="0 3 * * *",
                       retention_days=14, region="us-east-1", endpoint="https://minio.storage.internal:9000",
                       keys_secret="postgres-backup-s3")


def valid(obj: dict) -> dict:
    assert validate_manifest(obj, "1.33") == [], validate_manifest(obj, "1.33")
    return obj


# --- operator -----------------------------------------------------------------------------

def test_operator_values_exist_in_the_chart_and_set_resources_and_crds():
    assert has_chart_reference(OPERATOR_CHART)
    values = operator_values(True, {"release": "kube-prometheus-stack"})
    assert validate_helm_values(OPERATOR_CHART, values) == []
    # The chart treats `monitoring` as a dependency's values key (open to the key walk), so
    # check those keys against the chart's defaults directly.
    defaults = yaml.safe_load((REFERENCE_DIR / "chart-values" / OPERATOR_CHART / "values.yaml").read_text())
    assert set(values["monitoring"]) <= set(defaults["monitoring"])
    assert values["crds"] == {"create": True}
    assert values["resources"]["requests"] and values["resources"]["limits"]
    assert values["monitoring"] == {"podMonitorEnabled": True,
                                    "podMonitorAdditionalLabels": {"release": "kube-prometheus-stack"}}


def test_operator_pod_monitor_follows_the_setting():
    off = operator_values(False, {"release": "x"})
    assert off["monitoring"] == {"podMonitorEnabled": False}
    assert validate_helm_values(OPERATOR_CHART, off) == []


def test_operator_namespace_policies():
    policies = {p["metadata"]["name"]: p for p in operator_network_policies(settings(), "genai-data", "monitoring")}
    assert all(p["metadata"]["namespace"] == "cnpg-system" for p in policies.values())
    (egress,) = policies["allow-egress-instances"]["spec"]["egress"]
    assert egress["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "genai-data"}}}]
    assert {p["port"] for p in egress["ports"]} == {8000, 5432}
    assert policies["allow-webhooks"]["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 9443}]}]
    assert policies["allow-metrics"]["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    unscraped = {p["metadata"]["name"] for p in operator_network_policies(settings(), "genai-data", None)}
    assert "allow-metrics" not in unscraped
    for p in policies.values():
        valid(p)


# --- cluster ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["16", "17", "18"])
def test_image_is_a_pinned_minor_of_the_major_with_pgvector(version):
    image = valid(cluster(settings(version=version)))["spec"]["imageName"]
    assert image == IMAGES[version]
    tag = image.rsplit(":", 1)[1]
    major, minor = tag.split("-")[0].split(".")
    assert major == version and minor.isdigit()
    # `system` = `standard` (pgvector) + the Barman Cloud binaries the in-tree backups run.
    assert tag.endswith("-system-trixie")


def test_cluster_sizing_storage_and_parameters():
    s = settings(instances=3, wal_storage_gib=10, storage_class="fast-rwo", parameters={"shared_buffers": "1GB"})
    spec = valid(cluster(s))["spec"]
    assert spec["instances"] == 3
    assert spec["storage"] == {"size": "50Gi", "storageClass": "fast-rwo"}
    assert spec["walStorage"] == {"size": "10Gi", "storageClass": "fast-rwo"}
    assert spec["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert spec["postgresql"] == {"parameters": {"shared_buffers": "1GB"}}
    assert spec["enableSuperuserAccess"] is False
    plain = cluster(settings())["spec"]
    assert "walStorage" not in plain and "postgresql" not in plain and "backup" not in plain


def test_pdb_only_with_several_instances():
    assert cluster(settings(instances=3))["spec"]["enablePDB"] is True
    assert valid(cluster(settings(instances=1)))["spec"]["enablePDB"] is False


def test_instances_spread_over_nodes_and_zones_when_asked():
    spec = cluster(settings())["spec"]
    (nodes,) = spec["topologySpreadConstraints"]
    assert nodes["topologyKey"] == "kubernetes.io/hostname" and nodes["whenUnsatisfiable"] == "ScheduleAnyway"
    assert nodes["labelSelector"]["matchLabels"] == {"cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance"}
    assert spec["affinity"]["enablePodAntiAffinity"] is True
    zoned = valid(cluster(settings(zone_spread=True)))["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in zoned] == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    assert zoned[1]["whenUnsatisfiable"] == "DoNotSchedule"


def test_first_owner_bootstraps_and_other_owners_are_managed_roles():
    s = settings(databases=(DatabaseSpec("app", "app"), DatabaseSpec("rag", "rag-owner"), DatabaseSpec("docs", "app")))
    spec = valid(cluster(s))["spec"]
    assert spec["bootstrap"]["initdb"] == {"database": "app", "owner": "app", "secret": {"name": "postgres-app"}}
    assert spec["managed"]["roles"] == [{"name": "rag-owner", "ensure": "present", "login": True, "inherit": True,
                                         "passwordSecret": {"name": "postgres-rag-owner"}}]
    assert "managed" not in cluster(settings())["spec"]
    meta = owner_secret(s, "rag-owner")
    assert meta["name"] == "postgres-rag-owner" and meta["labels"]["cnpg.io/reload"] == "true"


def test_existing_secret_replaces_the_first_owners_secret():
    s = settings(existing_secret="pg-app-credentials")
    assert cluster(s)["spec"]["bootstrap"]["initdb"]["secret"] == {"name": "pg-app-credentials"}
    assert s.secret_name("app") == "pg-app-credentials"


def test_each_database_is_a_database_object_with_its_extensions():
    db = valid(database(settings(), DatabaseSpec("rag", "rag-owner", ("vector", "pg_trgm"))))
    assert db["metadata"] == {"name": "postgres-rag", "namespace": "genai-data", "labels": db["metadata"]["labels"]}
    spec = db["spec"]
    assert spec["cluster"] == {"name": "postgres"} and spec["name"] == "rag" and spec["owner"] == "rag-owner"
    assert spec["extensions"] == [{"name": "vector", "ensure": "present"}, {"name": "pg_trgm", "ensure": "present"}]
    assert spec["databaseReclaimPolicy"] == "retain"


# --- backups ------------------------------------------------------------------------------

def store_of(spec: dict) -> dict:
    return spec["backup"]["barmanObjectStore"]


def test_s3_with_eks_pod_identity_inherits_the_role():
    spec = valid(cluster(settings(), S3_IDENTITY))["spec"]
    store = store_of(spec)
    assert store["destinationPath"] == "s3://bucket/postgres" and store["serverName"] == "postgres"
    assert store["s3Credentials"] == {"inheritFromIAMRole": True}
    assert store["wal"] == {"compression": "gzip"} and store["data"] == {"compression": "gzip"}
    assert spec["backup"]["retentionPolicy"] == "14d"
    assert spec["env"] == [{"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"}]
    # Pod Identity binds by service account name: nothing to annotate.
    assert "serviceAccountTemplate" not in spec and "inheritedMetadata" not in spec


def test_s3_with_irsa_annotates_the_service_account():
    spec = valid(cluster(settings(), IRSA))["spec"]
    assert spec["serviceAccountTemplate"] == {
        "metadata": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/pg"}}}


def test_gcs_uses_the_gke_environment_and_the_gsa_annotation():
    spec = valid(cluster(settings(), GCS))["spec"]
    store = store_of(spec)
    assert store["googleCredentials"] == {"gkeEnvironment": True} and "s3Credentials" not in store
    assert store["destinationPath"] == "gs://bucket/postgres"
    assert spec["serviceAccountTemplate"]["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": "pg@p.iam.gserviceaccount.com"}
    assert spec["backup"]["retentionPolicy"] == "7d" and "env" not in spec


def test_azure_inherits_from_azure_ad_and_labels_the_pods():
    spec = valid(cluster(settings(), AZURE))["spec"]
    assert store_of(spec)["azureCredentials"] == {"inheritFromAzureAD": True}
    assert store_of(spec)["destinationPath"] == "https://acct.blob.core.windows.net/platform/postgres"
    assert spec["inheritedMetadata"] == {"labels": {"azure.workload.identity/use": "true"}}
    assert spec["serviceAccountTemplate"]["metadata"]["annotations"] == {"azure.workload.identity/client-id": "0000-1111"}


def test_s3_compatible_store_uses_the_keys_secret_and_endpoint():
    spec = valid(cluster(settings(), MINIO))["spec"]
    store = store_of(spec)
    assert store["endpointURL"] == "https://minio.storage.internal:9000"
    assert store["s3Credentials"] == {
        "accessKeyId": {"name": "postgres-backup-s3", "key": "ACCESS_KEY_ID"},
        "secretAccessKey": {"name": "postgres-backup-s3", "key": "ACCESS_SECRET_KEY"},
    }
    assert "serviceAccountTemplate" not in spec


@pytest.mark.parametrize("cron, expected", [("0 3 * * *", "0 0 3 * * *"), ("30 1 * * 0", "0 30 1 * * 0")])
def test_scheduled_backup_gets_a_seconds_field(cron, expected):
    assert cnpg_schedule(cron) == expected
    sb = valid(scheduled_backup(settings(), dataclasses.replace(GCS, schedule=cron)))
    assert sb["spec"]["schedule"] == expected
    assert sb["spec"]["cluster"] == {"name": "postgres"} and sb["spec"]["method"] == "barmanObjectStore"


# --- pooler, monitors, policies -----------------------------------------------------------

POOLED = settings(pooler=PoolerSettings(enabled=True, instances=3, pool_mode="session", max_client_connections=500,
                                        default_pool_size=10), zone_spread=True)


def test_pooler_settings_resources_and_spread():
    p = valid(pooler(POOLED))
    spec = p["spec"]
    assert p["metadata"]["name"] == "postgres-pooler-rw"
    assert spec["cluster"] == {"name": "postgres"} and spec["type"] == "rw" and spec["instances"] == 3
    assert spec["pgbouncer"] == {"poolMode": "session",
                                 "parameters": {"max_client_conn": "500", "default_pool_size": "10"}}
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    (init,) = pod["initContainers"]
    assert container["name"] == "pgbouncer" and init["name"] == "bootstrap-controller"
    for c in (container, init):
        assert c["resources"]["requests"] and c["resources"]["limits"]
    keys = [t["topologyKey"] for t in pod["topologySpreadConstraints"]]
    assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    assert pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"] == {
        "cnpg.io/poolerName": "postgres-pooler-rw"}


def test_pooler_pdb_only_with_several_pooler_instances():
    pdb = valid(pooler_pdb(POOLED))
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": {"cnpg.io/poolerName": "postgres-pooler-rw"}}}
    single = dataclasses.replace(POOLED, pooler=dataclasses.replace(POOLED.pooler, instances=1))
    assert pooler_pdb(single) is None


def test_pod_monitors_select_instances_and_pooler_with_extra_labels():
    monitors = {m["metadata"]["name"]: valid(m) for m in pod_monitors(POOLED, {"release": "prom"})}
    assert set(monitors) == {"postgres", "postgres-pooler-rw"}
    inst = monitors["postgres"]
    assert inst["spec"]["selector"]["matchLabels"] == {"cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance"}
    assert inst["spec"]["podMetricsEndpoints"] == [{"port": "metrics"}]
    assert inst["metadata"]["labels"]["release"] == "prom"
    assert monitors["postgres-pooler-rw"]["spec"]["selector"]["matchLabels"] == {"cnpg.io/poolerName": "postgres-pooler-rw"}
    assert [m["metadata"]["name"] for m in pod_monitors(settings(), {})] == ["postgres"]


def rule_for(policy: dict, port: int) -> list[dict]:
    return [r for r in policy["spec"]["ingress"] if {"protocol": "TCP", "port": port} in r.get("ports", [])]


def test_instance_policy_ports_and_peers():
    s = dataclasses.replace(POOLED, allow_from=("rag-app",))
    policies = {p["metadata"]["name"]: valid(p) for p in network_policies(s, ctx())}
    assert set(policies) == {"allow-postgres", "allow-postgres-pooler-rw"}
    inst = policies["allow-postgres"]
    assert inst["spec"]["podSelector"]["matchLabels"] == {"cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance"}
    (clients,) = rule_for(inst, 5432)[:1]
    peers = [p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
             for p in clients["from"]]
    assert peers == [None, "rag-app", "tenant-a"]   # the data namespace's pods, then the allowed namespaces
    (status,) = rule_for(inst, 8000)
    assert status["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}}}]
    assert {"protocol": "TCP", "port": 5432} in status["ports"]
    (metrics,) = rule_for(inst, 9187)
    assert metrics["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    pool = policies["allow-postgres-pooler-rw"]
    assert pool["spec"]["podSelector"]["matchLabels"] == {"cnpg.io/poolerName": "postgres-pooler-rw"}
    assert rule_for(pool, 5432) and rule_for(pool, 9127) and not rule_for(pool, 8000)


def test_no_metrics_rule_without_a_scraper():
    (inst,) = network_policies(settings(), ctx(metrics_namespace=None))
    assert not rule_for(inst, 9187)


@pytest.mark.parametrize("kind, cidr", [("eks", "169.254.170.23/32"), ("gke", "169.254.169.254/32")])
def test_backup_identity_egress_on_eks_and_gke(kind, cidr):
    egress = valid(identity_egress(settings(), kind))
    assert egress["spec"]["podSelector"]["matchLabels"]["cnpg.io/podRole"] == "instance"
    assert egress["spec"]["egress"] == [{"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": 80}]}]
    names = [p["metadata"]["name"] for p in network_policies(settings(), ctx(), kind)]
    assert "allow-postgres-backup-identity" in names


def test_no_identity_egress_on_aks_or_with_static_keys():
    assert identity_egress(settings(), "aks") is None
    assert [p["metadata"]["name"] for p in network_policies(settings(), ctx(), None)] == ["allow-postgres"]
