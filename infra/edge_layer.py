"""The edge layer of the program: stack ``gateway`` (+ ``tenants``, ``models``) -> the gateway,
the model routes and each tenant's access.

Order: the gateway (CRDs, controllers, Gateways, TLS) first; the model routes wait for it and
for the model servers; tenant access (keys, SecurityPolicy, rate limits) targets the routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi

from components.cluster.info import ClusterInfo
from components.common.security import Resources
from components.edge.access import AccessArgs, JwtSettings, TenantGatewayAccess
from components.edge.contracts import GatewayEndpoints, RoutedModel, TenantAccess
from components.edge.controllers import EdgeCrds
from components.edge.gateway import EdgeGateway, EdgeGatewayArgs, GatewaySettings, TlsSettings
from components.edge.routes import ModelRoutes, ModelRoutesArgs, PickerSettings
from components.models.server_specs import scraper_namespace
from infra.models_layer import ModelsLayer, routed_models
from infra.schema import PlatformConfig
from infra.schema_data import ResourcesConfig
from infra.schema_edge import GatewayConfig


def resources(r: ResourcesConfig) -> Resources:
    return Resources(cpu_request=r.cpu, memory_request=r.memory, cpu_limit=r.cpu_limit or r.cpu,
                     memory_limit=r.memory_limit or r.memory)


def tls_settings(gw: GatewayConfig) -> TlsSettings:
    tls = gw.tls
    acme, existing = tls.acme, tls.existing_issuer
    return TlsSettings(
        issuer=tls.issuer,
        acme_email=acme.email if acme else None,
        **({"acme_server": acme.server, "acme_solver": acme.solver} if acme else {}),
        existing_issuer=existing.name if existing else None,
        **({"existing_issuer_kind": existing.kind} if existing else {}),
    )


def gateway_settings(cfg: PlatformConfig) -> GatewaySettings:
    gw = cfg.gateway
    assert gw is not None
    lb = gw.load_balancer
    monitored = gw.service_monitors
    return GatewaySettings(
        hostname=gw.hostname,
        extra_hostnames=tuple(dict.fromkeys(t.app.hostname for t in cfg.tenants)),
        namespace=gw.namespace,
        controller_namespace=gw.controller_namespace,
        ai_controller_namespace=gw.ai_controller_namespace,
        tls=tls_settings(gw),
        service_type=lb.service_type,
        internal_lb=lb.internal,
        lb_annotations=dict(lb.annotations),
        source_ranges=tuple(lb.source_ranges),
        external_traffic_policy=lb.external_traffic_policy,
        replicas=gw.replicas,
        zone_spread=gw.zone_spread,
        resources=resources(gw.resources),
        request_timeout=gw.request_timeout,
        service_monitors=monitored,
        service_monitor_labels=dict(gw.service_monitor_labels),
        metrics_namespace=scraper_namespace(cfg.model_serving.prometheus_address) if monitored else None,
        jwks_egress=gw.auth.mode == "jwt",
        models_namespace=cfg.namespaces.models if cfg.models else None,
        internal_client_namespaces=load_test_namespaces(cfg),
    )


def load_test_namespaces(cfg: PlatformConfig) -> tuple[str, ...]:
    """Where the load test calls the internal Gateway from (the observability namespace), if it runs."""
    obs = cfg.observability
    return (obs.namespace,) if obs is not None and obs.load_test.enabled else ()


def tenant_access(cfg: PlatformConfig) -> tuple[TenantAccess, ...]:
    return tuple(TenantAccess(name=t.name, namespace=t.effective_namespace,
                              requests_per_minute=t.rate_limit.requests_per_minute,
                              tokens_per_minute=t.rate_limit.tokens_per_minute) for t in cfg.tenants)


@dataclass
class EdgeLayer:
    gateway: EdgeGateway
    routes: Optional[ModelRoutes]
    access: Optional[TenantGatewayAccess]
    models: tuple[RoutedModel, ...] = ()
    api_keys: dict[str, pulumi.Output[str]] = field(default_factory=dict)

    @property
    def endpoints(self) -> GatewayEndpoints:
        return self.gateway.endpoints

    def outputs(self) -> dict:
        ep = self.endpoints
        return {
            "url": f"{ep.public_url}/v1",
            "internalUrl": ep.openai_base_url,
            "namespace": ep.gateway_namespace,
            "routes": list(self.routes.route_names) if self.routes else [],
            "models": {m.name: {"engine": m.engine, "task": m.task,
                                "path": "/v1" if m.openai else f"/models/{m.name}/",
                                "endpointPicker": m.pooled,
                                **({"canary": {"service": m.canary.service, "weight": m.canary.weight}}
                                   if m.canary else {})}
                       for m in self.models},
        }


def build_edge(cfg: PlatformConfig, cluster: ClusterInfo, models: Optional[ModelsLayer],
               cert_manager: Optional[pulumi.Resource], crds: Optional[EdgeCrds] = None,
               acme_dns_api_token: Optional[pulumi.Input[str]] = None) -> Optional[EdgeLayer]:
    gw = cfg.gateway
    if gw is None:
        return None
    settings = gateway_settings(cfg)
    gateway = EdgeGateway("gateway", EdgeGatewayArgs(
        cluster=cluster,
        settings=settings,
        cert_manager=cert_manager,
        acme_dns_api_token=acme_dns_api_token,
        crds=crds,
    ))
    routed = routed_models(models) if models is not None else ()
    routes = None
    if routed:
        routes = ModelRoutes("model-routes", ModelRoutesArgs(
            cluster=cluster,
            gateway_namespace=gw.namespace,
            models_namespace=cfg.namespaces.models,
            controller_namespace=gw.controller_namespace,
            models=routed,
            picker=PickerSettings(replicas=gw.endpoint_picker.replicas,
                                  resources=resources(gw.endpoint_picker.resources),
                                  service_monitor=gw.service_monitors),
            request_timeout=gw.request_timeout,
            metrics_namespace=settings.metrics_namespace,
            depends_on=(*gateway.ready, models.serving),
        ))
    access = None
    keys: dict[str, pulumi.Output[str]] = {}
    # Without tenants the policy still exists and admits no one: the model routes are never open.
    if routes is not None:
        jwt = gw.auth.jwt
        access = TenantGatewayAccess("tenant-access", AccessArgs(
            cluster=cluster,
            namespace=gw.namespace,
            tenants=tenant_access(cfg),
            routes=routes.route_names,
            auth_mode=gw.auth.mode,
            jwt=JwtSettings(issuer=jwt.issuer, jwks_uri=jwt.jwks_uri, audiences=tuple(jwt.audiences),
                            tenant_claim=jwt.tenant_claim) if jwt is not None else None,
            depends_on=(*gateway.ready, routes),
        ))
        keys = dict(access.api_keys)
    return EdgeLayer(gateway=gateway, routes=routes, access=access, models=routed, api_keys=keys)
