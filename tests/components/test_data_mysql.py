"""MySQL builders: the operator's values and namespace objects, the InnoDBCluster (instances,
storage, resources, spread, metrics, backups per store), policies, PDB, ServiceMonitor and the
databases Job, each rendered object validated against the pinned schemas."""

from __future__ import annotations

import json

import pytest

from components.cluster.info import ClusterInfo, ObjectStore, StorageClasses, WorkloadIdentity
from components.common.security import Resources
from components.data import mysql_specs as ms
from components.data.common import Backup, BackupTarget, DataContext
from infra.plan.validate import REFERENCE_DIR, has_chart_reference, validate_helm_values, validate_manifest

LABELS = {"app.kubernetes.io/name": "mysql"}
S3 = ObjectStore(kind="s3", bucket="genai-dev-data", region="eu-west-1")
ONPREM = ObjectStore(kind="s3", bucket="genai-backups", region="us-east-1", endpoint="https://minio.storage.internal:9000",
                     access_key_id="AKIAEXAMPLE", secret_access_key="example-secret")


def settings(**kw) -> ms.MysqlSettings:
    base = dict(instances=3, router_instances=2, databases=("app", "rag"), storage_gib=50, storage_class="gp3",
                resources=Resources("1", "2Gi", "2", "4Gi"))
    return ms.MysqlSettings(**{**base, **kw})


def ctx(**kw) -> DataContext:
    cluster = ClusterInfo(kind="existing", name="c", provider=None, kubernetes_version="1.33", gpu_pools=(),  # type: ignore[arg-type]
                          storage=StorageClasses(rwo="gp3", rwx=None))
    return DataContext(**{"cluster": cluster, "namespace": "genai-data", "allow_from": ("tenant-a",),
                          "metrics_namespace": "monitoring", **kw})


def backup(store=S3, identity=None) -> Backup:
    return Backup(target=BackupTarget(store=store, prefix="mysql", identity=identity), schedule="30 2 * * *",
                  retention_days=14)


def crd_errors(obj: dict) -> list[str]:
    """Schema errors of a custom resource as the API server would judge it.

    The InnoDBCluster CRD declares ``metadata`` with only ``name`` and no ``apiVersion``/``kind``;
    the reference conversion closes both objects, but the API server always accepts the type
    fields and validates the rest of ObjectMeta itself. Only those findings are dropped.
    """
    prefix = f"{obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}: "
    server_owned = {f"{prefix}apiVersion: unknown field", f"{prefix}kind: unknown field",
                    *(f"{prefix}metadata.{k}: unknown field" for k in obj["metadata"] if k != "name")}
    return [e for e in validate_manifest(obj, "1.33") if e not in server_owned]


def cluster(s=None, **kw) -> dict:
    return ms.innodb_cluster("mysql", "genai-data", LABELS, s or settings(), **{"zone_spread": False, "metrics": False, **kw})


def container(pod_spec: dict, name: str, key="containers") -> dict:
    return next(c for c in pod_spec[key] if c["name"] == name)


def test_versions_are_the_ones_the_reference_data_holds():
    index = json.loads((REFERENCE_DIR / "index.json").read_text())
    chart = next(f for f in index["files"] if f["path"] == "chart-values/mysql-operator/values.yaml")
    crd = next(f for f in index["files"] if f["path"] == "crd-schemas/mysql.oracle.com/innodbcluster_v2.json")
    assert ms.OPERATOR_CHART_VERSION == chart["chart_version"]
    assert ms.OPERATOR_VERSION == chart["app_version"] == crd["ref"]
    # The server version the operator defaults to and supports at most is the app version's prefix.
    assert ms.OPERATOR_VERSION.startswith(ms.MYSQL_VERSION + "-")
    assert ms.OPERATOR_IMAGE.endswith(f"/community-operator:{ms.OPERATOR_VERSION}")


def test_operator_values_exist_in_the_chart():
    assert has_chart_reference(ms.OPERATOR_CHART)
    assert validate_helm_values(ms.OPERATOR_CHART, ms.operator_values()) == []
    assert validate_helm_values(ms.OPERATOR_CHART, {"resources": {}}) != []  # the check can fail


def test_operator_namespace_gets_defaults_and_reaches_only_the_api_and_the_servers():
    lr = ms.operator_limit_range("mysql-operator", LABELS)
    assert validate_manifest(lr, "1.33") == []
    limit = lr["spec"]["limits"][0]
    assert limit["type"] == "Container" and limit["defaultRequest"] and limit["default"]["memory"] == "512Mi"
    policies = {p["metadata"]["name"]: p for p in ms.operator_namespace_policies(settings(), "genai-data", LABELS)}
    assert set(policies) == {"allow-egress-api-server", "allow-egress-instances"}
    egress = policies["allow-egress-instances"]["spec"]["egress"][0]
    assert egress["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "genai-data"}}}]
    assert [p["port"] for p in egress["ports"]] == [3306, 33060]
    for p in policies.values():
        assert p["metadata"]["namespace"] == "mysql-operator"
        assert validate_manifest(p, "1.33") == []


def test_cluster_sizes_storage_instances_routers_and_credentials():
    ic = cluster()
    assert crd_errors(ic) == []
    spec = ic["spec"]
    assert (spec["instances"], spec["router"]["instances"]) == (3, 2)
    assert spec["version"] == ms.MYSQL_VERSION and spec["tlsUseSelfSigned"] is True
    assert spec["secretName"] == "mysql-root"
    assert spec["serviceAccountName"] == ms.service_account("mysql") == "mysql-sidecar-sa"
    assert spec["datadirVolumeClaimTemplate"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                                                  "resources": {"requests": {"storage": "50Gi"}}}
    assert spec["service"]["defaultPort"] == "mysql-rw"
    assert "metrics" not in spec and "backupProfiles" not in spec and "backupSchedules" not in spec
    assert ms.innodb_cluster("mysql", "genai-data", LABELS, settings(existing_secret="db-creds"), zone_spread=False,
                             metrics=False)["spec"]["secretName"] == "db-creds"


def test_server_and_router_pods_get_resources_seccomp_and_no_root_init_container():
    spec = cluster()["spec"]
    pod = spec["podSpec"]
    assert spec["datadirPermissions"]["setRightsUsingInitContainer"] is False
    assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    mysql = container(pod, "mysql")["resources"]
    assert mysql == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert container(pod, "sidecar")["resources"] == ms.SIDECAR_RESOURCES.to_k8s()
    assert container(pod, "initconf", "initContainers")["resources"] == ms.SIDECAR_RESOURCES.to_k8s()
    assert container(pod, "initmysql", "initContainers")["resources"] == mysql
    assert {c["name"] for c in pod["containers"]} == {"mysql", "sidecar"}
    router = spec["router"]["podSpec"]
    assert router["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container(router, "router")["resources"] == ms.ROUTER_RESOURCES.to_k8s()
    for res in [c["resources"] for c in pod["containers"] + pod["initContainers"] + router["containers"]]:
        assert res["requests"] and res["limits"]


@pytest.mark.parametrize("zone_spread", [False, True])
def test_servers_and_routers_spread_across_nodes_and_zones_when_asked(zone_spread):
    spec = cluster(zone_spread=zone_spread)["spec"]
    for pod, component in ((spec["podSpec"], "mysqld"), (spec["router"]["podSpec"], "mysqlrouter")):
        constraints = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
        selector = {"component": component, "tier": "mysql", "mysql.oracle.com/cluster": "mysql"}
        assert constraints["kubernetes.io/hostname"]["labelSelector"]["matchLabels"] == selector
        assert constraints["kubernetes.io/hostname"]["whenUnsatisfiable"] == "ScheduleAnyway"
        if zone_spread:
            assert constraints["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "DoNotSchedule"
        else:
            assert "topology.kubernetes.io/zone" not in constraints


def test_metrics_switch_on_the_exporter_sidecar_without_the_operators_monitor():
    spec = cluster(metrics=True)["spec"]
    assert spec["metrics"] == {"enable": True, "image": ms.EXPORTER_IMAGE, "monitor": False}
    assert container(spec["podSpec"], "metrics")["resources"] == ms.EXPORTER_RESOURCES.to_k8s()
    assert crd_errors(cluster(metrics=True)) == []


def test_eks_backups_dump_to_the_bucket_with_the_pod_identity_and_the_stack_schedule():
    identity = WorkloadIdentity(name="mysql-backups", namespace="genai-data", service_account="mysql-sidecar-sa")
    ic = cluster(settings(backup=backup(S3, identity)), backup_labels=ms.backup_pod_labels("mysql", {}))
    assert crd_errors(ic) == []
    profile, = ic["spec"]["backupProfiles"]
    schedule, = ic["spec"]["backupSchedules"]
    assert profile["dumpInstance"]["storage"] == {"s3": {"bucketName": "genai-dev-data", "prefix": "mysql",
                                                         "config": "mysql-backup-s3"}}
    assert profile["podLabels"] == {ms.BACKUP_POD_LABEL: "mysql"}
    assert schedule["schedule"] == "30 2 * * *" and schedule["backupProfileName"] == profile["name"]
    assert schedule["enabled"] is True and schedule["deleteBackupData"] is False
    assert ms.aws_config_file("eu-west-1") == "[default]\nregion = eu-west-1\n"


def test_on_prem_backups_use_the_store_endpoint_and_static_keys():
    s3 = ms.backup_storage("mysql", BackupTarget(store=ONPREM, prefix="/mysql/"))["s3"]
    assert s3 == {"bucketName": "genai-backups", "prefix": "mysql", "config": "mysql-backup-s3",
                  "endpoint": "https://minio.storage.internal:9000"}
    creds = ms.aws_credentials_file("AKIAEXAMPLE", "example-secret")
    assert creds.splitlines() == ["[default]", "aws_access_key_id = AKIAEXAMPLE",
                                  "aws_secret_access_key = example-secret"]


def test_identity_pod_labels_reach_the_backup_pods():
    labels = ms.backup_pod_labels("mysql", {"azure.workload.identity/use": "true"})
    ic = cluster(settings(backup=backup()), backup_labels=labels)
    assert ic["spec"]["backupProfiles"][0]["podLabels"] == {ms.BACKUP_POD_LABEL: "mysql",
                                                             "azure.workload.identity/use": "true"}


@pytest.mark.parametrize("kind", ["gcs", "azure-blob"])
def test_stores_mysql_shell_cannot_write_are_refused(kind):
    with pytest.raises(ValueError, match=kind):
        ms.backup_storage("mysql", BackupTarget(store=ObjectStore(kind=kind, bucket="b", region="r"), prefix="mysql"))


def test_network_policy_opens_client_ports_to_the_right_peers():
    policies = ms.network_policies("mysql", ctx(), LABELS, settings(allow_from=("rag-app",)), metrics=True)
    assert len(policies) == 1
    policy = policies[0]
    assert validate_manifest(policy, "1.33") == []
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"] == {"tier": "mysql", "mysql.oracle.com/cluster": "mysql"}
    own, clients, operator, metrics = spec["ingress"]
    assert own == {"from": [{"podSelector": spec["podSelector"]}]}
    assert [p["port"] for p in clients["ports"]] == [3306, 33060, 6446, 6447, 6448, 6449, 6450]
    peers = [p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
             for p in clients["from"]]
    assert peers == [None, "rag-app", "tenant-a"]          # the data namespace itself, then allowed ones
    assert operator["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "mysql-operator"
    assert [p["port"] for p in operator["ports"]] == [3306, 33060]
    assert [p["port"] for p in metrics["ports"]] == [9104]


def test_without_routers_or_metrics_their_ports_stay_closed():
    policy, = ms.network_policies("mysql", ctx(), LABELS, settings(instances=1, router_instances=0), metrics=False)
    rules = policy["spec"]["ingress"]
    assert [p["port"] for p in rules[1]["ports"]] == [3306, 33060]
    assert all(9104 not in [p["port"] for p in r.get("ports", [])] for r in rules)


def test_pod_identity_backups_may_reach_the_agent_only_from_backup_pods():
    assert len(ms.network_policies("mysql", ctx(), LABELS, settings(pod_identity_agent=True), metrics=False)) == 1
    policies = ms.network_policies("mysql", ctx(), LABELS, settings(backup=backup(), pod_identity_agent=True),
                                   metrics=False)
    agent = policies[1]
    assert validate_manifest(agent, "1.33") == []
    assert agent["spec"]["podSelector"] == {"matchLabels": {ms.BACKUP_POD_LABEL: "mysql"}}
    rule, = agent["spec"]["egress"]
    assert [t["ipBlock"]["cidr"] for t in rule["to"]] == ["169.254.170.23/32", "fd00:ec2::23/128"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 80}]


def test_router_pdb_and_service_monitor():
    pdb = ms.router_pdb("mysql", "genai-data", LABELS)
    assert validate_manifest(pdb, "1.33") == []
    assert pdb["spec"]["selector"]["matchLabels"]["component"] == "mysqlrouter"
    sm = ms.service_monitor("mysql", "genai-data", LABELS, {"release": "prometheus"})
    assert validate_manifest(sm, "1.33") == []
    assert sm["metadata"]["labels"] == {**LABELS, "release": "prometheus"}
    assert sm["spec"]["selector"]["matchLabels"]["mysql.oracle.com/instance-type"] == "group-member"
    assert sm["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics"}]


def test_app_secrets_generated_or_from_an_existing_secret():
    assert ms.app_secret("mysql", settings(), "rag") == ("mysql-user-rag", {
        "username": "username", "password": "password", "database": "database"})
    assert ms.app_secret("mysql", settings(existing_secret="db-creds"), "rag") == ("db-creds", {
        "username": "rag-username", "password": "rag-password"})


def test_databases_job_is_hardened_and_reads_every_credential_from_secrets():
    job = ms.databases_job("mysql", "genai-data", LABELS, settings(), host="mysql.genai-data.svc.cluster.local",
                           port=3306)
    assert validate_manifest(job, "1.33") == []
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    c, = pod["containers"]
    assert c["image"] == ms.OPERATOR_IMAGE
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"] and sc["capabilities"] == {"drop": ["ALL"]}
    assert c["resources"]["limits"] and c["resources"]["requests"]
    env = {e["name"]: e for e in c["env"]}
    assert env["DATABASES"]["value"] == "app,rag"
    assert env["ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "mysql-root", "key": "rootPassword"}
    assert env["PASSWORD_1"]["valueFrom"]["secretKeyRef"] == {"name": "mysql-user-rag", "key": "password"}
    assert env["USER_0"]["valueFrom"]["secretKeyRef"] == {"name": "mysql-user-app", "key": "username"}
    assert all("value" not in e for n, e in env.items() if "PASSWORD" in n or n.startswith("USER_"))


def test_databases_job_runs_again_when_the_list_changes_and_follows_an_existing_secret():
    a = ms.databases_job("mysql", "genai-data", LABELS, settings(), host="h", port=3306)
    b = ms.databases_job("mysql", "genai-data", LABELS, settings(databases=("app",)), host="h", port=3306)
    assert a["metadata"]["name"] != b["metadata"]["name"]
    assert a["metadata"]["name"] == ms.databases_job("mysql", "genai-data", LABELS, settings(), host="h",
                                                     port=3306)["metadata"]["name"]
    c = ms.databases_job("mysql", "genai-data", LABELS, settings(existing_secret="db-creds"), host="h", port=3306)
    env = {e["name"]: e for e in c["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ROOT_USER"]["valueFrom"]["secretKeyRef"] == {"name": "db-creds", "key": "rootUser"}
    assert env["USER_1"]["valueFrom"]["secretKeyRef"] == {"name": "db-creds", "key": "rag-username"}


def test_init_script_is_valid_python_binding_every_value():
    compile(ms.INIT_SCRIPT, "init", "exec")
    statements = [line.strip() for line in ms.INIT_SCRIPT.splitlines() if "run_sql(" in line]
    assert len(statements) == 4
    # Names and passwords only ever travel as bound parameters, never formatted into the SQL text.
    for statement in statements:
        assert "%" not in statement.replace("'%'", "") and "format" not in statement and "+" not in statement
        assert statement.endswith(("[db])", "[user, password])", "[db, user])"))
