"""Pure builders for the model routes in the gateway namespace.

- ``AIGatewayRoute`` OPENAI_ROUTE: one rule per OpenAI-speaking model, matched on the model
  header AI Gateway sets from the request body. A vLLM model without a canary goes to its
  InferencePool (AI Gateway allows one pool per rule and no mixing with other backends); any
  other model, and a model with a canary, goes to ``AIServiceBackend``s, weighted for a canary
  whose server answers to another model name (``modelNameOverride`` rewrites the request).
- ``AIServiceBackend`` + Envoy Gateway ``Backend`` per Service: an AIServiceBackend may only
  reference an EG ``Backend``, which names the Service by its cluster DNS name, so no
  cross-namespace reference is needed for it.
- ``HTTPRoute`` MODEL_PATH_ROUTE: ``/models/<name>/`` rewritten to ``/`` for APIs that are
  not OpenAI's (TEI rerank, Triton KServe v2), straight to the model Service.
- ``ReferenceGrant`` in the models namespace: the routes (AI Gateway renders the
  AIGatewayRoute as an HTTPRoute of the same name) may reference InferencePools and Services.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

from components.edge.contracts import (
    HTTPS_LISTENER,
    INPUT_TOKENS_KEY,
    INTERNAL_GATEWAY,
    INTERNAL_LISTENER,
    MODEL_HEADER,
    MODEL_PATH_PREFIX,
    MODEL_PATH_ROUTE,
    OPENAI_ROUTE,
    OUTPUT_TOKENS_KEY,
    PUBLIC_GATEWAY,
    TOTAL_TOKENS_KEY,
    RoutedModel,
)
from components.edge.pools_specs import POOL_GROUP, POOL_KIND, pool_name

AI_GATEWAY_API = "aigateway.envoyproxy.io/v1beta1"
AI_GATEWAY_GROUP = "aigateway.envoyproxy.io"
EG_API = "gateway.envoyproxy.io/v1alpha1"
EG_GROUP = "gateway.envoyproxy.io"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
HTTPROUTE_API = "gateway.networking.k8s.io/v1"
REFERENCE_GRANT_API = "gateway.networking.k8s.io/v1"


def parent_refs(gateway_namespace: str) -> list[dict]:
    """Both Gateways: clients over HTTPS, tenant apps and jobs over the internal listener."""
    return [
        {"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": PUBLIC_GATEWAY, "namespace": gateway_namespace,
         "sectionName": HTTPS_LISTENER},
        {"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": INTERNAL_GATEWAY, "namespace": gateway_namespace,
         "sectionName": INTERNAL_LISTENER},
    ]


def service_host(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc.cluster.local"


def backend_name(service: str) -> str:
    return f"model-{service}"


def eg_backend(service: str, port: int, gateway_namespace: str, models_namespace: str,
               labels: Mapping[str, str]) -> dict:
    return {
        "apiVersion": EG_API, "kind": "Backend",
        "metadata": {"name": backend_name(service), "namespace": gateway_namespace, "labels": dict(labels)},
        "spec": {"endpoints": [{"fqdn": {"hostname": service_host(service, models_namespace), "port": port}}]},
    }


def ai_service_backend(service: str, gateway_namespace: str, labels: Mapping[str, str]) -> dict:
    return {
        "apiVersion": AI_GATEWAY_API, "kind": "AIServiceBackend",
        "metadata": {"name": backend_name(service), "namespace": gateway_namespace, "labels": dict(labels)},
        "spec": {
            "schema": {"name": "OpenAI"},
            "backendRef": {"group": EG_GROUP, "kind": "Backend", "name": backend_name(service)},
        },
    }


def backend_services(models: Sequence[RoutedModel]) -> list[tuple[str, int]]:
    """Services reached through AIServiceBackends: non-pooled OpenAI models and both sides of a canary."""
    out: list[tuple[str, int]] = []
    for m in models:
        if not m.openai or m.pooled:
            continue
        out.append((m.service, m.port))
        if m.canary is not None:
            out.append((m.canary.service, m.port))
    return out


def _backend_refs(m: RoutedModel, models_namespace: str) -> list[dict]:
    if m.pooled:
        return [{"group": POOL_GROUP, "kind": POOL_KIND, "name": pool_name(m.name), "namespace": models_namespace}]
    if m.canary is None:
        return [{"name": backend_name(m.service)}]
    c = m.canary
    return [{"name": backend_name(m.service), "weight": 100 - c.weight},
            # The canary's server answers to its own name; clients keep asking for the stable one.
            {"name": backend_name(c.service), "weight": c.weight, "modelNameOverride": c.served_name}]


def openai_route(models: Sequence[RoutedModel], gateway_namespace: str, models_namespace: str,
                 labels: Mapping[str, str], request_timeout: str) -> Optional[dict]:
    rules = [{
        "name": m.name,
        "matches": [{"headers": [{"type": "Exact", "name": MODEL_HEADER, "value": m.name}]}],
        "backendRefs": _backend_refs(m, models_namespace),
        "timeouts": {"request": request_timeout},
    } for m in models if m.openai]
    if not rules:
        return None
    return {
        "apiVersion": AI_GATEWAY_API, "kind": "AIGatewayRoute",
        "metadata": {"name": OPENAI_ROUTE, "namespace": gateway_namespace, "labels": dict(labels)},
        "spec": {
            "parentRefs": parent_refs(gateway_namespace),
            "rules": rules,
            "llmRequestCosts": [
                {"metadataKey": INPUT_TOKENS_KEY, "type": "InputToken"},
                {"metadataKey": OUTPUT_TOKENS_KEY, "type": "OutputToken"},
                {"metadataKey": TOTAL_TOKENS_KEY, "type": "TotalToken"},
            ],
        },
    }


def model_path(name: str) -> str:
    return f"{MODEL_PATH_PREFIX}/{name}/"


def path_route(models: Sequence[RoutedModel], gateway_namespace: str, models_namespace: str,
               labels: Mapping[str, str], request_timeout: str) -> Optional[dict]:
    rules = []
    for m in models:
        if m.openai:
            continue
        refs = [{"kind": "Service", "name": m.service, "namespace": models_namespace, "port": m.port}]
        if m.canary is not None:
            refs[0]["weight"] = 100 - m.canary.weight
            refs.append({"kind": "Service", "name": m.canary.service, "namespace": models_namespace,
                         "port": m.port, "weight": m.canary.weight})
        rules.append({
            "matches": [{"path": {"type": "PathPrefix", "value": model_path(m.name)}}],
            "filters": [{"type": "URLRewrite",
                         "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
            "backendRefs": refs,
            "timeouts": {"request": request_timeout},
        })
    if not rules:
        return None
    return {
        "apiVersion": HTTPROUTE_API, "kind": "HTTPRoute",
        "metadata": {"name": MODEL_PATH_ROUTE, "namespace": gateway_namespace, "labels": dict(labels)},
        "spec": {"parentRefs": parent_refs(gateway_namespace), "rules": rules},
    }


def reference_grant(models: Sequence[RoutedModel], gateway_namespace: str, models_namespace: str,
                    labels: Mapping[str, str]) -> Optional[dict]:
    """Lets the gateway namespace's routes reach the models namespace's pools and Services."""
    to: list[dict] = []
    if any(m.openai and m.pooled for m in models):
        to.append({"group": POOL_GROUP, "kind": POOL_KIND})
    if any(not m.openai for m in models):
        to.append({"group": "", "kind": "Service"})
    if not to:
        return None
    return {
        "apiVersion": REFERENCE_GRANT_API, "kind": "ReferenceGrant",
        "metadata": {"name": "gateway-model-routes", "namespace": models_namespace, "labels": dict(labels)},
        "spec": {
            "from": [{"group": GATEWAY_API_GROUP, "kind": "HTTPRoute", "namespace": gateway_namespace},
                     {"group": AI_GATEWAY_GROUP, "kind": "AIGatewayRoute", "namespace": gateway_namespace}],
            "to": to,
        },
    }


def route_names(models: Sequence[RoutedModel]) -> tuple[str, ...]:
    names = []
    if any(m.openai for m in models):
        names.append(OPENAI_ROUTE)
    if any(not m.openai for m in models):
        names.append(MODEL_PATH_ROUTE)
    return tuple(names)
