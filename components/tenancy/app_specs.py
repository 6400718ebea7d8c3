"""Pure builders for a tenant's chat/RAG application (Open WebUI, or the tenant's own image).

- ``open_webui_config`` / ``open_webui_secret_env``: Open WebUI's own variables, mapped from
  the tenant ConfigMap's values (plain) and the tenant Secret's keys (``secretKeyRef`` only);
- ``deployment``, ``service``, ``autoscaler``, ``disruption_budget``, ``http_route``: the
  objects of ``TenantApp``.

Open WebUI (v0.12.4) is configured from the environment only: persistent config is off, so
what this file sets wins on every start instead of whatever an admin once saved in the
database. It talks to models through the gateway's internal listener with the tenant's key,
embeds through the same gateway, keeps users/chats in the tenant's Postgres database,
vectors in its Qdrant collections or pgvector, and websocket sessions in its Valkey user's
key prefix so that every replica sees every session.

Reranking is left off for Open WebUI: its ``external`` reranker posts Cohere-style
``{"model","query","documents","top_n"}`` and reads ``results[].relevance_score``, while the
platform's rerankers (TEI ``/rerank``) take ``{"query","texts"}`` and answer a bare list of
``{"index","score"}``. Custom images still get RERANK_MODEL and RERANK_URL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Optional

from components.common.k8s import topology_spread
from components.common.labels import standard_labels
from components.common.security import Resources, secure_pod_spec
from components.edge.contracts import TENANT_LABEL, GatewayEndpoints
from components.tenancy import contracts as c
from components.tenancy.contracts import AppSettings, ModelChoice

OPEN_WEBUI_IMAGE = "ghcr.io/open-webui/open-webui:v0.12.4"
OPEN_WEBUI = "open-webui"
CUSTOM = "custom"
COMPONENT = "chat-app"                    # the tenancy NetworkPolicies select pods by it
NAME = "chat-app"                         # Deployment, Service, HPA, PDB and HTTPRoute
CONFIG_NAME = "chat-app-env"              # Open WebUI's own variables
CONTAINER = "app"
PORT_NAME = "http"

# The image's data directory (Open WebUI's default DATA_DIR under /app/backend). Uploads,
# caches and the copied static assets land here; everything lasting is in Postgres, the
# vector store and Valkey, so an emptyDir is enough and the root filesystem stays read-only.
DATA_DIR = "/app/backend/data"
# Open WebUI copies the frontend's static files into STATIC_DIR at every start; the default
# sits inside the read-only image.
STATIC_DIR = f"{DATA_DIR}/static"
TMP_DIR = "/tmp"
DATA_SIZE = "2Gi"
TMP_SIZE = "1Gi"
# Open WebUI's readiness endpoint: startup finished, database and Redis answer.
OPEN_WEBUI_READY_PATH = "/ready"

STARTUP_PERIOD, STARTUP_FAILURES = 5, 60  # up to 5 min: the first start runs the DB migrations
# Envoy's route timeout runs from the end of the request to the end of the response, so a
# streamed (SSE) completion must finish within it; websockets are not cut by it.
REQUEST_TIMEOUT = "15m"

GATEWAY_API_GROUP = "gateway.networking.k8s.io"


def selector(settings: AppSettings) -> dict[str, str]:
    return {"app.kubernetes.io/name": app_name(settings), "app.kubernetes.io/component": COMPONENT}


def app_name(settings: AppSettings) -> str:
    return OPEN_WEBUI if settings.kind == OPEN_WEBUI else f"{CUSTOM}-{COMPONENT}"


def labels(settings: AppSettings, tenant: str) -> dict[str, str]:
    return {**standard_labels(app_name(settings), tenant, COMPONENT), TENANT_LABEL: tenant}


def image(settings: AppSettings) -> str:
    if settings.image:
        return settings.image
    if settings.kind == CUSTOM:
        raise ValueError("a custom app needs its image")
    return OPEN_WEBUI_IMAGE


def public_url(settings: AppSettings) -> str:
    return f"https://{settings.hostname}{'' if settings.path == '/' else settings.path}"


def resources(settings: AppSettings) -> Resources:
    return Resources(cpu_request=settings.cpu, memory_request=settings.memory,
                     cpu_limit=settings.cpu_limit or settings.cpu,
                     memory_limit=settings.memory_limit or settings.memory)


def _secret(name: str, secret: str, key: str, optional: bool = False) -> dict:
    ref: dict = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


# Open WebUI's keys in its own session store (the store is the tenant's alone).
SESSION_KEY_PREFIX = "open-webui"


def open_webui_config(config: Mapping[str, str], settings: AppSettings, models: ModelChoice) -> dict[str, str]:
    """Open WebUI's plain variables from the tenant ConfigMap's values."""
    env: dict[str, str] = {
        "DATA_DIR": DATA_DIR,
        "STATIC_DIR": STATIC_DIR,
        # The image's HOME (/root) is neither ours nor writable; libraries cache under it.
        "HOME": TMP_DIR,
        "PORT": str(settings.port),
        "WEBUI_URL": public_url(settings),
        "CORS_ALLOW_ORIGIN": f"https://{settings.hostname}",
        "WEBUI_SESSION_COOKIE_SECURE": "true",
        # The environment is the configuration; admin edits don't outlive a restart.
        "ENABLE_PERSISTENT_CONFIG": "false",
        # The first account created becomes the admin (Open WebUI admits it with signup off);
        # everyone else is invited by that admin and starts pending.
        "ENABLE_SIGNUP": "false",
        "DEFAULT_USER_ROLE": "pending",
        "ENABLE_COMMUNITY_SHARING": "false",
        "ENABLE_OLLAMA_API": "false",
        "ENABLE_OPENAI_API": "true",
        "OPENAI_API_BASE_URL": config[c.OPENAI_BASE_URL],
        # No hub downloads, no update checks, no analytics: models are remote, egress is closed.
        "OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "SCARF_NO_ANALYTICS": "true",
        "DO_NOT_TRACK": "true",
        "ANONYMIZED_TELEMETRY": "false",
    }
    chat = config.get(c.CHAT_MODEL) or models.chat
    if chat:
        env["DEFAULT_MODELS"] = chat
    embedding = embedding_model(config, models)
    if embedding:
        env.update({"RAG_EMBEDDING_ENGINE": "openai", "RAG_EMBEDDING_MODEL": embedding,
                    "RAG_OPENAI_API_BASE_URL": config[c.OPENAI_BASE_URL]})
    else:
        # Without an embedding model the local default would be loaded from the hub, which
        # is closed: documents go into the prompt whole instead.
        env["BYPASS_EMBEDDING_AND_RETRIEVAL"] = "true"
    store = config.get(c.VECTOR_STORE)
    if store == "qdrant":
        env.update({"VECTOR_DB": "qdrant", "QDRANT_URI": config[c.VECTOR_URL]})
        if config.get(c.VECTOR_COLLECTION):
            env["QDRANT_COLLECTION_PREFIX"] = config[c.VECTOR_COLLECTION]
    elif store == "pgvector":
        env["VECTOR_DB"] = "pgvector"
    elif store is not None:
        raise ValueError(f"unknown vector store {store!r}")
    # Replicas share websocket sessions through Redis. python-socketio's channels are fixed
    # (``socketio``, ``socketio#<namespace>#<room>``), so they can't be kept apart on the shared
    # cache: Open WebUI uses the tenant's own session store (SESSION_REDIS_URL) instead.
    env.update({"REDIS_KEY_PREFIX": SESSION_KEY_PREFIX, "ENABLE_WEBSOCKET_SUPPORT": "true",
                "WEBSOCKET_MANAGER": "redis"})
    # The stack's own tuning (RAG_TOP_K, CHUNK_SIZE, ...) has the last word.
    return {**env, **dict(settings.env)}


def embedding_model(config: Mapping[str, str], models: ModelChoice) -> Optional[str]:
    return config.get(c.EMBEDDING_MODEL) or models.embedding


def open_webui_secret_env(config: Mapping[str, str], models: ModelChoice, secret: str) -> list[dict]:
    """Open WebUI's secret variables, each a reference to a key of the tenant Secret."""
    env = [
        _secret("WEBUI_SECRET_KEY", secret, c.APP_SECRET_KEY),
        _secret("DATABASE_URL", secret, c.DATABASE_URL),
        # Absent when the gateway authenticates with JWTs instead of tenant keys.
        _secret("OPENAI_API_KEY", secret, c.OPENAI_API_KEY, optional=True),
    ]
    if embedding_model(config, models):
        env.append(_secret("RAG_OPENAI_API_KEY", secret, c.OPENAI_API_KEY, optional=True))
    store = config.get(c.VECTOR_STORE)
    if store == "qdrant":
        env.append(_secret("QDRANT_API_KEY", secret, c.VECTOR_API_KEY))
    elif store == "pgvector":
        env.append(_secret("PGVECTOR_DB_URL", secret, c.DATABASE_URL))
    env += [_secret("REDIS_URL", secret, c.SESSION_REDIS_URL),
            _secret("WEBSOCKET_REDIS_URL", secret, c.SESSION_REDIS_URL)]
    return env


def config_map(namespace: str, tenant: str, settings: AppSettings, data: Mapping[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIG_NAME, "namespace": namespace, "labels": labels(settings, tenant)},
            "data": dict(data)}


def checksum(*maps: Mapping[str, str]) -> str:
    """A digest of the environment's plain values: pods roll when it changes (envFrom doesn't)."""
    return hashlib.sha256(json.dumps([dict(m) for m in maps], sort_keys=True).encode()).hexdigest()[:16]


def probes(settings: AppSettings) -> dict:
    def get(path: str) -> dict:
        return {"httpGet": {"path": path, "port": PORT_NAME}}
    ready = OPEN_WEBUI_READY_PATH if settings.kind == OPEN_WEBUI else settings.health_path
    return {
        "startupProbe": {**get(settings.health_path), "periodSeconds": STARTUP_PERIOD,
                         "failureThreshold": STARTUP_FAILURES, "timeoutSeconds": 3},
        "readinessProbe": {**get(ready), "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 5},
        "livenessProbe": {**get(settings.health_path), "periodSeconds": 20, "failureThreshold": 3,
                          "timeoutSeconds": 5},
    }


def container_env(config: Mapping[str, str], settings: AppSettings, models: ModelChoice,
                  secret: str) -> tuple[list[dict], list[dict]]:
    """(envFrom, env) of the app container."""
    if settings.kind == OPEN_WEBUI:
        return [{"configMapRef": {"name": CONFIG_NAME}}], open_webui_secret_env(config, models, secret)
    # A custom image reads the contract itself, plus its own extra settings.
    env_from = [{"configMapRef": {"name": c.TENANT_CONFIG}}, {"secretRef": {"name": secret}}]
    return env_from, [{"name": k, "value": v} for k, v in sorted(settings.env.items())]


def deployment(namespace: str, tenant: str, settings: AppSettings, models: ModelChoice, config: Mapping[str, str],
               secret: str, env_checksum: str) -> dict:
    env_from, env = container_env(config, settings, models, secret)
    mounts = [{"name": "tmp", "mountPath": TMP_DIR}]
    volumes: list[dict] = [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}]
    if settings.kind == OPEN_WEBUI:
        mounts.append({"name": "data", "mountPath": DATA_DIR})
        volumes.append({"name": "data", "emptyDir": {"sizeLimit": DATA_SIZE}})
    container: dict = {
        "name": CONTAINER,
        "image": image(settings),
        "ports": [{"name": PORT_NAME, "containerPort": settings.port, "protocol": "TCP"}],
        "envFrom": env_from,
        "resources": resources(settings).to_k8s(),
        "volumeMounts": mounts,
        **probes(settings),
    }
    if env:
        container["env"] = env
    sel = selector(settings)
    pod = secure_pod_spec(
        [container],
        volumes=volumes,
        # Service links would add variables for every Service in the namespace.
        enableServiceLinks=False,
        topologySpreadConstraints=topology_spread(sel, zone_spread=False),
    )
    meta_labels = labels(settings, tenant)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": namespace, "labels": meta_labels},
        "spec": {
            "replicas": settings.min_replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": sel},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": meta_labels,
                             "annotations": {"genai-platform.io/env-checksum": env_checksum}},
                "spec": pod,
            },
        },
    }


def service(namespace: str, tenant: str, settings: AppSettings) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": namespace, "labels": labels(settings, tenant)},
        "spec": {"type": "ClusterIP", "selector": selector(settings),
                 "ports": [{"name": PORT_NAME, "port": settings.port, "targetPort": PORT_NAME, "protocol": "TCP"}]},
    }


def autoscaler(namespace: str, tenant: str, settings: AppSettings) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": NAME, "namespace": namespace, "labels": labels(settings, tenant)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
            "minReplicas": settings.min_replicas,
            "maxReplicas": settings.max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": settings.target_cpu_utilization}}}],
        },
    }


def disruption_budget(namespace: str, tenant: str, settings: AppSettings) -> dict:
    # One replica can't stay up through a drain; a budget of minAvailable 1 would block it.
    budget = {"minAvailable": 1} if settings.min_replicas > 1 else {"maxUnavailable": 1}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": NAME, "namespace": namespace, "labels": labels(settings, tenant)},
        "spec": {**budget, "selector": {"matchLabels": selector(settings)}},
    }


def http_route(namespace: str, tenant: str, settings: AppSettings, gateway: GatewayEndpoints) -> dict:
    return {
        "apiVersion": f"{GATEWAY_API_GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": NAME, "namespace": namespace, "labels": labels(settings, tenant)},
        "spec": {
            "parentRefs": [{"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": gateway.public_gateway,
                            "namespace": gateway.gateway_namespace, "sectionName": gateway.https_listener}],
            "hostnames": [settings.hostname],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": settings.path}}],
                "backendRefs": [{"name": NAME, "port": settings.port}],
                "timeouts": {"request": REQUEST_TIMEOUT},
            }],
        },
    }


def validate(settings: AppSettings) -> Optional[str]:
    """A problem the schema can't see, or None."""
    if settings.min_replicas > settings.max_replicas:
        return f"min_replicas {settings.min_replicas} exceeds max_replicas {settings.max_replicas}"
    if settings.kind not in (OPEN_WEBUI, CUSTOM):
        return f"unknown app kind {settings.kind!r}"
    if settings.kind == CUSTOM and not settings.image:
        return "a custom app needs its image"
    return None
