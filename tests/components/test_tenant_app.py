"""The tenant's chat/RAG app: Open WebUI's environment from the tenant contract (plain values
in its ConfigMap, secrets only by reference), the custom-image variant, the Deployment's
probes and read-only filesystem, HPA, PDB and the HTTPRoute; every object against the
Kubernetes and Gateway API schemas; the component under the plan's recording mocks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from component_programs import run_component_program

from components.edge.contracts import TENANT_LABEL, GatewayEndpoints
from components.tenancy import app_specs as s
from components.tenancy import contracts as c
from infra.plan.validate import validate_manifest

NS, TENANT, SECRET = "tenant-acme", "acme", "tenant-env"
GATEWAY = GatewayEndpoints(
    public_url="https://ai.example.com",
    internal_url="http://genai-gateway-internal.envoy-gateway-system.svc.cluster.local",
    controller_namespace="envoy-gateway-system",
    gateway_namespace="genai-gateway",
)
MODELS = c.ModelChoice(chat="llama-3-8b", embedding="bge-m3", rerank="bge-reranker",
                       rerank_url="http://genai-gateway-internal.envoy-gateway-system.svc.cluster.local/models/bge-reranker/rerank")
SETTINGS = c.AppSettings(hostname="chat.acme.example.com")
QDRANT_CONFIG = {
    c.TENANT_NAME: TENANT,
    c.OPENAI_BASE_URL: GATEWAY.openai_base_url,
    c.OPENAI_PUBLIC_URL: "https://ai.example.com/v1",
    c.CHAT_MODEL: "llama-3-8b",
    c.EMBEDDING_MODEL: "bge-m3",
    c.RERANK_MODEL: "bge-reranker",
    c.RERANK_URL: MODELS.rerank_url or "",
    c.PGHOST: "postgres-rw.genai-data.svc.cluster.local",
    c.PGPORT: "5432",
    c.PGUSER: "acme",
    c.PGDATABASE: "acme",
    c.VECTOR_STORE: "qdrant",
    c.VECTOR_URL: "http://qdrant.genai-data.svc.cluster.local:6333",
    c.VECTOR_COLLECTION: "acme",
    c.REDIS_KEY_PREFIX: "acme",
}
PGVECTOR_CONFIG = {**{k: v for k, v in QDRANT_CONFIG.items() if k not in (c.VECTOR_URL, c.VECTOR_COLLECTION)},
                   c.VECTOR_STORE: "pgvector"}
CUSTOM = dataclasses.replace(SETTINGS, kind="custom", image="ghcr.io/acme/rag:1.4.2", health_path="/healthz",
                             port=9000, env={"LOG_LEVEL": "info"})


def deployment(settings: c.AppSettings = SETTINGS, config=QDRANT_CONFIG, models=MODELS) -> dict:
    env = s.open_webui_config(config, settings, models) if settings.kind == s.OPEN_WEBUI else {}
    return s.deployment(NS, TENANT, settings, models, config, SECRET, s.checksum(config, env))


def container(dep: dict) -> dict:
    (only,) = dep["spec"]["template"]["spec"]["containers"]
    return only


def secret_refs(dep: dict) -> dict[str, dict]:
    out = {}
    for e in container(dep).get("env", []):
        assert "value" not in e, f"{e['name']} must come from the Secret, not a literal"
        out[e["name"]] = e["valueFrom"]["secretKeyRef"]
    return out


def all_objects(settings: c.AppSettings, config: dict) -> list[dict]:
    objs = [deployment(settings, config), s.service(NS, TENANT, settings), s.autoscaler(NS, TENANT, settings),
            s.disruption_budget(NS, TENANT, settings), s.http_route(NS, TENANT, settings, GATEWAY)]
    if settings.kind == s.OPEN_WEBUI:
        objs.append(s.config_map(NS, TENANT, settings, s.open_webui_config(config, settings, MODELS)))
    return objs


# --- schemas --------------------------------------------------------------------------------

@pytest.mark.parametrize("settings,config", [(SETTINGS, QDRANT_CONFIG), (SETTINGS, PGVECTOR_CONFIG),
                                             (CUSTOM, QDRANT_CONFIG),
                                             (dataclasses.replace(SETTINGS, min_replicas=1), QDRANT_CONFIG)])
def test_every_object_passes_its_schema(settings, config):
    for obj in all_objects(settings, config):
        assert validate_manifest(obj, "1.33") == [], obj["kind"]


def test_the_route_schema_check_is_real():
    route = s.http_route(NS, TENANT, SETTINGS, GATEWAY)
    route["spec"]["rules"][0]["timeouts"]["request"] = "fifteen minutes"
    assert validate_manifest(route, "1.33") != []


# --- Open WebUI's environment ---------------------------------------------------------------

def test_contract_values_map_to_open_webui_variables():
    env = s.open_webui_config(QDRANT_CONFIG, SETTINGS, MODELS)
    assert env["OPENAI_API_BASE_URL"] == QDRANT_CONFIG[c.OPENAI_BASE_URL] == \
        "http://genai-gateway-internal.envoy-gateway-system.svc.cluster.local/v1"
    assert env["DEFAULT_MODELS"] == "llama-3-8b"
    assert (env["RAG_EMBEDDING_ENGINE"], env["RAG_EMBEDDING_MODEL"], env["RAG_OPENAI_API_BASE_URL"]) == \
        ("openai", "bge-m3", QDRANT_CONFIG[c.OPENAI_BASE_URL])
    assert (env["VECTOR_DB"], env["QDRANT_URI"], env["QDRANT_COLLECTION_PREFIX"]) == \
        ("qdrant", "http://qdrant.genai-data.svc.cluster.local:6333", "acme")
    assert (env["REDIS_KEY_PREFIX"], env["WEBSOCKET_MANAGER"], env["ENABLE_WEBSOCKET_SUPPORT"]) == \
        ("open-webui", "redis", "true")
    assert env["ENABLE_OLLAMA_API"] == "false"
    assert "BYPASS_EMBEDDING_AND_RETRIEVAL" not in env


def test_secrets_reach_open_webui_only_by_reference():
    refs = secret_refs(deployment())
    assert refs == {
        "WEBUI_SECRET_KEY": {"name": SECRET, "key": c.APP_SECRET_KEY},
        "DATABASE_URL": {"name": SECRET, "key": c.DATABASE_URL},
        "OPENAI_API_KEY": {"name": SECRET, "key": c.OPENAI_API_KEY, "optional": True},
        "RAG_OPENAI_API_KEY": {"name": SECRET, "key": c.OPENAI_API_KEY, "optional": True},
        "QDRANT_API_KEY": {"name": SECRET, "key": c.VECTOR_API_KEY},
        "REDIS_URL": {"name": SECRET, "key": c.SESSION_REDIS_URL},
        "WEBSOCKET_REDIS_URL": {"name": SECRET, "key": c.SESSION_REDIS_URL},
    }
    env = s.open_webui_config(QDRANT_CONFIG, SETTINGS, MODELS)
    assert not set(refs) & set(env), "a variable set both plainly and from the Secret"
    assert container(deployment())["envFrom"] == [{"configMapRef": {"name": s.CONFIG_NAME}}]


def test_pgvector_uses_the_tenant_database():
    env = s.open_webui_config(PGVECTOR_CONFIG, SETTINGS, MODELS)
    assert env["VECTOR_DB"] == "pgvector" and "QDRANT_URI" not in env
    refs = secret_refs(deployment(config=PGVECTOR_CONFIG))
    assert refs["PGVECTOR_DB_URL"] == {"name": SECRET, "key": c.DATABASE_URL}
    assert "QDRANT_API_KEY" not in refs


def test_no_embedding_model_bypasses_retrieval_instead_of_loading_a_local_model():
    config = {k: v for k, v in QDRANT_CONFIG.items() if k != c.EMBEDDING_MODEL}
    models = dataclasses.replace(MODELS, embedding=None)
    env = s.open_webui_config(config, SETTINGS, models)
    assert env["BYPASS_EMBEDDING_AND_RETRIEVAL"] == "true" and "RAG_EMBEDDING_ENGINE" not in env
    assert "RAG_OPENAI_API_KEY" not in secret_refs(deployment(config=config, models=models))


def test_sessions_use_the_tenant_store_never_the_shared_cache():
    # python-socketio's channel names are fixed, so sharing the platform cache would let one
    # tenant read another's streamed chats: Open WebUI only ever gets its own store's URL.
    refs = secret_refs(deployment(config=QDRANT_CONFIG))
    assert refs["REDIS_URL"]["key"] == refs["WEBSOCKET_REDIS_URL"]["key"] == c.SESSION_REDIS_URL
    assert c.REDIS_URL not in {r["key"] for r in refs.values()}

def test_locked_down_defaults():
    env = s.open_webui_config(QDRANT_CONFIG, SETTINGS, MODELS)
    assert env["ENABLE_PERSISTENT_CONFIG"] == "false"
    assert (env["ENABLE_SIGNUP"], env["DEFAULT_USER_ROLE"]) == ("false", "pending")
    assert (env["OFFLINE_MODE"], env["HF_HUB_OFFLINE"]) == ("true", "1")
    assert (env["SCARF_NO_ANALYTICS"], env["DO_NOT_TRACK"], env["ANONYMIZED_TELEMETRY"]) == ("true", "true", "false")
    assert env["ENABLE_COMMUNITY_SHARING"] == "false"
    assert env["WEBUI_URL"] == "https://chat.acme.example.com"
    assert env["CORS_ALLOW_ORIGIN"] == "https://chat.acme.example.com"
    assert env["WEBUI_SESSION_COOKIE_SECURE"] == "true"
    assert env["PORT"] == "8080"


def test_extra_env_tunes_open_webui():
    settings = dataclasses.replace(SETTINGS, env={"RAG_TOP_K": "8"})
    assert s.open_webui_config(QDRANT_CONFIG, settings, MODELS)["RAG_TOP_K"] == "8"


def test_reranking_stays_off_for_open_webui():
    env = s.open_webui_config(QDRANT_CONFIG, SETTINGS, MODELS)
    assert not any(k.startswith("RAG_RERANKING") or k.startswith("RAG_EXTERNAL_RERANKER") for k in env)


def test_the_pinned_image_and_a_rollout_on_config_change():
    dep = deployment()
    assert container(dep)["image"] == s.OPEN_WEBUI_IMAGE == "ghcr.io/open-webui/open-webui:v0.12.4"
    changed = deployment(config={**QDRANT_CONFIG, c.CHAT_MODEL: "qwen"})
    key = "genai-platform.io/env-checksum"
    assert dep["spec"]["template"]["metadata"]["annotations"][key] != \
        changed["spec"]["template"]["metadata"]["annotations"][key]


# --- the pod --------------------------------------------------------------------------------

def test_read_only_root_with_writable_data_static_and_tmp():
    dep = deployment()
    pod = dep["spec"]["template"]["spec"]
    ctr = container(dep)
    assert ctr["securityContext"]["readOnlyRootFilesystem"] is True
    assert ctr["securityContext"]["runAsNonRoot"] is True and ctr["securityContext"]["runAsUser"] != 0
    assert ctr["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m["name"] for m in ctr["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert set(mounts) == {s.DATA_DIR, "/tmp"}
    assert all("emptyDir" in volumes[name] for name in mounts.values())
    env = s.open_webui_config(QDRANT_CONFIG, SETTINGS, MODELS)
    assert env["DATA_DIR"] == s.DATA_DIR == "/app/backend/data"
    assert env["STATIC_DIR"].startswith(s.DATA_DIR + "/") and env["HOME"] == "/tmp"


def test_probes_requests_limits_and_labels():
    dep = deployment()
    ctr = container(dep)
    assert ctr["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert ctr["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert ctr["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert ctr["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "2Gi"}}
    assert ctr["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["app.kubernetes.io/component"] == "chat-app" and pod_labels[TENANT_LABEL] == TENANT
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    spread = dep["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "kubernetes.io/hostname"
    assert dep["spec"]["replicas"] == SETTINGS.min_replicas


def test_custom_image_reads_the_contract_whole():
    dep = deployment(CUSTOM)
    ctr = container(dep)
    assert ctr["image"] == "ghcr.io/acme/rag:1.4.2"
    assert ctr["envFrom"] == [{"configMapRef": {"name": c.TENANT_CONFIG}}, {"secretRef": {"name": SECRET}}]
    assert ctr["env"] == [{"name": "LOG_LEVEL", "value": "info"}]
    assert {p["httpGet"]["path"] for p in (ctr["startupProbe"], ctr["readinessProbe"], ctr["livenessProbe"])} == \
        {"/healthz"}
    assert ctr["ports"][0]["containerPort"] == 9000
    assert [m["mountPath"] for m in ctr["volumeMounts"]] == ["/tmp"]
    assert s.validate(dataclasses.replace(CUSTOM, image=None)) == "a custom app needs its image"


# --- scaling, disruption, routing -----------------------------------------------------------

def test_hpa_on_cpu():
    hpa = s.autoscaler(NS, TENANT, dataclasses.replace(SETTINGS, min_replicas=3, max_replicas=9,
                                                       target_cpu_utilization=60))
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": s.NAME}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 9)
    assert spec["metrics"][0]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}


def test_pdb_keeps_one_when_there_are_several_and_allows_a_drain_when_one():
    several = s.disruption_budget(NS, TENANT, SETTINGS)["spec"]
    one = s.disruption_budget(NS, TENANT, dataclasses.replace(SETTINGS, min_replicas=1))["spec"]
    assert several["minAvailable"] == 1 and "maxUnavailable" not in several
    assert one["maxUnavailable"] == 1 and "minAvailable" not in one
    assert several["selector"]["matchLabels"] == s.selector(SETTINGS)


def test_http_route_attaches_to_the_public_https_listener():
    settings = dataclasses.replace(SETTINGS, path="/chat")
    route = s.http_route(NS, TENANT, settings, GATEWAY)
    assert route["metadata"]["namespace"] == NS
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "genai",
                                            "namespace": "genai-gateway", "sectionName": "https"}]
    assert route["spec"]["hostnames"] == ["chat.acme.example.com"]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/chat"}}]
    assert rule["backendRefs"] == [{"name": s.NAME, "port": 8080}]
    assert rule["timeouts"]["request"] == "15m"
    svc = s.service(NS, TENANT, settings)["spec"]
    assert svc["type"] == "ClusterIP" and svc["ports"][0]["name"] == "http" and svc["ports"][0]["port"] == 8080
    assert s.public_url(settings) == "https://chat.acme.example.com/chat"


# --- the component ----------------------------------------------------------------------------

PROGRAM = '''
import pulumi
import pulumi_kubernetes as k8s
from components.edge.contracts import GatewayEndpoints
from components.tenancy import contracts as c
from components.tenancy.app import TenantApp, TenantAppArgs

provider = k8s.Provider("k8s", kubeconfig="{}")
gateway = GatewayEndpoints(public_url="https://ai.example.com",
                           internal_url="http://genai-gateway-internal.envoy-gateway-system.svc.cluster.local",
                           controller_namespace="envoy-gateway-system", gateway_namespace="genai-gateway")
config = {c.OPENAI_BASE_URL: gateway.openai_base_url, c.EMBEDDING_MODEL: "bge-m3", c.VECTOR_STORE: "pgvector",
          c.REDIS_KEY_PREFIX: "acme"}
app = TenantApp("acme-app", TenantAppArgs(
    provider=provider, tenant="acme", namespace="tenant-acme",
    settings=c.AppSettings(hostname="chat.acme.example.com"), gateway=gateway,
    models=c.ModelChoice(chat="llama", embedding="bge-m3"), config=config, protect=True))
pulumi.export("url", app.url)
'''


def test_component_registers_its_objects_with_the_explicit_provider(tmp_path: Path):
    result = run_component_program(tmp_path / "program", PROGRAM)
    monitor = result.monitor
    assert monitor.violations == []
    (component,) = monitor.by_type("genai:tenancy:App")
    children = {r.type: r for r in monitor.registrations if r.parent == component.urn}
    assert set(children) == {
        "kubernetes:core/v1:ConfigMap", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget",
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    }
    assert all(r.provider for r in children.values())
    dep = children["kubernetes:apps/v1:Deployment"]
    assert dep.protect and "spec.replicas" in dep.ignore_changes
    assert children["kubernetes:core/v1:ConfigMap"].urn in dep.dependencies
    assert children["kubernetes:core/v1:ConfigMap"].inputs["data"]["VECTOR_DB"] == "pgvector"
    assert monitor.stack_outputs["url"] == "https://chat.acme.example.com"
