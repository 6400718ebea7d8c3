"""What the edge layer's parts agree on: names, headers, labels and the typed inputs they share.

The gateway (controllers, Gateways, TLS), the model routes (InferencePools, AIGatewayRoute,
HTTPRoutes) and tenant access (API keys, SecurityPolicy, rate limits) are built by separate
components; these names are how they find each other's objects, and how the tenancy layer
finds the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

# Gateway API objects.
GATEWAY_CLASS = "genai"
PUBLIC_GATEWAY = "genai"                      # HTTPS for clients (and HTTP for redirects / ACME)
INTERNAL_GATEWAY = "genai-internal"           # plain HTTP inside the cluster only (tenant apps, jobs)
INTERNAL_SERVICE = "genai-gateway-internal"   # its Envoy Service, named so callers can address it
PUBLIC_SERVICE = "genai-gateway"
HTTPS_LISTENER = "https"
HTTP_LISTENER = "http"
INTERNAL_LISTENER = "http"

# Envoy Gateway maps a listener port below 1024 to this container port (port + 10000).
def envoy_container_port(listener_port: int) -> int:
    return listener_port + 10000 if listener_port < 1024 else listener_port


# Labels Envoy Gateway puts on each Gateway's Envoy pods.
OWNING_GATEWAY_NAME = "gateway.envoyproxy.io/owning-gateway-name"
OWNING_GATEWAY_NAMESPACE = "gateway.envoyproxy.io/owning-gateway-namespace"

# Namespaces labelled so may attach routes to the platform's Gateways.
ROUTES_NAMESPACE_LABEL = "genai-platform.io/gateway-routes"
TENANT_LABEL = "genai-platform.io/tenant"

# Routes of the model APIs, in the gateway namespace. Envoy AI Gateway renders the
# AIGatewayRoute as an HTTPRoute of the same name, which policies target.
OPENAI_ROUTE = "openai"
MODEL_PATH_ROUTE = "model-apis"               # non-OpenAI APIs (TEI rerank, Triton), by path
MODEL_PATH_PREFIX = "/models"                 # /models/<name>/... -> that model's own API

# Headers.
MODEL_HEADER = "x-ai-eg-model"                # set by AI Gateway from the request body's "model"
TENANT_HEADER = "x-genai-tenant"              # set by the gateway after authentication, never by clients
# The label AI Gateway's GenAI metrics carry the tenant header in (dashboards select on it).
TENANT_METRIC_LABEL = "tenant"

# Where AI Gateway records token usage, for token rate limits.
AI_GATEWAY_METADATA_NAMESPACE = "io.envoy.ai_gateway"
TOTAL_TOKENS_KEY = "llm_total_token"
INPUT_TOKENS_KEY = "llm_input_token"
OUTPUT_TOKENS_KEY = "llm_output_token"


@dataclass(frozen=True)
class Canary:
    """A second revision of a model, served beside the stable one, taking ``weight`` percent."""

    service: str                              # its Service in the models namespace
    served_name: str                          # the model name that server answers to
    weight: int                               # 1..99


@dataclass(frozen=True)
class RoutedModel:
    """One served model as the gateway sees it (from the models layer's endpoints)."""

    name: str                                 # what clients put in "model"
    service: str                              # Service name in the models namespace
    port: int
    engine: str                               # vllm | tgi | triton-trtllm | tei | llamacpp
    task: str                                 # generate | embed | rerank
    api: str                                  # openai | tei-rerank | kserve-v2
    openai: bool                              # speaks /v1/... (chat, completions, embeddings)
    selector: Mapping[str, str] = field(default_factory=dict)   # its server pods' labels
    canary: Optional[Canary] = None

    @property
    def pooled(self) -> bool:
        """Whether an InferencePool with an endpoint picker fronts it (vLLM, no canary running)."""
        return self.engine == "vllm" and self.canary is None


@dataclass(frozen=True)
class TenantAccess:
    """One tenant as the gateway sees it."""

    name: str
    namespace: str
    requests_per_minute: int
    tokens_per_minute: Optional[int] = None


@dataclass(frozen=True)
class GatewayEndpoints:
    """How callers reach the gateway (handed to the tenancy layer)."""

    public_url: str                           # https://<hostname>
    internal_url: str                         # http://<internal service>.<ns>.svc.cluster.local
    controller_namespace: str                 # where the Envoy pods run
    gateway_namespace: str                    # where the Gateways, routes and policies live
    public_gateway: str = PUBLIC_GATEWAY
    internal_gateway: str = INTERNAL_GATEWAY
    https_listener: str = HTTPS_LISTENER

    @property
    def openai_base_url(self) -> str:
        return f"{self.internal_url}/v1"
