"""TenantGatewayAccess: who may call the model routes, and how much.

Creates, in the gateway namespace:
- with API keys: per tenant a generated key (``sk-<tenant>-`` + 48 letters and digits) and the
  Secret ``tenant-key-<tenant>`` holding it under the tenant's name, which Envoy Gateway uses
  as the client ID;
- the SecurityPolicy ``model-access`` on the model routes: API-key auth over every tenant
  Secret, or JWT from the company's issuer admitting only tokens that name a known tenant;
  either way the tenant reaches the backends in the tenant header (no tenant: deny all);
- the BackendTrafficPolicy ``tenant-rate-limits`` on the same routes: global limits per tenant,
  requests per minute and, where set, tokens per minute.
A client-sent tenant header is removed earlier, by the Gateways' own ClientTrafficPolicy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.edge.access_specs import (
    KEY_LENGTH,
    JwtSettings,
    key_prefix,
    key_secret,
    key_secret_name,
    rate_limit_policy,
    security_policy,
)
from components.edge.contracts import TenantAccess

__all__ = ["AccessArgs", "JwtSettings", "TenantGatewayAccess"]


@dataclass(frozen=True)
class AccessArgs:
    cluster: ClusterInfo
    namespace: str                                   # the gateway namespace (routes, policies, key Secrets)
    tenants: tuple[TenantAccess, ...]
    routes: tuple[str, ...]                          # HTTPRoutes in that namespace to protect
    auth_mode: str = "apiKey"                        # apiKey | jwt
    jwt: Optional[JwtSettings] = None
    depends_on: tuple[pulumi.Resource, ...] = ()     # CRDs, controllers, Gateways, routes


class TenantGatewayAccess(pulumi.ComponentResource):
    def __init__(self, name: str, args: AccessArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:edge:TenantAccess", name, None, opts)
        ns, provider = args.namespace, args.cluster.provider
        labels = standard_labels("tenant-access", name, "gateway")
        # Checked before anything registers: a bad combination fails the plan with its reason.
        policy = security_policy(ns, args.routes, args.tenants, labels, auth_mode=args.auth_mode, jwt=args.jwt)
        limits = rate_limit_policy(ns, args.routes, args.tenants, labels)
        after = list(args.depends_on)

        self.api_keys: dict[str, pulumi.Output[str]] = {}
        self.key_secrets: dict[str, str] = {}
        secrets: list[pulumi.Resource] = []
        if args.auth_mode == "apiKey":
            for t in args.tenants:
                random_part = random.RandomPassword(
                    f"{name}-{t.name}-key", length=KEY_LENGTH, special=False,
                    opts=pulumi.ResourceOptions(parent=self)).result
                prefix = key_prefix(t.name)
                # None where a password has no preview value: the key is then unknown too.
                key = pulumi.Output.secret(random_part.apply(lambda r, p=prefix: None if r is None else f"{p}{r}"))
                manifest = key_secret(t.name, ns, key, labels)
                secrets.append(opaque_secret(f"{name}-{t.name}-key", manifest["metadata"], manifest["stringData"],
                                             child_opts(self, provider, depends_on=after)))
                self.api_keys[t.name] = key
                self.key_secrets[t.name] = key_secret_name(t.name)

        # The policy waits for the Secrets so Envoy Gateway never sees a reference it can't resolve.
        self.security_policy = _custom(f"{name}-security", policy, child_opts(self, provider, depends_on=after + secrets))
        self.rate_limit_policy = (_custom(f"{name}-rate-limits", limits, child_opts(self, provider, depends_on=after))
                                  if limits else None)
        self.register_outputs({"namespace": ns, "authMode": args.auth_mode, "keySecrets": self.key_secrets,
                               "routes": list(args.routes)})


def _custom(resource_name: str, manifest: dict, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name, api_version=manifest["apiVersion"], kind=manifest["kind"],
        metadata=manifest["metadata"], spec=manifest["spec"], opts=opts)
