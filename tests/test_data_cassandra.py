"""``databases.cassandra`` as the program wires it, under the recording mocks: the operator and
cert-manager releases, the K8ssandraCluster and Medusa on every kind of store, secrets kept
secret, protection, exports, and bad input reported by key."""

from __future__ import annotations

import hashlib
import json
from typing import Optional

import pytest
from stack_overrides import isolate_pools

from infra.plan.render import HELM_RELEASE, is_manifest, release_of
from infra.plan.runner import RunResult, load_stack_config, run_program
from infra.plan.validate import validate_helm_values, validate_manifest

NS = "genai-data"
SIZED = {"resources": {"cpu": "1", "memory": "4Gi"}}
BACKUP = {"enabled": True, "schedule": "30 2 * * *", "retentionDays": 7}
KEYS = {"objectStoreAccessKeyId": "AKIACASSANDRA0001", "objectStoreSecretAccessKey": "store-secret-cassandra-0001"}
STORE = {"endpoint": "https://minio.storage.internal:9000", "bucket": "genai-backups"}
PASSWORD = "plan-" + hashlib.sha256(b"cassandra-superuser-password").hexdigest()[:24]
# No reference schema for this kind; its spec is checked against the Go types in the unit tests.
SCHEMALESS = {"MedusaBackupSchedule"}


def run(stack: str, databases: dict, secrets: Optional[dict] = None, **extra) -> RunResult:
    overrides = {"databases": databases, **extra}
    return run_program(load_stack_config(stack, overrides=isolate_pools(overrides, stack), secrets=secrets))


def ok(result: RunResult) -> RunResult:
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def local():
    return ok(run("local", {"serviceMonitors": False, "cassandra": {**SIZED, "size": 1, "allowFrom": ["rag"]}}))


@pytest.fixture(scope="module")
def dev():
    return ok(run("dev", {"cassandra": {**SIZED, "backup": BACKUP}}))


@pytest.fixture(scope="module")
def staging():
    return ok(run("staging", {"cassandra": {**SIZED, "backup": BACKUP}}))


@pytest.fixture(scope="module")
def onprem():
    return ok(run("onprem", {"cassandra": {**SIZED, "backup": {"enabled": True},
                                           "credentials": {"existingSecret": "cassandra-admin"}}},
                  secrets=KEYS, objectStore=STORE))


def kind(result: RunResult, k: str) -> list:
    return [r for r in result.monitor.registrations if r.type.startswith("kubernetes:") and r.type.endswith(f":{k}")]


def one(result: RunResult, k: str):
    found = kind(result, k)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def release(result: RunResult, chart: str):
    (reg,) = [r for r in result.monitor.by_type(HELM_RELEASE) if r.inputs.get("chart") == chart]
    return reg


def datacenter(result: RunResult) -> dict:
    (dc,) = one(result, "K8ssandraCluster").inputs["spec"]["cassandra"]["datacenters"]
    return dc


def medusa(result: RunResult) -> dict:
    return one(result, "K8ssandraCluster").inputs["spec"]["medusa"]


def named(result: RunResult, k: str, name: str):
    (reg,) = [r for r in kind(result, k) if r.inputs["metadata"]["name"] == name]
    return reg


def test_local_cluster_wiring(local):
    kc = one(local, "K8ssandraCluster")
    assert kc.inputs["metadata"]["namespace"] == NS and kc.provider
    assert not kc.protect, "the local stack protects nothing"
    dc = datacenter(local)
    assert dc["size"] == 1 and dc["racks"] == [{"name": "rack1"}], "a laptop has no zones"
    assert dc["storageConfig"]["cassandraDataVolumeClaimSpec"]["storageClassName"] == "standard"
    assert dc["resources"]["limits"] == {"cpu": "1", "memory": "4Gi"}
    assert "medusa" not in kc.inputs["spec"] and not kind(local, "MedusaBackupSchedule")
    urns = {r.name: r.urn for r in local.monitor.registrations}
    op = release(local, "k8ssandra-operator")
    assert {urns["data-ns"], op.urn, urns["cassandra-superuser"], urns["cassandra-sa"]} <= set(kc.dependencies)
    assert release(local, "cert-manager").urn in op.dependencies, "the operator's webhook certificates need cert-manager"
    assert op.inputs["namespace"] == "k8ssandra-operator" and op.inputs["version"] == "1.32.5"
    assert op.inputs["repositoryOpts"]["repo"] == "https://helm.k8ssandra.io/stable"


def test_every_kubernetes_resource_has_the_cluster_provider(local):
    for reg in local.monitor.registrations:
        if reg.custom and reg.type.startswith("kubernetes:"):
            assert reg.provider, reg.urn


def test_rendered_objects_and_values_validate(local, dev, onprem):
    for result in (local, dev, onprem):
        for reg in result.monitor.registrations:
            if reg.type == HELM_RELEASE and reg.inputs.get("chart") in ("k8ssandra-operator", "cert-manager"):
                rel = release_of(reg)
                assert validate_helm_values(rel["chart"], rel["values"]) == []
            elif is_manifest(reg) and reg.inputs["kind"] not in SCHEMALESS:
                assert validate_manifest(reg.inputs, "1.33") == [], reg.urn


def test_no_monitoring_objects_or_telemetry_without_service_monitors(local):
    assert not [r for r in local.monitor.registrations if "monitoring.coreos.com" in r.type]
    assert "telemetry" not in datacenter(local)
    values = release(local, "cert-manager").inputs["values"]
    assert values["prometheus"] == {"enabled": False}


def test_pod_security_of_the_namespaces(local):
    labels = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"] for r in kind(local, "Namespace")}
    assert labels[NS]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["k8ssandra-operator"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["cert-manager"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_network_policies(local):
    ingress = named(local, "NetworkPolicy", "allow-cassandra").inputs["spec"]
    ports = {tuple(p["port"] for p in r.get("ports", [])) for r in ingress["ingress"]}
    assert ports == {(), (9042,), (8080, 9042)}, "no Medusa gRPC without backups, no metrics scrape when off"
    clients = next(r["from"] for r in ingress["ingress"] if [p["port"] for p in r.get("ports", [])] == [9042])
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "rag"}}} in clients
    op_ns = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in kind(local, "NetworkPolicy")
             if r.inputs["metadata"]["namespace"] == "k8ssandra-operator"}
    assert op_ns["allow-webhooks"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 9443}]}]
    (to_data,) = op_ns["allow-egress-instances"]["egress"]
    assert to_data["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}}}]
    assert [p["port"] for p in to_data["ports"]] == [8080, 9042]


def test_generated_password_stays_secret(local):
    secret = named(local, "Secret", "cassandra-superuser").inputs
    assert secret["stringData"] == {"username": "[secret]", "password": "[secret]"}
    recorded = json.dumps([r.to_json() for r in local.monitor.registrations])
    assert PASSWORD not in recorded and '"plan-' not in recorded
    assert PASSWORD not in json.dumps(local.monitor.stack_outputs)


def test_endpoint_export(local):
    ep = local.monitor.stack_outputs["databases"]["cassandra"]
    assert ep == {"engine": "cassandra", "host": f"cassandra-dc1-service.{NS}.svc.cluster.local", "port": 9042,
                  "secretName": "cassandra-superuser", "secretNamespace": NS,
                  "secretKeys": {"username": "username", "password": "password"}, "datacenter": "dc1"}


def test_eks_backups_to_s3_with_pod_identity(dev):
    props = medusa(dev)["storageProperties"]
    bucket = dev.monitor.stack_outputs["objectStore"]["bucket"]
    assert props == {"storageProvider": "s3", "bucketName": bucket, "prefix": "cassandra", "region": "us-east-1",
                     "credentialsType": "role-based", "maxBackupAge": 7}
    identity = dev.monitor.stack_outputs["workloadIdentities"]["cassandra-backups"]
    assert (identity["namespace"], identity["serviceAccount"]) == (NS, "cassandra")
    assert datacenter(dev)["serviceAccount"] == "cassandra"
    assert named(dev, "ServiceAccount", "cassandra").inputs["automountServiceAccountToken"] is False
    schedule = one(dev, "MedusaBackupSchedule").inputs
    assert schedule["spec"]["cronSchedule"] == "30 2 * * *"
    assert schedule["spec"]["backupSpec"]["cassandraDatacenter"] == "dc1"
    assert one(dev, "K8ssandraCluster").urn in one(dev, "MedusaBackupSchedule").dependencies
    egress = named(dev, "NetworkPolicy", "allow-cassandra-identity").inputs["spec"]["egress"]
    assert egress[0]["to"] == [{"ipBlock": {"cidr": "169.254.170.23/32"}}]


def test_eks_racks_and_telemetry(dev):
    dc = datacenter(dev)
    zones = [r["nodeAffinityLabels"]["topology.kubernetes.io/zone"] for r in dc["racks"]]
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"] and dc["size"] == 3
    assert dc["telemetry"] == {"prometheus": {"enabled": True}}
    ingress = named(dev, "NetworkPolicy", "allow-cassandra").inputs["spec"]["ingress"]
    assert {tuple(p["port"] for p in r.get("ports", [])) for r in ingress} >= {(8080, 9042, 50051), (9000,)}


def test_gke_backups_to_gcs_with_workload_identity(staging):
    props = medusa(staging)["storageProperties"]
    assert props["storageProvider"] == "google_storage" and props["credentialsType"] == "role-based"
    assert props["bucketName"] == staging.monitor.stack_outputs["objectStore"]["bucket"]
    annotations = named(staging, "ServiceAccount", "cassandra").inputs["metadata"]["annotations"]
    assert annotations["iam.gke.io/gcp-service-account"].endswith(".iam.gserviceaccount.com")
    egress = named(staging, "NetworkPolicy", "allow-cassandra-identity").inputs["spec"]["egress"]
    assert egress[0]["to"] == [{"ipBlock": {"cidr": "169.254.169.254/32"}}]


def test_onprem_backups_to_s3_compatible_store_with_static_keys(onprem):
    props = medusa(onprem)["storageProperties"]
    assert props["storageProvider"] == "s3_compatible" and props["bucketName"] == "genai-backups"
    assert (props["host"], props["port"], props["secure"]) == ("minio.storage.internal", 9000, True)
    assert props["storageSecretRef"] == {"name": "cassandra-medusa-bucket"}
    secret = named(onprem, "Secret", "cassandra-medusa-bucket").inputs
    assert secret["stringData"] == {"credentials": "[secret]"}
    recorded = json.dumps([r.to_json() for r in onprem.monitor.registrations])
    for value in KEYS.values():
        assert value not in recorded
    policies = {r.inputs["metadata"]["name"] for r in kind(onprem, "NetworkPolicy")}
    assert "allow-cassandra" in policies and "allow-cassandra-identity" not in policies, "static keys need no identity"


def test_onprem_existing_secret_and_protection(onprem):
    kc = one(onprem, "K8ssandraCluster")
    assert kc.inputs["spec"]["cassandra"]["superuserSecretRef"] == {"name": "cassandra-admin"}
    # Grafana's admin password (the ops layer) is the stack's only generated one.
    assert not [r for r in onprem.monitor.by_type("random:") if "genai:ops:" not in r.urn], \
        "nothing generated when the Secret exists"
    assert not [r for r in kind(onprem, "Secret") if r.inputs["metadata"]["name"] == "cassandra-superuser"]
    assert onprem.monitor.stack_outputs["databases"]["cassandra"]["secretName"] == "cassandra-admin"
    assert kc.protect
    assert release(onprem, "k8ssandra-operator").protect and release(onprem, "cert-manager").protect
    assert not one(onprem, "MedusaBackupSchedule").protect


def test_aks_backups_are_refused_by_key():
    result = run("prod-azure", {"cassandra": {**SIZED, "backup": {"enabled": True}}})
    assert result.error is not None
    assert "genai-platform:databases.cassandra.backup.enabled: Medusa cannot write to Azure Blob" in result.error
    assert not kind(result, "K8ssandraCluster")


def test_more_racks_than_zones_is_refused():
    racks = [{"name": n} for n in ("a", "b", "c", "d")]
    result = run("dev", {"cassandra": {**SIZED, "size": 4, "racks": racks}})
    assert result.error is not None
    assert "genai-platform:databases.cassandra.racks: lists 4 racks but the cluster has 3 zones" in result.error
    assert "Traceback" not in result.error


def test_a_heap_above_half_the_memory_limit_is_refused_and_the_defaults_fit():
    result = run("local", {"cassandra": {"resources": {"cpu": "1", "memory": "1Gi"}}})
    assert result.error is not None
    assert "genai-platform:databases.cassandra.heap: 1Gi is more than half the memory limit 1Gi" in result.error
    assert run("local", {"cassandra": {}}).error is None
