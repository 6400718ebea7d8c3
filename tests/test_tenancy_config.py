"""The ``tenants`` list: what each bad input gets (key path and fix), before anything is registered."""

from __future__ import annotations

from typing import Any

import pytest

from infra.checks_tenancy import tenancy_problems
from infra.schema import PlatformConfig

NS = "genai-platform"
GATEWAY = {"hostname": "api.genai.localhost", "loadBalancer": {"type": "NodePort"}}
EMBED = {"name": "embed", "wellKnown": "all-minilm-l6-v2", "revision": "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"}


def problems(result) -> str:
    assert result.error, "expected a configuration error"
    assert "Traceback" not in result.error
    assert not result.monitor.registrations, "nothing may be registered when the config is invalid"
    return result.error


def tenant(name: str = "demo", host: str = "chat.genai.localhost", **settings: Any) -> dict[str, Any]:
    app = settings.pop("app", {})
    return {"name": name, "app": {"hostname": host, **app}, **settings}


def tenants(*entries: dict[str, Any], **others: Any) -> dict[str, Any]:
    return {"gateway": GATEWAY, "tenants": list(entries), **others}


# --- bad input ------------------------------------------------------------------------------

def test_tenants_need_the_gateway(run):
    err = problems(run("local", overrides={"gateway": None, "tenants": [tenant()]}))
    assert f"{NS}:tenants: tenants reach their models and their apps through the gateway: add a gateway section" in err


def test_duplicate_names_and_namespaces(run):
    err = problems(run("local", overrides=tenants(
        tenant("a", "a.genai.localhost"), tenant("a", "b.genai.localhost"),
        tenant("c", "c.genai.localhost", namespace="tenant-a"))))
    assert f"{NS}:tenants[1].name: duplicate tenant name 'a' (also tenants[0]); each tenant needs a name of its own" in err
    assert f"{NS}:tenants[2].namespace: namespace 'tenant-a' is already tenants[0]'s; each tenant gets a namespace " \
           "of its own" in err


@pytest.mark.parametrize("namespace, owner", [
    ("genai-models", "is already namespaces.models"),
    ("genai-data", "is already databases.namespace"),
    ("cnpg-system", "is already databases.postgres.operatorNamespace"),
    ("envoy-gateway-system", "is already gateway.controllerNamespace"),
    ("cert-manager", "is already cert-manager's namespace"),
    ("kube-system", "belongs to Kubernetes"),
])
def test_a_tenant_namespace_is_never_a_platform_namespace(run, namespace, owner):
    err = problems(run("local", overrides=tenants(tenant(namespace=namespace))))
    assert f"{NS}:tenants[0].namespace: '{namespace}' {owner}" in err


def test_app_hostnames_collide_with_the_api_and_with_each_other(run):
    err = problems(run("local", overrides=tenants(
        tenant("a", "api.genai.localhost"),
        tenant("b", "chat.genai.localhost", app={"kind": "custom", "image": "ghcr.io/acme/rag:1.0.0", "path": "/b"}),
        tenant("c", "chat.genai.localhost", app={"kind": "custom", "image": "ghcr.io/acme/rag:1.0.0", "path": "/b"}),
        tenant("d", "chat.genai.localhost"),
    )))
    assert f"{NS}:tenants[0].app.hostname: api.genai.localhost is gateway.hostname, the host of the model API; " \
           "give the app a hostname of its own" in err
    assert f"{NS}:tenants[2].app.hostname: https://chat.genai.localhost/b is already tenants[1]'s app" in err
    assert f"{NS}:tenants[3].app.hostname: chat.genai.localhost is also tenants[1]'s app, and Open WebUI serves " \
           "every path of its host (it must own '/')" in err


def test_open_webui_only_serves_from_the_root(run):
    err = problems(run("local", overrides=tenants(tenant(app={"path": "/chat"}))))
    assert f"{NS}:tenants[0].app.path: Open WebUI only serves from the root of its host, not from '/chat': " \
           "set path to '/'" in err


def test_quota_below_what_the_app_and_ingestion_need(run):
    ingestion = {"image": "ghcr.io/acme/ingest:1.0.0", "source": "s3://docs/demo",
                 "preprocess": {"image": "ghcr.io/acme/ocr:2.0.0"}}
    err = problems(run("local", overrides=tenants(tenant(
        quota={"cpu": "2", "memory": "8Gi", "pods": 5}, ingestion=ingestion,
        app={"replicas": {"min": 1, "max": 4}, "resources": {"cpu": "250m", "cpuLimit": "500m", "memory": "1Gi"}}))))
    # 4 x 500m + 2 x 500m (ingestion and preprocess) + 500m (session store) CPU;
    # 4 x 1Gi (a limit left out equals the request) + 2 x 2Gi + 256Mi memory (limits).
    assert f"{NS}:tenants[0].quota.cpu: 2 is below the 3500m CPU (app.replicas.max 4 x the app's resources plus the " \
           "ingestion job and its preprocess job plus the session store, requests and limits alike)" in err
    assert f"{NS}:tenants[0].quota.memory: 8Gi is below the 8448Mi" in err
    assert "raise it, or lower the app's replicas.max or resources" in err
    assert f"{NS}:tenants[0].quota.pods: 5 is below 7: app.replicas.max 4, one more during a rolling update" in err


def test_a_dedicated_database_must_fit_the_storage_quota(run):
    err = problems(run("local", overrides=tenants(tenant(
        quota={"storageGiB": 20, "persistentVolumeClaims": 1},
        database={"mode": "dedicated", "instances": 3, "storageGiB": 10}))))
    assert f"{NS}:tenants[0].quota.storageGiB: 20 is below the 30 GiB of the dedicated database " \
           "(database.storageGiB 10 x instances 3): raise it or shrink the database" in err
    assert f"{NS}:tenants[0].quota.persistentVolumeClaims: 1 is below the 3 volumes of the dedicated database" in err
    assert f"{NS}:tenants[0].quota.pods: 50 is below" not in err


def test_app_resources_against_the_limit_range_and_their_own_requests(run):
    err = problems(run("local", overrides=tenants(tenant(
        limits={"maxCpu": "1", "maxMemory": "1Gi"},
        app={"resources": {"cpu": "1500m", "cpuLimit": "1", "memory": "512Mi", "memoryLimit": "2Gi"}}))))
    assert f"{NS}:tenants[0].app.resources.cpuLimit: 1 is below the request 1500m; raise it or lower the request" in err
    assert f"{NS}:tenants[0].app.resources.memoryLimit: 2Gi is above limits.maxMemory 1Gi of the tenant namespace, " \
           "so its pods would be refused" in err


def test_limit_range_defaults_above_its_maximum(run):
    err = problems(run("local", overrides=tenants(tenant(limits={"maxCpu": "250m", "defaultRequestMemory": "1Gi"}))))
    assert f"{NS}:tenants[0].limits.defaultCpu: 500m is above limits.maxCpu 250m" in err
    assert f"{NS}:tenants[0].limits.defaultRequestMemory: 1Gi is above limits.defaultMemory 512Mi" in err


def test_a_zero_rate_limit_is_a_field_error(run):
    err = problems(run("local", overrides=tenants(tenant(rateLimit={"requestsPerMinute": 0}))))
    assert f"{NS}:tenants[0].rateLimit.requestsPerMinute: must be >= 1" in err


def test_app_models_must_exist_with_the_right_task(run):
    err = problems(run("local", overrides=tenants(tenant(app={
        "chatModel": "embed", "embeddingModel": "nomic", "rerankModel": "rerank"}))))
    assert f"{NS}:tenants[0].app.chatModel: 'embed' is an embed model; chatModel needs a generate model (chat)" in err
    assert f"{NS}:tenants[0].app.embeddingModel: 'nomic' is not a model of this stack (models: chat, embed, rerank)" in err
    assert "rerankModel" not in err


def test_a_stack_without_a_generate_model_cannot_have_tenants(run):
    err = problems(run("local", overrides=tenants(tenant(), models=[EMBED])))
    assert f"{NS}:tenants[0].app.chatModel: this stack serves no generate model, and the app chats with one: " \
           "add a generate model to models" in err


def test_a_custom_app_needs_its_image_and_env_keeps_no_secrets(run):
    err = problems(run("local", overrides=tenants(tenant(app={"kind": "custom", "env": {
        "VECTOR_DB_PASSWORD": "hunter2", "CHAT_MODEL": "chat", "MAX_TOKENS": "512", "ENABLE_API_KEY": "true"}}))))
    assert f"{NS}:tenants[0].app.image: required when app.kind is 'custom'" in err
    assert f"{NS}:tenants[0].app.env.VECTOR_DB_PASSWORD: looks like a credential" in err
    assert "from the tenant Secret 'tenant-env'" in err
    assert f"{NS}:tenants[0].app.env.CHAT_MODEL: set by the platform from the tenant ConfigMap" in err
    assert "MAX_TOKENS" not in err and "ENABLE_API_KEY" not in err


def test_qdrant_store_needs_the_platforms_qdrant(run):
    databases = {"serviceMonitors": False, "postgres": {"instances": 1, "storageGiB": 5}}
    err = problems(run("local", overrides=tenants(tenant(vector={"store": "qdrant"}), databases=databases)))
    assert f"{NS}:tenants[0].vector.store: 'qdrant' needs the platform's Qdrant, and this stack has no " \
           "databases.vector: set databases.vector.engine to 'qdrant'" in err


def test_tenants_need_the_postgres_cluster(run):
    databases = {"serviceMonitors": False, "vector": {"engine": "qdrant", "replicas": 1, "storageGiB": 5}}
    err = problems(run("local", overrides=tenants(tenant(), databases=databases)))
    assert f"{NS}:databases.postgres: required with tenants: each tenant's database" in err
    assert "add databases.postgres" in err


def test_gpu_quota_on_a_cpu_only_stack_and_empty_groups(run):
    err = problems(run("local", overrides=tenants(tenant(quota={"gpus": 1}, rbac={"viewGroups": ["readers", " "]}))))
    assert f"{NS}:tenants[0].quota.gpus: 1 GPUs, but this stack has no GPU pools: set it to 0 or add gpuPools" in err
    assert f"{NS}:tenants[0].rbac.viewGroups[1]: must not be empty" in err


def test_tenant_rules_run_beside_errors_of_other_sections(run):
    err = problems(run("local", overrides={**tenants(tenant("a"), tenant("a", "b.genai.localhost")),
                                           "storage": {"rwo": {"clasName": "x"}}}))
    assert f"{NS}:storage.rwo.clasName: unknown key" in err
    assert f"{NS}:tenants[1].name: duplicate tenant name 'a'" in err


# --- what passes ----------------------------------------------------------------------------

def test_the_brief_tenant_passes_config_loading(run):
    result = run("local", overrides=tenants(tenant()))
    assert result.error is None, result.error


def test_an_open_webui_image_override_and_a_second_tenant_pass(run):
    result = run("local", overrides=tenants(
        tenant(app={"image": "ghcr.io/open-webui/open-webui:v0.6.5"}),
        tenant("docs", "docs.genai.localhost", app={"kind": "custom", "image": "ghcr.io/acme/rag:1.4.2",
                                                    "env": {"RAG_TOP_K": "5"}})))
    assert result.error is None, result.error


def _config(**overrides: Any) -> PlatformConfig:
    base = {"models": [{"name": "chat", "wellKnown": "qwen2.5-1.5b-instruct-gguf"}, EMBED],
            "databases": {"postgres": {"instances": 1}}, "gateway": GATEWAY, "tenants": [tenant()]}
    return PlatformConfig.model_validate({**base, **overrides})


def test_milvus_with_an_unset_store_is_fine_and_pgvector_needs_no_vector_engine():
    milvus = _config(databases={"postgres": {"instances": 1}, "vector": {"engine": "milvus"}})
    assert tenancy_problems(milvus) == []
    pgvector = _config(tenants=[tenant(vector={"store": "pgvector"})])
    assert tenancy_problems(pgvector) == []
    qdrant = _config(tenants=[tenant(vector={"store": "qdrant", "dimension": 384},
                                     app={"kind": "custom", "image": "ghcr.io/acme/rag:1.0.0"})],
                     databases={"postgres": {"instances": 1}, "vector": {"engine": "milvus"}})
    assert [p for p, _ in tenancy_problems(qdrant)] == ["tenants[0].vector.store"]


def test_qdrant_store_needs_a_custom_app_and_a_dimension(run):
    err = problems(run("local", overrides=tenants(
        tenant("a", "a.genai.localhost", vector={"store": "qdrant"}),
        tenant("b", "b.genai.localhost", vector={"dimension": 384}))))
    assert f"{NS}:tenants[0].vector.store: Open WebUI creates and names its own Qdrant collections" in err
    assert f"{NS}:tenants[0].vector.dimension: required with store 'qdrant'" in err
    assert f"{NS}:tenants[1].vector.dimension: only applies with store 'qdrant'" in err


def test_jwt_auth_leaves_the_default_app_without_a_key(run):
    jwt = {**GATEWAY, "auth": {"mode": "jwt", "jwt": {"issuer": "https://login.example.com",
                                                      "jwksUri": "https://login.example.com/keys"}}}
    err = problems(run("local", overrides={"gateway": jwt, "tenants": [tenant()]}))
    assert f"{NS}:tenants[0].app.kind: Open WebUI calls the gateway with the tenant's API key, and " \
           "gateway.auth.mode 'jwt' issues none" in err


def test_the_session_store_counts_against_the_quota(run):
    # Two app replicas of 1 CPU fill a 2-CPU quota; Open WebUI's session store needs its share too.
    err = problems(run("local", overrides=tenants(tenant(
        quota={"cpu": "2", "memory": "16Gi"},
        app={"replicas": {"min": 1, "max": 2}, "resources": {"cpu": "1", "memory": "1Gi"}}))))
    assert f"{NS}:tenants[0].quota.cpu: 2 is below the 2500m CPU (app.replicas.max 2 x the app's resources plus " \
           "the session store" in err


def test_qdrant_store_needs_the_platforms_own_key(run):
    custom = {"kind": "custom", "image": "ghcr.io/acme/rag:1.0.0"}
    err = problems(run("local", overrides=tenants(
        tenant(vector={"store": "qdrant", "dimension": 384}, app=custom),
        databases={"postgres": {"instances": 1},
                   "vector": {"engine": "qdrant", "credentials": {"existingSecret": "qdrant-key"}}})))
    assert f"{NS}:tenants[0].vector.store: 'qdrant' needs the platform's own Qdrant API key" in err
