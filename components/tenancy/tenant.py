"""Tenant: one team or client of the platform, isolated in its own namespace.

The TenantNamespace (PSA restricted, quota incl. GPUs, LimitRange, RBAC, the gateway and
model NetworkPolicies) is built first, by the tenancy layer, because the data layer places a
dedicated database cluster in it. This component then creates:
- the NetworkPolicies that let the tenant's pods reach its own databases, collection and cache
  (known once the data layer has built them);
- the tenant ConfigMap ``tenant-config`` (gateway URLs, model names, database and vector store
  coordinates) and Secret ``tenant-env`` (its gateway API key, database and cache URLs with
  credentials, its collection-scoped vector token, the app's session key) — the environment
  contract of ``components/tenancy/contracts.py``;
- the chat/RAG application (TenantApp) and, when configured, the ingestion CronJob and
  preprocessing Job (TenantIngestion).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.data.common import generated_password
from components.edge.contracts import GatewayEndpoints
from components.tenancy import contracts as c
from components.tenancy import session_store_specs as ss
from components.tenancy.app import TenantApp, TenantAppArgs
from components.tenancy.ingestion import TenantIngestion, TenantIngestionArgs
from components.tenancy.namespace_specs import COMPONENT
from components.tenancy.policy_specs import data_policies
from components.tenancy.session_store import SessionStoreArgs, TenantSessionStore


@dataclass(frozen=True)
class TenantArgs:
    cluster: ClusterInfo
    tenant: str
    namespace: str
    namespace_resource: pulumi.Resource          # the TenantNamespace's Namespace
    gateway: GatewayEndpoints
    data: c.TenantData
    models: c.ModelChoice
    app: c.AppSettings
    api_key: Optional[pulumi.Input[str]] = None
    ingestion: Optional[c.IngestionSettings] = None
    depends_on: tuple[pulumi.Resource, ...] = ()



def tenant_config(args: TenantArgs) -> dict[str, str]:
    """The tenant ConfigMap: where the gateway, the models and the tenant's data are."""
    models = args.models
    out = {
        c.TENANT_NAME: args.tenant,
        c.OPENAI_BASE_URL: args.gateway.openai_base_url,
        c.OPENAI_PUBLIC_URL: f"{args.gateway.public_url}/v1",
        **({c.CHAT_MODEL: models.chat} if models.chat else {}),
        **({c.EMBEDDING_MODEL: models.embedding} if models.embedding else {}),
        **({c.RERANK_MODEL: models.rerank} if models.rerank else {}),
        **({c.RERANK_URL: models.rerank_url} if models.rerank_url else {}),
        **dict(args.data.config),
    }
    return out


class Tenant(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:tenancy:Tenant", name, None, opts)
        cluster, ns = args.cluster, args.namespace
        provider = cluster.provider
        namespace = args.namespace_resource
        for policy in data_policies(ns, standard_labels("network-policy", ns, COMPONENT), args.data.egress):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"], spec=policy["spec"],
                opts=child_opts(self, provider, depends_on=[namespace]))
        after = [namespace, *args.depends_on, *args.data.depends_on]
        labels = standard_labels(args.tenant, name, "tenant")
        self.config = tenant_config(args)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={"name": c.TENANT_CONFIG, "namespace": ns, "labels": labels},
            data=self.config,
            opts=child_opts(self, provider, depends_on=[namespace]),
        )
        app_key = generated_password(f"{name}-app-key", self, length=48)
        secrets: dict[str, pulumi.Input[str]] = {**dict(args.data.secrets), c.APP_SECRET_KEY: app_key}
        stores: list[pulumi.Resource] = []
        if args.app.kind == "open-webui":
            store = TenantSessionStore(f"{name}-sessions", SessionStoreArgs(
                provider=provider, tenant=args.tenant, namespace=ns, depends_on=(namespace,)),
                opts=pulumi.ResourceOptions(parent=self))
            policy_labels = standard_labels("network-policy", ns, COMPONENT)
            for policy in (ss.app_ingress(ns, policy_labels), ss.app_egress(ns, policy_labels)):
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"], spec=policy["spec"],
                    opts=child_opts(self, provider, depends_on=[namespace]))
            secrets[c.SESSION_REDIS_URL] = store.url
            stores.append(store.release)
        if args.api_key is not None:
            secrets[c.OPENAI_API_KEY] = args.api_key
        secret = opaque_secret(
            f"{name}-env", {"name": c.TENANT_SECRET, "namespace": ns, "labels": labels}, secrets,
            child_opts(self, provider, depends_on=[namespace]))
        wait = [*after, config_map, secret, *stores]
        self.app = TenantApp(f"{name}-app", TenantAppArgs(
            provider=provider,
            tenant=args.tenant,
            namespace=ns,
            settings=args.app,
            gateway=args.gateway,
            models=args.models,
            config=self.config,
            secret_name=c.TENANT_SECRET,
            depends_on=tuple(wait),
            protect=cluster.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        if args.ingestion is not None:
            TenantIngestion(f"{name}-ingestion", TenantIngestionArgs(
                provider=provider,
                tenant=args.tenant,
                namespace=ns,
                settings=args.ingestion,
                depends_on=tuple(wait),
            ), opts=pulumi.ResourceOptions(parent=self))
        self.namespace = ns
        self.url = f"https://{args.app.hostname}{'' if args.app.path == '/' else args.app.path}"
        self.register_outputs({"namespace": ns, "url": self.url})
