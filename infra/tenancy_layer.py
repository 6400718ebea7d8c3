"""The tenancy layer of the program: stack ``tenants`` -> one Tenant per entry.

Each tenant consumes what lower layers export: the gateway's endpoints and its API key (edge),
its database, collection and cache user (data), the models by name (models). Its namespace is
built before the data layer (a dedicated database cluster lives in it); everything else after
the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import pulumi

from components.cluster.info import ClusterInfo
from components.edge.contracts import MODEL_PATH_PREFIX, RoutedModel
from components.edge.gateway import gateway_endpoints
from components.models.server_specs import scraper_namespace
from components.tenancy.contracts import AppSettings, IngestionSettings, ModelChoice, TenantData
from components.tenancy.namespace import LimitSettings, QuotaSettings, TenantNamespace, TenantNamespaceArgs
from components.tenancy.tenant import Tenant, TenantArgs
from infra.edge_layer import EdgeLayer, gateway_settings
from infra.schema import PlatformConfig
from infra.schema_tenancy import TenantConfig


def first_of(task: str, models: Sequence[RoutedModel]) -> Optional[str]:
    return next((m.name for m in models if m.task == task), None)


def model_choice(t: TenantConfig, models: Sequence[RoutedModel], internal_url: str) -> ModelChoice:
    app = t.app
    rerank = app.rerank_model or first_of("rerank", models)
    routed = {m.name: m for m in models}
    rerank_url = None
    if rerank and rerank in routed and routed[rerank].api == "tei-rerank":
        rerank_url = f"{internal_url}{MODEL_PATH_PREFIX}/{rerank}/rerank"
    return ModelChoice(chat=app.chat_model or first_of("generate", models),
                       embedding=app.embedding_model or first_of("embed", models),
                       rerank=rerank, rerank_url=rerank_url)


def quota(t: TenantConfig) -> QuotaSettings:
    q = t.quota
    return QuotaSettings(cpu=q.cpu, memory=q.memory, gpus=q.gpus, storage_gib=q.storage_gib, pods=q.pods,
                         services=q.services, persistent_volume_claims=q.persistent_volume_claims,
                         config_maps=q.config_maps, secrets=q.secrets)


def limits(t: TenantConfig) -> LimitSettings:
    lim = t.limits
    return LimitSettings(default_cpu=lim.default_cpu, default_memory=lim.default_memory,
                         default_request_cpu=lim.default_request_cpu,
                         default_request_memory=lim.default_request_memory,
                         max_cpu=lim.max_cpu, max_memory=lim.max_memory)


def app_settings(t: TenantConfig) -> AppSettings:
    a = t.app
    return AppSettings(hostname=a.hostname, path=a.path, kind=a.kind, image=a.image, port=a.port,
                       health_path=a.health_path, min_replicas=a.replicas.min_replicas,
                       max_replicas=a.replicas.max_replicas, cpu=a.resources.cpu, memory=a.resources.memory,
                       cpu_limit=a.resources.cpu_limit, memory_limit=a.resources.memory_limit,
                       target_cpu_utilization=a.target_cpu_utilization, env=dict(a.env))


def ingestion_settings(t: TenantConfig) -> Optional[IngestionSettings]:
    ing = t.ingestion
    if ing is None:
        return None
    pre = ing.preprocess
    return IngestionSettings(image=ing.image, source=ing.source, schedule=ing.schedule, args=tuple(ing.args),
                             cpu=ing.resources.cpu, memory=ing.resources.memory,
                             cpu_limit=ing.resources.cpu_limit, memory_limit=ing.resources.memory_limit,
                             preprocess_image=pre.image if pre else None,
                             preprocess_args=tuple(pre.args) if pre else ())


def reads_bucket(t: TenantConfig) -> bool:
    """Ingestion from a bucket or a URL (not a volume claim) needs HTTPS out of the namespace."""
    return t.ingestion is not None and not t.ingestion.source.startswith("pvc://")


def build_tenant_namespaces(cfg: PlatformConfig, cluster: ClusterInfo) -> dict[str, TenantNamespace]:
    """Each tenant's namespace with its quota, RBAC and gateway policies (data policies come later)."""
    if not cfg.tenants or cfg.gateway is None:
        return {}
    endpoints = gateway_endpoints(gateway_settings(cfg))
    metrics_ns = scraper_namespace(cfg.model_serving.prometheus_address)
    out = {}
    for t in cfg.tenants:
        out[t.name] = TenantNamespace(f"tenant-{t.name}-ns", TenantNamespaceArgs(
            cluster=cluster,
            tenant=t.name,
            namespace=t.effective_namespace,
            quota=quota(t),
            limits=limits(t),
            edit_groups=tuple(t.rbac.edit_groups),
            view_groups=tuple(t.rbac.view_groups),
            app_port=t.app.port,
            gateway=endpoints,
            # No models_namespace: models are reached through the internal gateway only, so that
            # every call carries the tenant's key and counts against its limits.
            object_store_egress=reads_bucket(t),
            metrics_namespace=metrics_ns,
        ))
    return out


def build_tenants(cfg: PlatformConfig, cluster: ClusterInfo, edge: Optional[EdgeLayer],
                  namespaces: dict[str, TenantNamespace], tenant_data: dict[str, TenantData]) -> dict[str, Tenant]:
    if not cfg.tenants or edge is None:
        return {}
    endpoints = edge.endpoints
    models = edge.models
    out = {}
    for t in cfg.tenants:
        out[t.name] = Tenant(f"tenant-{t.name}", TenantArgs(
            cluster=cluster,
            tenant=t.name,
            namespace=t.effective_namespace,
            namespace_resource=namespaces[t.name].resource,
            gateway=endpoints,
            data=tenant_data.get(t.name, TenantData(config={}, secrets={})),
            models=model_choice(t, models, endpoints.internal_url),
            app=app_settings(t),
            api_key=edge.api_keys.get(t.name),
            ingestion=ingestion_settings(t),
            depends_on=tuple(r for r in (edge.access, edge.routes) if r is not None),
        ))
    return out


def tenants_output(tenants: dict[str, Tenant]) -> dict:
    return {name: {"namespace": t.namespace, "url": t.url} for name, t in tenants.items()}


def api_keys_output(edge: Optional[EdgeLayer]) -> Optional[pulumi.Output]:
    if edge is None or not edge.api_keys:
        return None
    return pulumi.Output.secret(pulumi.Output.all(**edge.api_keys))
