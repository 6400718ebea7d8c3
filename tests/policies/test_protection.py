"""protected-stateful."""

from __future__ import annotations

import pytest

from policies.genai_policies import PolicyContext, Record
from policies.genai_policies.protection import why_stateful

PROTECTED = PolicyContext(stack_protected=True)


def _cloud(token: str, protect: bool) -> Record:
    return Record(type=token, name="x", urn=f"urn:pulumi:prod::genai-platform::{token}::x", props={}, protect=protect)


def _pvc(namespace: str = "genai-models") -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "catalog", "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "100Gi"}}}}


def _namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


@pytest.mark.parametrize("token", ["aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster",
                                   "azure-native:containerservice:ManagedCluster", "aws:s3/bucket:Bucket",
                                   "gcp:storage/bucket:Bucket", "azure-native:storage:StorageAccount",
                                   "aws:efs/fileSystem:FileSystem", "aws:kms/key:Key"])
def test_cloud_stateful_resources(check, token):
    assert check("protected-stateful", [_cloud(token, True)], PROTECTED) == []
    msgs = check("protected-stateful", [_cloud(token, False)], PROTECTED)
    assert len(msgs) == 1 and "not protected in a protected stack" in msgs[0]


def test_unprotected_stack_asks_nothing(check):
    assert check("protected-stateful", [_cloud("aws:eks/cluster:Cluster", False)], PolicyContext()) == []


def test_stateless_resources_need_no_protection(check, make):
    records = [_cloud("aws:iam/role:Role", False), make.k8s(make.deployment())]
    assert check("protected-stateful", records, PROTECTED) == []


def test_volume_and_its_namespace(check, make):
    pvc = _pvc()
    make.assert_valid(pvc)
    ok = [make.k8s(pvc, protect=True), make.k8s(_namespace("genai-models"), protect=True)]
    assert check("protected-stateful", ok, PROTECTED) == []
    bad = [make.k8s(pvc, protect=True), make.k8s(_namespace("genai-models"), protect=False),
           make.k8s(_namespace("scratch"), protect=False)]
    msgs = check("protected-stateful", bad, PROTECTED)
    assert len(msgs) == 1 and msgs[0].startswith("holds stateful resources")


@pytest.mark.parametrize("obj", [
    {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg", "namespace": "data"},
     "spec": {"instances": 3, "storage": {"size": "10Gi"}}},
    {"apiVersion": "mysql.oracle.com/v2", "kind": "InnoDBCluster", "metadata": {"name": "my", "namespace": "data"},
     "spec": {"secretName": "root", "tlsUseSelfSigned": True, "instances": 3}},
    {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "data"},
     "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
              "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "db:1"}]}},
              "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                  "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}},
])
def test_database_objects(check, make, obj):
    make.assert_valid(obj)
    assert check("protected-stateful", [make.k8s(obj, protect=True)], PROTECTED) == []
    assert len(check("protected-stateful", [make.k8s(obj)], PROTECTED)) == 1


def test_cnpg_database_only_when_it_drops_data(make):
    db = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Database", "metadata": {"name": "app", "namespace": "data"},
          "spec": {"name": "app", "owner": "app", "cluster": {"name": "pg"}, "databaseReclaimPolicy": "retain"}}
    make.assert_valid(db)
    assert why_stateful(make.k8s(db)) is None
    db["spec"]["databaseReclaimPolicy"] = "delete"
    assert why_stateful(make.k8s(db))


@pytest.mark.parametrize("chart,values,stateful", [
    ("qdrant", {}, True),
    ("oci://registry-1.docker.io/milvus", {}, True),
    ("cloudnative-pg", {}, True),
    ("valkey", {"dataStorage": {"enabled": True, "requestedSize": "8Gi"}}, True),
    ("valkey", {"replica": {"enabled": True, "persistence": {"size": "20Gi", "storageClass": "gp3"}}}, True),
    ("valkey", {"valkeyConfig": "save \"\"\nappendonly no\n"}, False),       # an in-memory session store
    ("keda", {}, False),
    ("gpu-operator", {}, False),
])
def test_stateful_releases(check, make, chart, values, stateful):
    rel = make.release(chart, values, namespace="genai-data")
    assert (why_stateful(rel) is not None) is stateful
    assert bool(check("protected-stateful", [rel], PROTECTED)) is stateful
