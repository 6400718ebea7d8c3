"""TenantSessionStore: a small Valkey in a tenant's namespace for Open WebUI's sessions and websockets.

Creates, in the tenant namespace:
- the password of the ACL user ``default`` (``RandomPassword``) in the Secret
  ``session-store-auth`` (key ``default``), which the chart reads through
  ``auth.usersExistingSecret`` and the probes read from a mounted file;
- the Helm release ``session-store`` of the ``valkey`` chart (pinned, the cache's version):
  one pod, no volume and no snapshots, ``maxmemory`` with LRU eviction, authenticated probes,
  restricted security contexts, requests and limits. Its Service is ``session-store``.

NetworkPolicies belong to the tenant namespace: its app pods need egress to ``selector`` on
``port`` and the store ingress from them (``session_store_specs.app_egress`` / ``app_ingress``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts, opaque_secret
from components.common.security import Resources
from components.data.common import generated_password
from components.tenancy import session_store_specs as specs


@dataclass(frozen=True)
class SessionStoreArgs:
    provider: k8s.Provider
    tenant: str
    namespace: str
    depends_on: tuple[pulumi.Resource, ...] = ()      # the tenant namespace
    cpu: str = specs.DEFAULT_RESOURCES.cpu_request
    memory: str = specs.DEFAULT_RESOURCES.memory_request
    memory_limit: str = specs.DEFAULT_RESOURCES.memory_limit
    cpu_limit: str = specs.DEFAULT_RESOURCES.cpu_limit

    @property
    def resources(self) -> Resources:
        return Resources(cpu_request=self.cpu, memory_request=self.memory, cpu_limit=self.cpu_limit,
                         memory_limit=self.memory_limit)


class TenantSessionStore(pulumi.ComponentResource):
    url: pulumi.Output[str]
    selector: dict[str, str]
    port: int
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: SessionStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:tenancy:SessionStore", name, None, opts)
        ns = args.namespace
        labels = specs.labels(args.tenant)
        after_ns = list(args.depends_on)

        password = generated_password(f"{name}-password", self)
        self.secret = opaque_secret(
            f"{name}-auth",
            {"name": specs.AUTH_SECRET, "namespace": ns, "labels": labels},
            {specs.ACL_USER: password},
            child_opts(self, args.provider, depends_on=after_ns),
        )
        self.values = specs.values(args.tenant, ns, args.resources)
        self.release = k8s.helm.v3.Release(
            name,
            name=specs.RELEASE,
            chart=specs.CHART,
            version=specs.CHART_VERSION,
            repository_opts={"repo": specs.REPOSITORY},
            namespace=ns,
            values=self.values,
            opts=child_opts(self, args.provider, depends_on=[*after_ns, self.secret]),
        )

        self.selector = specs.selector()
        self.port = specs.PORT
        self.host = specs.service_host(ns)
        self.egress = specs.egress(ns)
        self.url = pulumi.Output.secret(password.apply(lambda p: None if p is None else specs.redis_url(ns, p)))
        self.register_outputs({"host": self.host, "port": self.port, "secretName": specs.AUTH_SECRET,
                               "url": self.url})
