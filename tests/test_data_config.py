"""The ``databases`` and ``objectStore`` sections: what each bad input gets, and the shared wiring.

Engine-specific rules and resources are tested beside each engine (``tests/test_data_<engine>.py``);
here are the rules every engine shares, the data namespace, the identities the cloud clusters
bind for backups, and the on-prem object store.
"""

from __future__ import annotations

import json

import pytest

NS = "genai-platform"
STORE = {"endpoint": "https://minio.storage.internal:9000", "bucket": "genai-backups"}
KEYS = {"objectStoreAccessKeyId": "AKIAPLANTEST", "objectStoreSecretAccessKey": "plan-store-secret-0123456789"}
CACHE = {"redis": {"persistence": False}}


def problems(result) -> str:
    assert result.error, "expected a configuration error"
    assert "Traceback" not in result.error
    assert not result.monitor.registrations, "nothing may be registered when the config is invalid"
    return result.error


# --- bad input ------------------------------------------------------------------------------

def test_backups_without_an_object_store_name_the_key_and_the_fix(run):
    err = problems(run("local", overrides={"databases": {"postgres": {"instances": 1, "backup": {"enabled": True}}}}))
    assert f"{NS}:databases.postgres.backup.enabled: backups need an object store" in err
    assert "objectStoreAccessKeyId" in err


def test_an_unknown_engine_key_is_refused_with_a_suggestion(run):
    err = problems(run("local", overrides={"databases": {"postgress": {}}}))
    assert f"{NS}:databases.postgress: unknown key; did you mean 'postgres'?" in err


def test_an_unknown_vector_engine_lists_the_known_ones(run):
    err = problems(run("local", overrides={"databases": {"vector": {"engine": "weaviate"}}}))
    assert f"{NS}:databases.vector.engine: must be one of 'qdrant', 'milvus' or 'pgvector'; got 'weaviate'" in err


def test_an_object_store_on_a_cloud_target_is_refused(run):
    err = problems(run("dev", overrides={"objectStore": STORE}))
    assert f"{NS}:objectStore: the eks target creates its own bucket" in err


def test_an_object_store_needs_both_access_keys_as_secrets(run):
    err = problems(run("local", overrides={"objectStore": STORE}))
    assert f"{NS}:objectStoreAccessKeyId: required with objectStore" in err
    assert f"{NS}:objectStoreSecretAccessKey: required with objectStore" in err


def test_access_keys_without_an_object_store_are_refused(run):
    err = problems(run("local", secrets=KEYS))
    assert f"{NS}:objectStoreAccessKeyId: only applies with an objectStore section" in err


def test_the_data_namespace_must_not_be_another_layers(run):
    err = problems(run("local", overrides={"databases": {"namespace": "genai-models", **CACHE}}))
    assert f"{NS}:databases.namespace: 'genai-models' is already namespaces.models" in err


def test_limits_below_requests_and_bad_quantities_and_schedules(run):
    err = problems(run("local", overrides={"databases": {"redis": {
        "persistence": False,
        "resources": {"cpu": "2", "cpuLimit": "500m", "memory": "4 GB"},
        "backup": {"schedule": "every day"},
    }}}))
    assert f"{NS}:databases.redis.resources.memory: must be a Kubernetes quantity" in err
    assert f"{NS}:databases.redis.backup.schedule: must be a five-field cron schedule" in err
    ok = problems(run("local", overrides={"databases": {"redis": {
        "persistence": False, "resources": {"cpu": "2", "cpuLimit": "500m"}}}}))
    assert f"{NS}:databases.redis.resources.cpuLimit: 500m is below the request 2" in ok


def test_allow_from_duplicates_and_self_are_refused(run):
    err = problems(run("local", overrides={"databases": {
        "allowFrom": ["apps", "apps", "genai-data"], **CACHE}}))
    assert f"{NS}:databases.allowFrom: lists apps more than once" in err
    assert f"{NS}:databases.allowFrom: 'genai-data' is the data namespace itself" in err


# --- wiring ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def onprem_store():
    from conftest import run_stack
    return run_stack("onprem", overrides={
        "objectStore": STORE,
        "cluster": {"target": "existing", "kubernetesVersion": "1.33",
                    "existing": {"context": "onprem-admin", "zones": ["rack-a", "rack-b", "rack-c"]}},
        "databases": {"allowFrom": ["apps"], "redis": {"persistence": False}},
        "tenants": [],
    }, secrets=KEYS)


def test_the_data_namespace_gets_the_baseline_and_egress_to_api_and_the_store_port(onprem_store):
    assert onprem_store.error is None, onprem_store.error
    regs = onprem_store.monitor.registrations
    ns = [r for r in regs if r.type == "kubernetes:core/v1:Namespace" and r.inputs["metadata"]["name"] == "genai-data"]
    assert len(ns) == 1 and ns[0].protect, "the data namespace follows `protect`"
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in regs
                if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
                and r.inputs["metadata"]["namespace"] == "genai-data"}
    assert {"default-deny", "allow-dns", "allow-egress-in-namespace", "allow-egress-api-and-object-store"} <= set(policies)
    ports = {p["port"] for p in policies["allow-egress-api-and-object-store"]["egress"][0]["ports"]}
    assert ports == {443, 6443, 9000}
    assert onprem_store.monitor.stack_outputs["namespaces"]["data"] == "genai-data"


def test_store_keys_never_reach_the_recorded_inputs_in_clear(onprem_store):
    text = json.dumps([r.to_json() for r in onprem_store.monitor.registrations])
    assert KEYS["objectStoreSecretAccessKey"] not in text
    assert KEYS["objectStoreAccessKeyId"] not in text


def test_backup_identities_are_bound_by_the_cloud_cluster(run):
    result = run("dev", overrides={"databases": {"postgres": {"instances": 1, "backup": {"enabled": True}}}})
    assert result.error is None, result.error
    associations = [r for r in result.monitor.registrations if r.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation"]
    bound = {(r.inputs["namespace"], r.inputs["serviceAccount"]) for r in associations}
    assert any(ns == "genai-data" for ns, _ in bound), bound
    assert "postgres-backups" in result.monitor.stack_outputs["workloadIdentities"]


def test_the_data_namespace_reaches_the_node_local_identity_endpoint_on_eks(run):
    result = run("dev")
    assert result.error is None, result.error
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in result.monitor.registrations
                if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
                and r.inputs["metadata"]["namespace"] == "genai-data"}
    rule = policies["allow-egress-workload-identity"]["egress"][0]
    assert rule == {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
    assert result.monitor.stack_outputs["databases"]["vector"]["engine"] == "pgvector"


def test_no_identity_endpoint_egress_when_no_engine_uses_an_identity(run):
    result = run("dev", overrides={"databases": {"redis": {"persistence": False}}, "tenants": []})
    assert result.error is None, result.error
    names = {r.inputs["metadata"]["name"] for r in result.monitor.registrations
             if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
             and r.inputs["metadata"]["namespace"] == "genai-data"}
    assert "allow-egress-api-and-object-store" in names
    assert "allow-egress-workload-identity" not in names
