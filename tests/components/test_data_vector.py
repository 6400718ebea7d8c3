"""The vector databases' pure builders: Qdrant (values, snapshot CronJob and the script it runs,
tried against a stand-in Qdrant API) and Milvus (values per object store, distributed layout,
PDBs), checked against the charts' reference values and the Kubernetes schemas."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from components.cluster.info import ClusterInfo, ObjectStore, StorageClasses, WorkloadIdentity
from components.common.security import Resources
from components.data import milvus_specs as ms
from components.data import qdrant_specs as qs
from components.data.common import DataContext
from infra.data_vector import milvus_storage
from infra.plan.validate import validate_helm_values, validate_manifest

RES = Resources(cpu_request="1", memory_request="4Gi", cpu_limit="2", memory_limit="8Gi")
SNAP = qs.SnapshotSettings(bucket="genai-dev-data", region="eu-west-1", prefix="vector", schedule="15 2 * * *",
                           retention_days=7)
QDRANT = qs.QdrantSettings(namespace="genai-data", replicas=1, replication_factor=1, storage_gib=50,
                           storage_class="gp3", resources=RES, api_key_secret="qdrant-api-key")
# Keys the qdrant chart's templates read although its values.yaml leaves them out or only
# mentions them in comments, and standard securityContext fields under its
# ``containerSecurityContext``: reported by the key check, correct for the chart.
QDRANT_KEYS_OUTSIDE_DEFAULTS = {
    "persistence.storageClassName",            # templates/statefulset.yaml volumeClaimTemplates
    "config.storage",                          # Qdrant's own config file, rendered as production.yaml
    "containerSecurityContext.capabilities",   # toYaml'd into the container's securityContext
    "containerSecurityContext.seccompProfile",
}


def qdrant(**kw) -> qs.QdrantSettings:
    return dataclasses.replace(QDRANT, **kw)


def ctx() -> DataContext:
    return DataContext(cluster=None, namespace="genai-data", allow_from=("rag",),  # type: ignore[arg-type]
                       metrics_namespace="monitoring")


def unexpected_qdrant_errors(values: dict) -> list[str]:
    return [e for e in validate_helm_values(qs.CHART, values)
            if not any(f"helm qdrant: {key}: not a value" in e for key in QDRANT_KEYS_OUTSIDE_DEFAULTS)]


def ports(rule: dict) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


# --- Qdrant values --------------------------------------------------------------------------

QDRANT_VARIANTS = {
    "single": qdrant(),
    "distributed": qdrant(replicas=3, replication_factor=2, zone_spread=True),
    "snapshots": qdrant(snapshots=SNAP, service_monitors=True, service_monitor_labels={"release": "kps"}),
}


@pytest.mark.parametrize("name", list(QDRANT_VARIANTS))
def test_qdrant_values_are_keys_of_the_pinned_chart(name):
    assert unexpected_qdrant_errors(qs.qdrant_values(QDRANT_VARIANTS[name])) == []


def test_a_single_qdrant_is_not_distributed_and_has_no_pdb():
    values = qs.qdrant_values(qdrant())
    assert values["replicaCount"] == 1
    assert values["config"]["cluster"] == {"enabled": False}
    assert values["podDisruptionBudget"]["enabled"] is False
    assert values["persistence"] == {"size": "50Gi", "storageClassName": "gp3"}
    assert values["resources"] == RES.to_k8s()


def test_replicas_form_a_cluster_with_the_replication_factor_a_pdb_and_zone_spread():
    values = qs.qdrant_values(QDRANT_VARIANTS["distributed"])
    assert values["replicaCount"] == 3
    assert values["config"]["cluster"] == {"enabled": True}
    assert values["config"]["storage"]["collection"] == {"replication_factor": 2}
    assert values["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    assert {c["topologyKey"] for c in values["topologySpreadConstraints"]} == {
        "kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert all(c["labelSelector"]["matchLabels"] == qs.selector() for c in values["topologySpreadConstraints"])


def test_the_api_key_comes_from_our_secret_through_the_environment_only():
    values = qs.qdrant_values(qdrant(api_key_secret="my-key"))
    assert {"name": "QDRANT__SERVICE__API_KEY",
            "valueFrom": {"secretKeyRef": {"name": "my-key", "key": "api-key"}}} in values["env"]
    assert "apiKey" not in values and "readOnlyApiKey" not in values


def test_qdrant_runs_unprivileged_without_a_root_init_container():
    values = qs.qdrant_values(qdrant())
    assert values["image"] == {"useUnprivilegedImage": True}
    assert values["updateVolumeFsOwnership"] is False
    sc = values["containerSecurityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == qs.UID and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["readOnlyRootFilesystem"] is True
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert all(values[p]["enabled"] for p in ("readinessProbe", "livenessProbe", "startupProbe"))


def test_snapshots_go_to_the_bucket_under_the_engine_prefix():
    values = qs.qdrant_values(qdrant(snapshots=SNAP))
    storage = values["config"]["storage"]
    assert storage["snapshots_path"] == "/vector"
    assert storage["snapshots_config"] == {"snapshots_storage": "s3", "s3_config": {
        "bucket": "genai-dev-data", "region": "eu-west-1"}}
    assert values["additionalVolumeMounts"] == [{"name": "snapshot-keys", "mountPath": "/vector"}]
    # Workload identity: no keys in the environment.
    assert [e["name"] for e in values["env"]] == ["QDRANT__SERVICE__API_KEY"]
    assert "snapshots_config" not in qs.qdrant_values(qdrant())["config"]["storage"]


def test_an_s3_compatible_store_gets_its_endpoint_and_keys_from_a_secret():
    snap = dataclasses.replace(SNAP, endpoint="https://minio.storage.internal:9000", keys_secret="qdrant-snapshots-s3")
    values = qs.qdrant_values(qdrant(snapshots=snap))
    assert values["config"]["storage"]["snapshots_config"]["s3_config"]["endpoint_url"] == \
        "https://minio.storage.internal:9000"
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in values["env"]}
    assert env["AWS_ACCESS_KEY_ID"] == {"name": "qdrant-snapshots-s3", "key": "AWS_ACCESS_KEY_ID"}
    assert env["AWS_SECRET_ACCESS_KEY"] == {"name": "qdrant-snapshots-s3", "key": "AWS_SECRET_ACCESS_KEY"}


def test_an_identity_annotates_the_service_account_and_labels_the_pods():
    snap = dataclasses.replace(SNAP, sa_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"},
                               pod_labels={"azure.workload.identity/use": "true"})
    values = qs.qdrant_values(qdrant(snapshots=snap))
    assert values["serviceAccount"] == {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}}
    assert values["podLabels"] == {"azure.workload.identity/use": "true"}


def test_the_service_monitor_authenticates_with_the_api_key_and_only_when_scraped():
    monitor = qs.qdrant_values(QDRANT_VARIANTS["snapshots"])["metrics"]["serviceMonitor"]
    assert monitor["enabled"] is True and monitor["additionalLabels"] == {"release": "kps"}
    assert monitor["authorization"] == {"type": "Bearer", "credentials": {"name": "qdrant-api-key", "key": "api-key"}}
    assert "metrics" not in qs.qdrant_values(qdrant())


def test_qdrant_network_policy_admits_rest_and_grpc_clients_and_scrapes_on_rest():
    policy = qs.network_policy(ctx(), {}, ("tenant-b",), metrics=True)
    assert validate_manifest(policy, "1.33") == []
    rules = policy["spec"]["ingress"]
    assert rules[0] == {"from": [{"podSelector": {"matchLabels": qs.selector()}}]}   # peers: p2p 6335
    assert ports(rules[1]) == {6333, 6334}
    assert ports(rules[2]) == {6333}
    assert all(6335 not in ports(r) for r in rules)


# --- Qdrant snapshots -----------------------------------------------------------------------

def test_the_snapshot_cronjob_is_valid_pinned_restricted_and_reaches_every_peer():
    settings = qdrant(replicas=3, snapshots=dataclasses.replace(SNAP, retention_days=9))
    job = qs.snapshot_cronjob(settings, "qdrant-snapshots", "qdrant-snapshot-script")
    script = qs.snapshot_configmap(settings, "qdrant-snapshot-script")
    assert validate_manifest(job, "1.33") == []
    assert validate_manifest(script, "1.33") == []
    spec = job["spec"]
    assert spec["schedule"] == "15 2 * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    assert container["image"] == qs.SNAPSHOT_IMAGE and not container["image"].endswith(":latest")
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"] == qs.SNAPSHOT_RESOURCES.to_k8s()
    env = {e["name"]: e for e in container["env"]}
    assert env["QDRANT_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "qdrant-api-key", "key": "api-key"}}
    assert env["RETENTION_DAYS"]["value"] == "9"
    assert env["QDRANT_PEERS"]["value"].split() == [
        f"http://qdrant-{i}.qdrant-headless.genai-data.svc.cluster.local:6333" for i in range(3)]


class FakeQdrant(BaseHTTPRequestHandler):
    """Enough of Qdrant's REST API for the snapshot script; records every call."""

    calls: list[tuple[str, str, str, str]] = []
    fail_host: str = ""
    old = "2000-01-01T00:00:00.123456"

    def log_message(self, *args):
        pass

    def _reply(self, result, status=200):
        body = json.dumps({"result": result, "status": "ok"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method):
        host, path = self.headers["Host"].split(":")[0], urlsplit(self.path).path
        self.calls.append((method, host, unquote(path), self.headers.get("api-key", "")))
        if path == "/collections":
            return self._reply({"collections": [{"name": "docs"}, {"name": "a b"}]})
        if method == "POST":
            if host == self.fail_host:
                return self._reply(None, 500)
            return self._reply({"name": "new.snapshot"})
        if method == "GET":
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
            return self._reply([{"name": "old.snapshot", "creation_time": self.old, "size": 1},
                                {"name": "new.snapshot", "creation_time": now, "size": 1},
                                {"name": "undated.snapshot", "creation_time": None, "size": 1}])
        return self._reply(True)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")


@pytest.fixture
def fake_qdrant():
    FakeQdrant.calls = []
    FakeQdrant.fail_host = ""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeQdrant)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def run_script(port: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "QDRANT_API_KEY": "k-123", "RETENTION_DAYS": "14", "REQUEST_TIMEOUT": "10",
           "QDRANT_PEERS": f"http://127.0.0.1:{port} http://localhost:{port}"}
    return subprocess.run([sys.executable, "-B", "-c", qs.SNAPSHOT_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=60)


def test_the_script_snapshots_each_collection_on_each_peer_and_prunes_only_old_ones(fake_qdrant):
    done = run_script(fake_qdrant)
    assert done.returncode == 0, done.stderr
    calls = FakeQdrant.calls
    assert all(key == "k-123" for *_, key in calls)
    posts = {(host, path) for method, host, path, _ in calls if method == "POST"}
    assert posts == {(h, f"/collections/{c}/snapshots") for h in ("127.0.0.1", "localhost") for c in ("docs", "a b")}
    deletes = [(host, path) for method, host, path, _ in calls if method == "DELETE"]
    assert deletes == [("127.0.0.1", f"/collections/{c}/snapshots/old.snapshot") for c in ("docs", "a b")]


def test_a_failed_peer_fails_the_job_but_the_others_are_still_snapshotted(fake_qdrant):
    FakeQdrant.fail_host = "localhost"
    done = run_script(fake_qdrant)
    assert done.returncode == 1
    assert "snapshot on http://localhost" in done.stderr
    assert ("POST", "127.0.0.1", "/collections/a b/snapshots") in [c[:3] for c in FakeQdrant.calls]


# --- Milvus ---------------------------------------------------------------------------------

def cluster(kind: str, store: ObjectStore, identity: WorkloadIdentity | None = None) -> ClusterInfo:
    return ClusterInfo(kind=kind, name="c", provider=None, kubernetes_version="1.33", gpu_pools=(),  # type: ignore[arg-type]
                       storage=StorageClasses(rwo="rwo", rwx=None), object_store=store,
                       identities={"vector-backups": identity} if identity else {})


IRSA = WorkloadIdentity(name="vector-backups", namespace="genai-data", service_account="milvus",
                        annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/milvus"})
AKS = WorkloadIdentity(name="vector-backups", namespace="genai-data", service_account="milvus",
                       annotations={"azure.workload.identity/client-id": "cid"},
                       pod_labels={"azure.workload.identity/use": "true"})
GKE = WorkloadIdentity(name="vector-backups", namespace="genai-data", service_account="milvus",
                       annotations={"iam.gke.io/gcp-service-account": "milvus@p.iam.gserviceaccount.com"})
STORES = {
    "eks": cluster("eks", ObjectStore(kind="s3", bucket="b-aws", region="eu-west-1"), IRSA),
    "gke": cluster("gke", ObjectStore(kind="gcs", bucket="b-gcs", region="europe-west4"), GKE),
    "aks": cluster("aks", ObjectStore(kind="azure-blob", bucket="b-az", region="westeurope", account="acct"), AKS),
    "existing": cluster("existing", ObjectStore(kind="s3", bucket="b-minio", region="us-east-1",
                                                endpoint="http://minio.storage.internal:9000",
                                                access_key_id="AKIA", secret_access_key="s3cret")),
}


def milvus(kind: str = "eks", **kw) -> ms.MilvusSettings:
    base = ms.MilvusSettings(namespace="genai-data", replicas=1, storage_gib=30, storage_class="rwo", resources=RES,
                             root_secret="milvus-root", storage=milvus_storage(STORES[kind]))
    return dataclasses.replace(base, **kw)


@pytest.mark.parametrize("kind", list(STORES))
@pytest.mark.parametrize("replicas", [1, 3])
def test_milvus_values_are_keys_of_the_pinned_chart(kind, replicas):
    assert validate_helm_values(ms.CHART, ms.milvus_values(milvus(kind, replicas=replicas, service_monitors=True))) == []


def test_aws_uses_the_bucket_through_the_workload_identity():
    values = ms.milvus_values(milvus("eks"))
    assert values["externalS3"] == {"enabled": True, "cloudProvider": "aws", "host": "s3.eu-west-1.amazonaws.com",
                                    "port": 443, "useSSL": True, "bucketName": "b-aws", "rootPath": "vector",
                                    "useIAM": True, "region": "eu-west-1", "useVirtualHost": True}
    assert values["serviceAccount"] == {"create": True, "name": "milvus",
                                        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/milvus"}}
    assert values["minio"] == {"enabled": False} and values["pulsarv3"] == {"enabled": False}


def test_gcs_and_azure_use_their_native_endpoints_and_identities():
    gcs = ms.milvus_values(milvus("gke"))
    assert (gcs["externalS3"]["cloudProvider"], gcs["externalS3"]["host"], gcs["externalS3"]["useIAM"]) == \
        ("gcp", "storage.googleapis.com", True)
    assert gcs["serviceAccount"]["annotations"] == {"iam.gke.io/gcp-service-account": "milvus@p.iam.gserviceaccount.com"}
    azure = ms.milvus_values(milvus("aks"))
    assert (azure["externalS3"]["cloudProvider"], azure["externalS3"]["host"], azure["externalS3"]["accessKey"]) == \
        ("azure", "core.windows.net", "acct")
    assert azure["labels"]["azure.workload.identity/use"] == "true"
    assert azure["serviceAccount"]["annotations"] == {"azure.workload.identity/client-id": "cid"}


def test_an_s3_compatible_store_is_reached_with_keys_from_the_environment():
    settings = milvus("existing")
    values = ms.milvus_values(settings)
    s3 = values["externalS3"]
    assert (s3["host"], s3["port"], s3["useSSL"], s3["useIAM"]) == ("minio.storage.internal", 9000, False, False)
    assert "accessKey" not in s3 and "secretKey" not in s3
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in values["standalone"]["extraEnv"]}
    assert env["MINIO_ACCESS_KEY_ID"] == {"name": "milvus-s3", "key": "accessKeyID"}
    assert env["MINIO_SECRET_ACCESS_KEY"] == {"name": "milvus-s3", "key": "secretAccessKey"}
    assert "s3cret" not in json.dumps(values) and "AKIA" not in json.dumps(values)


def test_standalone_keeps_its_log_on_its_volume_with_a_single_etcd():
    values = ms.milvus_values(milvus())
    assert values["cluster"] == {"enabled": False}
    assert values["standalone"]["persistence"] == {"enabled": True, "persistentVolumeClaim": {
        "storageClass": "rwo", "size": "30Gi"}}
    assert values["standalone"]["resources"] == RES.to_k8s()
    assert values["streaming"] == {"woodpecker": {"storage": {"type": "local"}}}
    assert values["etcd"]["replicaCount"] == 1 and values["etcd"]["pdb"]["create"] is False
    assert "mq" not in yaml.safe_load(values["extraConfigFiles"]["user.yaml"])
    assert ms.component_pdbs(milvus(), {}) == []


def test_distributed_milvus_scales_its_nodes_and_keeps_the_log_in_the_bucket():
    settings = milvus(replicas=4, zone_spread=True)
    values = ms.milvus_values(settings)
    assert values["cluster"] == {"enabled": True}
    assert values["proxy"]["replicas"] == ms.PROXIES
    assert values["mixCoordinator"]["replicas"] == 2 and values["mixCoordinator"]["activeStandby"] == {"enabled": True}
    assert all(values[k]["replicas"] == 4 for k in ("queryNode", "dataNode", "streamingNode"))
    assert yaml.safe_load(values["extraConfigFiles"]["user.yaml"])["mq"] == {"type": "woodpecker"}
    assert values["streaming"] == {"woodpecker": {"storage": {"type": "minio"}}}
    assert values["etcd"]["replicaCount"] == 3 and values["etcd"]["pdb"]["create"] is True
    assert values["queryNode"]["topologySpreadConstraints"][1]["topologyKey"] == "topology.kubernetes.io/zone"
    assert values["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]["component"] == "streamingnode"
    budgets = ms.component_pdbs(settings, {"app.kubernetes.io/part-of": "genai-platform"})
    assert {b["metadata"]["name"] for b in budgets} == {
        "milvus-proxy", "milvus-mixcoord", "milvus-querynode", "milvus-datanode", "milvus-streamingnode"}
    for budget in budgets:
        assert validate_manifest(budget, "1.33") == []
        assert budget["spec"]["maxUnavailable"] == 1


def test_auth_is_on_and_the_root_password_only_comes_from_our_secret():
    values = ms.milvus_values(milvus(replicas=3))
    assert yaml.safe_load(values["extraConfigFiles"]["user.yaml"])["common"] == {
        "security": {"authorizationEnabled": True}}
    for key in ("proxy", "mixCoordinator", "queryNode", "dataNode", "streamingNode"):
        assert {"name": "COMMON_SECURITY_DEFAULTROOTPASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "milvus-root", "key": "password"}}} in values[key]["extraEnv"]
    assert "defaultRootPassword" not in json.dumps(values)


def test_milvus_containers_drop_everything_and_etcd_runs_restricted():
    values = ms.milvus_values(milvus())
    sc = values["containerSecurityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert values["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    etcd = values["etcd"]
    assert etcd["containerSecurityContext"]["runAsNonRoot"] is True
    assert etcd["containerSecurityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert etcd["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert etcd["resources"]["requests"] and etcd["resources"]["limits"]
    assert etcd["persistence"]["storageClass"] == "rwo"


def test_the_milvus_service_monitor_follows_the_setting():
    on = ms.milvus_values(milvus(service_monitors=True, service_monitor_labels={"release": "kps"}))["metrics"]
    assert on == {"enabled": True, "serviceMonitor": {"enabled": True, "additionalLabels": {"release": "kps"}}}
    assert ms.milvus_values(milvus())["metrics"]["serviceMonitor"]["enabled"] is False


def test_milvus_network_policy_admits_clients_on_19530_and_scrapes_on_9091():
    policy = ms.network_policy(ctx(), {}, (), metrics=True)
    assert validate_manifest(policy, "1.33") == []
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "milvus"}}
    assert [ports(r) for r in policy["spec"]["ingress"]] == [set(), {19530}, {9091}]
