"""The data layer's view of tenants: which store each uses and which engines admit it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from components.data.qdrant_collections_specs import TenantCollection
from infra.data_layer import TenantDataRequest, _tenant_engine_args, _tenant_namespaces, tenant_vector_store
from infra.plan.render import build
from infra.plan.runner import load_stack_config, run_program


def cfg(vector: str | None, postgres: bool = True):
    return SimpleNamespace(databases=SimpleNamespace(
        vector=SimpleNamespace(engine=vector) if vector else None, postgres=object() if postgres else None))


def test_tenants_use_pgvector_in_their_own_database_unless_they_ask_for_qdrant():
    # Whatever the platform's own vector engine, a tenant's default is its own database.
    for engine in ("qdrant", "pgvector", "milvus", None):
        assert tenant_vector_store(cfg(engine), None) == "pgvector"
        assert tenant_vector_store(cfg(engine), "pgvector") == "pgvector"
    assert tenant_vector_store(cfg("qdrant"), "qdrant") == "qdrant"
    # No PostgreSQL: no tenant database to hold the vectors.
    assert tenant_vector_store(cfg(None, postgres=False), None) is None


ACME = TenantDataRequest(name="acme", namespace="tenant-acme", vector_store="qdrant", vector_dimension=768,
                         vector_distance="Dot")
GLOBEX = TenantDataRequest(name="globex", namespace="tenant-globex", database="dedicated", vector_store="pgvector")
QDRANT = SimpleNamespace(engine="qdrant")


def test_only_the_engines_a_tenant_uses_admit_its_namespace():
    tenants = (ACME, GLOBEX)
    assert _tenant_namespaces("postgres", None, tenants) == ("tenant-acme",)   # globex has its own cluster
    assert _tenant_namespaces("vector", QDRANT, tenants) == ("tenant-acme",)
    assert _tenant_namespaces("redis", None, tenants) == ("tenant-acme", "tenant-globex")
    assert _tenant_namespaces("mysql", None, tenants) == ()


def test_engines_get_their_tenants_and_nothing_without_tenants():
    assert _tenant_engine_args("postgres", None, (ACME, GLOBEX)) == {
        "tenants": ("acme",), "dedicated": (("globex", "tenant-globex"),)}
    assert _tenant_engine_args("vector", QDRANT, (ACME, GLOBEX)) == {
        "tenants": ("acme",), "collections": (TenantCollection("acme", 768, "Dot"),)}
    assert _tenant_engine_args("vector", SimpleNamespace(engine="milvus"), (ACME,)) == {}
    assert _tenant_engine_args("postgres", None, ()) == {}


def test_a_qdrant_tenant_without_a_dimension_gets_its_token_but_no_collection_job():
    initech = TenantDataRequest(name="initech", namespace="tenant-initech", vector_store="qdrant")
    assert _tenant_engine_args("vector", QDRANT, (initech, GLOBEX)) == {"tenants": ("initech",)}
    assert _tenant_engine_args("vector", QDRANT, (GLOBEX,)) == {}


# --- The whole program: a Qdrant tenant next to a default (pgvector) one ---------------------

TENANTS = [
    {"name": "demo", "app": {"hostname": "chat.genai.localhost"}},
    {"name": "rag", "vector": {"store": "qdrant", "dimension": 384},
     "app": {"hostname": "rag.genai.localhost", "kind": "custom", "image": "ghcr.io/acme/rag:1.0.0"}},
]


@pytest.fixture(scope="module")
def local():
    cfg = load_stack_config("local", overrides={"tenants": TENANTS})
    result = run_program(cfg)
    assert result.error is None, result.error
    return cfg, result


def _by_name(result, name: str, typ: str = ""):
    return next(r for r in result.monitor.registrations if r.name == name and r.type.startswith(typ))


def test_only_the_qdrant_tenant_gets_a_collection_job_with_its_size(local):
    _, result = local
    jobs = [r for r in result.monitor.registrations if r.type == "kubernetes:batch/v1:Job"
            and r.name.startswith("vector-collection-")]
    assert [j.name for j in jobs] == ["vector-collection-rag"]
    (job,) = jobs
    assert job.inputs["metadata"]["namespace"] == "genai-data"
    env = {e["name"]: e.get("value") for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["COLLECTION"], env["VECTOR_SIZE"], env["DISTANCE"]) == ("tenant-rag", "384", "Cosine")
    # It runs once Qdrant is up and admits it.
    release = _by_name(result, "vector", "kubernetes:helm.sh/v3:Release")
    assert release.urn in job.dependencies
    assert release.inputs["values"]["config"]["service"] == {"jwt_rbac": True}


def test_the_qdrant_tenant_gets_its_collection_and_token_the_other_its_database(local):
    _, result = local
    rag = _by_name(result, "tenant-rag-config").inputs["data"]
    demo = _by_name(result, "tenant-demo-config").inputs["data"]
    assert (rag["VECTOR_STORE"], rag["VECTOR_COLLECTION"]) == ("qdrant", "tenant-rag")
    assert demo["VECTOR_STORE"] == "pgvector" and "VECTOR_URL" not in demo
    assert "VECTOR_API_KEY" in _by_name(result, "tenant-rag-env").inputs["stringData"]
    assert "VECTOR_API_KEY" not in _by_name(result, "tenant-demo-env").inputs["stringData"]


def test_the_tenant_app_waits_for_its_collection(local):
    _, result = local
    job = _by_name(result, "vector-collection-rag")
    assert job.urn in _by_name(result, "tenant-rag-app-deployment").dependencies
    assert job.urn not in _by_name(result, "tenant-demo-app-deployment").dependencies


def test_the_stack_with_a_qdrant_tenant_validates(local):
    cfg, result = local
    assert build(cfg, result).errors == []
