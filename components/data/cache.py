"""Cache: Valkey (the Redis fork of the Linux Foundation) for prompt and response caching.

Creates, in the data namespace:
- the password of the ACL user ``default`` (``RandomPassword``) in a Secret the chart reads
  through ``auth.usersExistingSecret`` (key ``default``), unless an existing Secret is named;
- the Helm release of the official ``valkey`` chart (pinned version): one primary, read
  replicas when asked, persistence, ``maxmemory`` and eviction, probes, PDB, spread, and the
  exporter with its ServiceMonitor when the stack scrapes;
- the NetworkPolicy admitting clients on 6379 and Prometheus on the exporter port.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.data import cache_specs as cs
from components.data.common import DatabaseEndpoint, DataContext, generated_password


@dataclass(frozen=True)
class CacheArgs:
    ctx: DataContext
    settings: cs.CacheSettings
    existing_secret: Optional[str] = None
    allow_from: tuple[str, ...] = ()
    # Tenants given an ACL user of their own; needs the generated Secret (an existing one
    # would have to hold their passwords too, which nothing here can write).
    tenants: tuple[str, ...] = ()


def tenant_endpoint_key(tenant: str) -> str:
    """Where a tenant's share appears among the engine's endpoints (never exported)."""
    return f"redis@{tenant}"


def secret_name(existing_secret: Optional[str]) -> str:
    return existing_secret or f"{cs.RELEASE}-auth"


class Cache(pulumi.ComponentResource):
    endpoint: DatabaseEndpoint

    def __init__(self, name: str, args: CacheArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:data:Cache", name, None, opts)
        ctx = args.ctx
        tenants = args.tenants if args.existing_secret is None else ()
        settings = replace(args.settings, tenants=tuple(tenants))
        provider = ctx.cluster.provider
        labels = standard_labels(cs.CHART, cs.RELEASE, "cache")
        after_ns = list(ctx.depends_on)

        waits_for: list[pulumi.Resource] = list(after_ns)
        tenant_passwords: dict[str, pulumi.Output[str]] = {}
        if args.existing_secret is None:
            password = generated_password(f"{name}-password", self)
            tenant_passwords = {t: generated_password(f"{name}-{cs.tenant_user(t)}-password", self) for t in tenants}
            self.secret = opaque_secret(
                f"{name}-auth",
                {"name": settings.auth_secret, "namespace": settings.namespace, "labels": labels},
                {cs.PASSWORD_KEY: password, **{cs.tenant_user(t): p for t, p in tenant_passwords.items()}},
                child_opts(self, provider, depends_on=after_ns),
            )
            waits_for.append(self.secret)

        self.values = cs.valkey_values(settings)
        self.release = k8s.helm.v3.Release(
            name,
            name=cs.RELEASE,
            chart=cs.CHART,
            version=cs.CHART_VERSION,
            repository_opts={"repo": cs.REPOSITORY},
            namespace=settings.namespace,
            values=self.values,
            opts=child_opts(self, provider, depends_on=waits_for, protect=ctx.protect),
        )
        policy = cs.network_policy(ctx, standard_labels("network-policy", cs.RELEASE, "cache"), args.allow_from,
                                   settings.service_monitors)
        k8s.networking.v1.NetworkPolicy(f"{name}-ingress", metadata=policy["metadata"], spec=policy["spec"],
                                        opts=child_opts(self, provider, depends_on=after_ns))

        self.endpoint = DatabaseEndpoint(
            engine="redis",
            host=cs.service_host(settings.namespace),
            port=cs.PORT,
            secret_name=settings.auth_secret,
            secret_namespace=settings.namespace,
            secret_keys={"password": cs.PASSWORD_KEY},
            read_host=cs.service_host(settings.namespace, read=True) if settings.replicated else None,
            extra={"username": cs.ACL_USER},
        )
        # Each tenant's user, password and key prefix; the data layer keeps these out of the outputs.
        self.tenant_endpoints = {tenant_endpoint_key(t): DatabaseEndpoint(
            engine="redis", host=self.endpoint.host, port=cs.PORT, secret_name=settings.auth_secret,
            secret_namespace=settings.namespace, secret_keys={"password": cs.tenant_user(t)},
            extra={"username": cs.tenant_user(t), "password": p, "key_prefix": cs.tenant_prefix(t),
                   "selector": cs.selector(), "resources": (self.release,)},
        ) for t, p in tenant_passwords.items()}
        self.register_outputs({"host": self.endpoint.host, "secretName": settings.auth_secret})
