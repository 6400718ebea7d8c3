"""Pure builders for tenant access at the gateway: key Secrets, the SecurityPolicy and the
rate-limit BackendTrafficPolicy.

How the pieces meet in Envoy Gateway v1.9 (verified against its sources):
- Filter order on a listener: api_key_auth (7) and jwt_authn (10) run before the AI Gateway's
  ext_proc (100+), RBAC (301) and the global rate limit (303), so every request that reaches a
  rate-limit rule has passed authentication and carries the tenant header the gateway set.
- api_key_auth strips a ``Bearer `` prefix from the header it reads and *replaces* the client-ID
  header with the authenticated tenant; jwt_authn's claim-to-header only *appends*, so a client
  could add its own tenant header beside the token's. The Gateways' ClientTrafficPolicy (built
  with the Gateways: one such policy per Gateway, a second would be rejected as conflicting)
  removes that header before any filter runs (early header mutation), whatever the auth mode.
- A global rate-limit rule counts per Envoy route unless ``shared``; the AIGatewayRoute renders
  one route per model, so the tenants' rules are shared across every targeted route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from components.edge.contracts import (
    AI_GATEWAY_METADATA_NAMESPACE,
    TENANT_HEADER,
    TOTAL_TOKENS_KEY,
    TenantAccess,
)

EG_API = "gateway.envoyproxy.io/v1alpha1"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"

SECURITY_POLICY = "model-access"
RATE_LIMIT_POLICY = "tenant-rate-limits"
JWT_PROVIDER = "tenants"
KEY_PREFIX = "sk-"
KEY_LENGTH = 48
AUTH_MODES = ("apiKey", "jwt")

# Limits of the v1.9 CRDs: rules per global rate limit, audiences per JWT provider, values
# per authorization claim.
MAX_RATE_LIMIT_RULES = 256
MAX_AUDIENCES = 8
MAX_CLAIM_VALUES = 128


@dataclass(frozen=True)
class JwtSettings:
    """Tokens from the company's identity provider; ``tenant_claim`` names the tenant."""

    issuer: str
    jwks_uri: str
    audiences: tuple[str, ...] = ()
    tenant_claim: str = "tenant"


def key_secret_name(tenant: str) -> str:
    return f"tenant-key-{tenant}"


def key_prefix(tenant: str) -> str:
    """What every key of ``tenant`` starts with, so a leaked key is recognisable in logs and scans."""
    return f"{KEY_PREFIX}{tenant}-"


def _meta(name: str, namespace: str, labels: Mapping[str, str]) -> dict:
    return {"name": name, "namespace": namespace, "labels": dict(labels)}


def route_refs(routes: Sequence[str]) -> list[dict]:
    return [{"group": GATEWAY_API_GROUP, "kind": "HTTPRoute", "name": r} for r in routes]


def key_secret(tenant: str, namespace: str, key: Any, labels: Mapping[str, str]) -> dict:
    """The Secret Envoy Gateway reads a tenant's key from: the data key is the client ID."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(key_secret_name(tenant), namespace, labels),
            "type": "Opaque", "stringData": {tenant: key}}


def _check(routes: Sequence[str], auth_mode: str, jwt: Optional[JwtSettings]) -> None:
    problems = []
    if not routes:
        problems.append("no routes to protect")
    if len(set(routes)) != len(routes):
        problems.append(f"duplicate routes in {list(routes)}")
    if auth_mode not in AUTH_MODES:
        problems.append(f"auth mode {auth_mode!r} is not one of {list(AUTH_MODES)}")
    if auth_mode == "jwt" and jwt is None:
        problems.append("auth mode 'jwt' needs JWT settings")
    if jwt is not None and len(jwt.audiences) > MAX_AUDIENCES:
        problems.append(f"{len(jwt.audiences)} JWT audiences; Envoy Gateway takes at most {MAX_AUDIENCES}")
    if problems:
        raise ValueError("; ".join(problems))


def _jwt_provider(jwt: JwtSettings) -> dict:
    provider: dict[str, Any] = {"name": JWT_PROVIDER, "issuer": jwt.issuer, "remoteJWKS": {"uri": jwt.jwks_uri},
                                "claimToHeaders": [{"claim": jwt.tenant_claim, "header": TENANT_HEADER}]}
    if jwt.audiences:
        provider["audiences"] = list(jwt.audiences)
    return provider


def _known_tenant_rules(tenants: Sequence[TenantAccess], claim: str) -> list[dict]:
    # One claim lists at most 128 values; more tenants spread over several rules (any may allow).
    names = [t.name for t in tenants]
    chunks = [names[i:i + MAX_CLAIM_VALUES] for i in range(0, len(names), MAX_CLAIM_VALUES)]
    return [{"name": f"known-tenants-{i}" if len(chunks) > 1 else "known-tenants", "action": "Allow",
             "principal": {"jwt": {"provider": JWT_PROVIDER, "claims": [{"name": claim, "values": chunk}]}}}
            for i, chunk in enumerate(chunks)]


def security_policy(namespace: str, routes: Sequence[str], tenants: Sequence[TenantAccess], labels: Mapping[str, str],
                    auth_mode: str = "apiKey", jwt: Optional[JwtSettings] = None) -> dict:
    """Who may call the model routes.

    API keys: one Secret per tenant, read from ``Authorization: Bearer <key>``, the tenant
    forwarded in TENANT_HEADER and the key removed before the request goes upstream. JWT: the
    issuer's tokens, the tenant claim copied to TENANT_HEADER, and only tokens whose claim names
    a known tenant admitted. With no tenant at all, nobody is admitted rather than everybody.
    """
    _check(routes, auth_mode, jwt)
    spec: dict[str, Any] = {"targetRefs": route_refs(routes)}
    if not tenants:
        spec["authorization"] = {"defaultAction": "Deny"}
    elif auth_mode == "apiKey":
        spec["apiKeyAuth"] = {
            "credentialRefs": [{"group": "", "kind": "Secret", "name": key_secret_name(t.name)} for t in tenants],
            "extractFrom": [{"headers": ["Authorization"]}],
            "forwardClientIDHeader": TENANT_HEADER,
            "sanitize": True,
        }
    else:
        assert jwt is not None
        spec["jwt"] = {"providers": [_jwt_provider(jwt)]}
        spec["authorization"] = {"defaultAction": "Deny", "rules": _known_tenant_rules(tenants, jwt.tenant_claim)}
    return {"apiVersion": EG_API, "kind": "SecurityPolicy", "metadata": _meta(SECURITY_POLICY, namespace, labels),
            "spec": spec}


def _tenant_selector(tenant: str) -> list[dict]:
    return [{"headers": [{"name": TENANT_HEADER, "type": "Exact", "value": tenant}]}]


def rate_limit_rules(tenants: Sequence[TenantAccess]) -> list[dict]:
    """Per tenant: requests per minute, and tokens per minute when set.

    The token rule checks the budget on the request (cost 0) and charges the response's total
    tokens, which AI Gateway records in its dynamic metadata once the response is complete.
    """
    rules: list[dict] = []
    for t in tenants:
        rules.append({"clientSelectors": _tenant_selector(t.name),
                      "limit": {"requests": t.requests_per_minute, "unit": "Minute"}, "shared": True})
        if t.tokens_per_minute is not None:
            rules.append({
                "clientSelectors": _tenant_selector(t.name),
                "limit": {"requests": t.tokens_per_minute, "unit": "Minute"},
                "cost": {"request": {"from": "Number", "number": 0},
                         "response": {"from": "Metadata", "metadata": {
                             "namespace": AI_GATEWAY_METADATA_NAMESPACE, "key": TOTAL_TOKENS_KEY}}},
                "shared": True,
            })
    if len(rules) > MAX_RATE_LIMIT_RULES:
        raise ValueError(f"{len(rules)} rate-limit rules for {len(tenants)} tenants; one BackendTrafficPolicy "
                         f"holds at most {MAX_RATE_LIMIT_RULES}")
    return rules


def rate_limit_policy(namespace: str, routes: Sequence[str], tenants: Sequence[TenantAccess],
                      labels: Mapping[str, str]) -> Optional[dict]:
    """Global (Redis-backed) limits per tenant on the model routes; None without tenants.

    ``StrategicMerge`` keeps whatever a Gateway-wide BackendTrafficPolicy sets (timeouts,
    retries) on these routes instead of this more specific policy replacing it.
    """
    if not tenants:
        return None
    return {"apiVersion": EG_API, "kind": "BackendTrafficPolicy",
            "metadata": _meta(RATE_LIMIT_POLICY, namespace, labels),
            "spec": {"targetRefs": route_refs(routes), "mergeType": "StrategicMerge",
                     "rateLimit": {"type": "Global", "global": {"rules": rate_limit_rules(tenants)}}}}

