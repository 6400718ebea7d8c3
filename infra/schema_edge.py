"""The ``gateway`` section: the platform's one OpenAI-compatible entry point.

Present means on: Envoy Gateway (Gateway API, standard channel) with Envoy AI Gateway for
routing by model name, an InferencePool with its endpoint picker per vLLM model, TLS from
cert-manager, tenant API keys (or JWTs) and per-tenant rate limits. Rules that span sections
(tenants, models, the cluster's zones) live in ``infra/checks_edge.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from infra.schema_base import Cidr, DnsLabel, DnsSubdomain, Section, matches
from infra.schema_data import ResourcesConfig

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HTTPS_URL = re.compile(r"^https://[^\s/]+(:\d+)?(/\S*)?$")
_DURATION = re.compile(r"^[1-9][0-9]*(s|m|h)$")

Hostname = Annotated[str, AfterValidator(matches(
    _HOSTNAME, "a fully qualified lowercase DNS name such as 'api.genai.example.com' (no wildcard, no port)"))]
Email = Annotated[str, AfterValidator(matches(_EMAIL, "an e-mail address"))]
HttpsUrl = Annotated[str, AfterValidator(matches(_HTTPS_URL, "an https:// URL"))]
Duration = Annotated[str, AfterValidator(matches(_DURATION, "a duration such as '300s', '5m' or '1h'"))]

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


class AcmeConfig(Section):
    """An ACME account (Let's Encrypt by default) and how it proves the domain."""

    email: Email
    server: HttpsUrl = LETS_ENCRYPT
    solver: Literal["http01", "dns01"] = "http01"
    # DNS-01 through Cloudflare, with the ``acmeDnsApiToken`` secret; other DNS providers
    # go through an ``existing`` issuer the platform team already runs.
    dns_provider: Literal["cloudflare"] = "cloudflare"


class IssuerRef(Section):
    name: DnsSubdomain
    kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"


class TlsConfig(Section):
    """Where the gateway's certificate comes from."""

    issuer: Literal["self-signed", "acme", "existing"] = "self-signed"
    acme: Optional[AcmeConfig] = None
    existing_issuer: Optional[IssuerRef] = None


class LoadBalancerConfig(Section):
    """How the public gateway's Service is exposed."""

    service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = Field(default="LoadBalancer", alias="type")
    # An internal (private) load balancer of the cloud instead of a public one.
    internal: bool = False
    # Extra Service annotations (MetalLB address pools, a static IP name, ...), merged over the cloud's.
    annotations: dict[str, str] = {}
    source_ranges: list[Cidr] = []
    # Local keeps client source addresses (and rate limits by them) and skips a second hop.
    external_traffic_policy: Literal["Local", "Cluster"] = "Local"


class JwtConfig(Section):
    """Tokens from the company's identity provider instead of platform-issued API keys."""

    issuer: HttpsUrl
    jwks_uri: HttpsUrl
    audiences: list[str] = []
    # The claim naming the tenant; its value must be a tenant's name.
    tenant_claim: str = Field(default="tenant", min_length=1, pattern=r"^[A-Za-z0-9_.:/-]+$")


class AuthConfig(Section):
    mode: Literal["apiKey", "jwt"] = "apiKey"
    jwt: Optional[JwtConfig] = None


class EndpointPickerConfig(Section):
    """The Inference Extension's endpoint picker beside each vLLM model."""

    replicas: int = Field(default=1, ge=1, le=5, strict=True)
    resources: ResourcesConfig = ResourcesConfig(cpu="500m", memory="1Gi", memory_limit="2Gi")


class GatewayConfig(Section):
    # The OpenAI-compatible API's hostname: https://<hostname>/v1/...
    hostname: Hostname
    # Routes, policies and the tenants' API-key Secrets.
    namespace: DnsLabel = "genai-gateway"
    # Envoy Gateway's controller, its Envoy proxies and the rate limiter.
    controller_namespace: DnsLabel = "envoy-gateway-system"
    ai_controller_namespace: DnsLabel = "envoy-ai-gateway-system"
    tls: TlsConfig = TlsConfig()
    load_balancer: LoadBalancerConfig = LoadBalancerConfig()
    auth: AuthConfig = AuthConfig()
    replicas: int = Field(default=2, ge=1, le=50, strict=True)
    # Spread the proxies across the cluster's zones (DoNotSchedule); always across nodes.
    zone_spread: bool = False
    resources: ResourcesConfig = ResourcesConfig(cpu="500m", memory="512Mi", memory_limit="1Gi")
    endpoint_picker: EndpointPickerConfig = EndpointPickerConfig()
    # Longest a request may take end to end (long generations stream for minutes).
    request_timeout: Duration = "300s"
    service_monitors: bool = True
    service_monitor_labels: dict[str, str] = {}
