"""EdgeGateway: the platform's one entry point for model APIs (Envoy Gateway + Envoy AI Gateway).

Creates:
- namespaces (PSA restricted, baseline deny + DNS): the gateway namespace (Gateways, routes,
  policies, tenant key Secrets; selected by ``ROUTES_NAMESPACE_LABEL``), the controller
  namespace (Envoy Gateway, its Envoy pods, rate limiter and store; a model-clients namespace
  so model namespaces admit its proxies) and the AI controller namespace, each with the
  NetworkPolicies its pods need;
- the CRDs (``EdgeCrds``) unless the program made them first;
- Helm releases: Envoy Gateway (extension manager = Envoy AI Gateway, InferencePool backends,
  global rate limits in Valkey), Envoy AI Gateway, and the rate limiter's Valkey;
- GatewayClass ``genai``, an EnvoyProxy per Gateway (public: the cloud's load balancer;
  internal: ClusterIP ``genai-gateway-internal``), the public Gateway (HTTPS 443 + HTTP 80),
  the internal Gateway (HTTP 80), the HTTP -> HTTPS redirect and a ClientTrafficPolicy;
- TLS: the ClusterIssuer(s) for the chosen issuer (and the DNS-01 token Secret) and the
  gateway's Certificate in the gateway namespace;
- PodMonitors for the Envoy proxies and Envoy Gateway's controller, when scraping is on.
Routes and policies wait for ``ready``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.common.security import Resources
from components.edge import controllers_specs as ctl
from components.edge import gateway_specs as gs
from components.edge import ratelimit_store_specs as store
from components.edge import tls_specs as tls
from components.edge.contracts import (
    INTERNAL_SERVICE,
    PUBLIC_SERVICE,
    ROUTES_NAMESPACE_LABEL,
    GatewayEndpoints,
)
from components.edge.controllers import EdgeCrds, EdgeCrdsArgs
from components.models.server_specs import CLIENT_NAMESPACE_LABEL
from components.platform.namespace import NamespaceArgs, PlatformNamespace

DEFAULT_RESOURCES = Resources(cpu_request="500m", memory_request="512Mi", cpu_limit="500m", memory_limit="1Gi")


@dataclass(frozen=True)
class TlsSettings:
    issuer: str = "self-signed"          # self-signed | acme | existing
    acme_email: Optional[str] = None
    acme_server: str = "https://acme-v02.api.letsencrypt.org/directory"
    acme_solver: str = "http01"          # http01 | dns01 (Cloudflare, token from a secret)
    existing_issuer: Optional[str] = None
    existing_issuer_kind: str = "ClusterIssuer"


@dataclass(frozen=True)
class GatewaySettings:
    hostname: str                                     # the API's hostname
    extra_hostnames: tuple[str, ...] = ()             # tenant app hostnames, also served and certified
    namespace: str = "genai-gateway"
    controller_namespace: str = "envoy-gateway-system"
    ai_controller_namespace: str = "envoy-ai-gateway-system"
    tls: TlsSettings = TlsSettings()
    service_type: str = "LoadBalancer"
    internal_lb: bool = False
    lb_annotations: Mapping[str, str] = field(default_factory=dict)
    source_ranges: tuple[str, ...] = ()
    external_traffic_policy: str = "Local"
    replicas: int = 2
    zone_spread: bool = False
    resources: Resources = DEFAULT_RESOURCES
    request_timeout: str = "300s"
    service_monitors: bool = True
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    metrics_namespace: Optional[str] = None           # Prometheus' namespace, admitted to metrics ports
    jwks_egress: bool = False                         # JWT auth: proxies fetch the issuer's JWKS over HTTPS
    models_namespace: Optional[str] = None            # proxies reach model APIs and endpoint pickers here
    # Platform namespaces whose jobs call the internal Gateway (the load test's), besides tenants.
    internal_client_namespaces: tuple[str, ...] = ()

    @property
    def hostnames(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.hostname, *self.extra_hostnames)))


@dataclass(frozen=True)
class EdgeGatewayArgs:
    cluster: ClusterInfo
    settings: GatewaySettings
    cert_manager: Optional[pulumi.Resource] = None        # cert-manager's Helm release (its CRDs)
    acme_dns_api_token: Optional[pulumi.Input[str]] = None
    cert_manager_namespace: str = "cert-manager"
    # CRDs the program created before cert-manager (see EdgeCrds); made here when absent.
    crds: Optional[EdgeCrds] = None


def gateway_endpoints(s: GatewaySettings) -> GatewayEndpoints:
    """How callers reach the gateway; known from the settings alone, before anything exists."""
    return GatewayEndpoints(
        public_url=f"https://{s.hostname}",
        internal_url=f"http://{INTERNAL_SERVICE}.{s.controller_namespace}.svc.cluster.local",
        controller_namespace=s.controller_namespace,
        gateway_namespace=s.namespace,
    )


class EdgeGateway(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeGatewayArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:edge:Gateway", name, None, opts)
        cluster, s = args.cluster, args.settings
        provider, gw_ns, ctl_ns, ai_ns = cluster.provider, s.namespace, s.controller_namespace, s.ai_controller_namespace
        self.namespace = gw_ns
        labels = standard_labels("gateway", gw_ns, "gateway")
        crds = args.crds or EdgeCrds(f"{name}-crds", EdgeCrdsArgs(cluster=cluster),
                                     opts=pulumi.ResourceOptions(parent=self))

        def namespace(suffix: str, ns: str, policies: list[dict], extra_labels: tuple = ()) -> PlatformNamespace:
            return PlatformNamespace(f"{name}-{suffix}-ns", NamespaceArgs(
                provider=provider, namespace=ns, component="gateway", kubernetes_version=cluster.kubernetes_version,
                extra_policies=tuple(policies), extra_labels=extra_labels, protect=cluster.protect,
            ), opts=pulumi.ResourceOptions(parent=self))

        policy_labels = standard_labels("network-policy", gw_ns, "gateway")
        gw_space = namespace("gateway", gw_ns, gs.gateway_namespace_policies(
            gw_ns, policy_labels, controller_namespace=ctl_ns), ((ROUTES_NAMESPACE_LABEL, "true"),))
        ctl_space = namespace("controller", ctl_ns, [
            *ctl.controller_policies(ctl_ns, policy_labels, ai_namespace=ai_ns, metrics_namespace=s.metrics_namespace),
            *gs.proxy_policies(ctl_ns, policy_labels, gateway_namespace=gw_ns, models_namespace=s.models_namespace,
                               metrics_namespace=s.metrics_namespace, jwks_egress=s.jwks_egress,
                               internal_clients=s.internal_client_namespaces),
        ], ((CLIENT_NAMESPACE_LABEL, "true"),))
        ai_space = namespace("ai-controller", ai_ns, ctl.ai_controller_policies(
            ai_ns, policy_labels, eg_namespace=ctl_ns, metrics_namespace=s.metrics_namespace))

        controller_replicas = 2 if s.replicas > 1 else 1
        self.store = k8s.helm.v3.Release(
            f"{name}-ratelimit-store",
            name=store.RELEASE,
            chart=store.CHART,
            version=store.CHART_VERSION,
            repository_opts={"repo": store.REPOSITORY},
            namespace=ctl_ns,
            values=store.values(),
            opts=child_opts(self, provider, depends_on=[ctl_space.resource]),
        )
        self.ai_controller = k8s.helm.v3.Release(
            f"{name}-ai-gateway",
            name=ctl.AI_RELEASE,
            chart=ctl.AI_CHART,
            version=ctl.AI_GATEWAY_VERSION,
            namespace=ai_ns,
            values=ctl.ai_gateway_values(ctl_ns, replicas=controller_replicas),
            skip_crds=True,
            opts=child_opts(self, provider, depends_on=[ai_space.resource, *crds.resources]),
        )
        self.controller = k8s.helm.v3.Release(
            f"{name}-envoy-gateway",
            name=ctl.EG_RELEASE,
            chart=ctl.EG_CHART,
            version=ctl.EG_VERSION,
            namespace=ctl_ns,
            values=ctl.gateway_values(ctl_ns, ai_ns, replicas=controller_replicas),
            skip_crds=True,
            opts=child_opts(self, provider, depends_on=[ctl_space.resource, self.store, *crds.resources]),
        )

        # Envoy pods get AI Gateway's external processor from its webhook at creation, so the
        # Gateways (which make those pods) wait for both controllers.
        controllers = [gw_space.resource, self.controller, self.ai_controller]
        cr_opts = child_opts(self, provider, depends_on=controllers)

        def cr(resource_name: str, obj: dict, opts: pulumi.ResourceOptions = cr_opts) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(resource_name, api_version=obj["apiVersion"], kind=obj["kind"],
                                                    metadata=obj["metadata"], spec=obj["spec"], opts=opts)

        public_proxy = gs.ProxySettings(
            service_type=s.service_type, replicas=s.replicas, resources=s.resources,
            annotations=gs.lb_annotations(cluster.kind, internal=s.internal_lb, extra=s.lb_annotations)
            if s.service_type == "LoadBalancer" else dict(s.lb_annotations),
            source_ranges=s.source_ranges, external_traffic_policy=s.external_traffic_policy,
            zone_spread=s.zone_spread)
        internal_proxy = gs.ProxySettings(service_type="ClusterIP", replicas=s.replicas, resources=s.resources,
                                          zone_spread=s.zone_spread)
        gateway_class = cr(f"{name}-class", gs.gateway_class(labels))
        proxies = [
            cr(f"{name}-public-proxy", gs.envoy_proxy(gs.PUBLIC_PROXY, gw_ns, labels, gateway=gs.PUBLIC_GATEWAY,
                                                      service_name=PUBLIC_SERVICE, proxy=public_proxy)),
            cr(f"{name}-internal-proxy", gs.envoy_proxy(gs.INTERNAL_PROXY, gw_ns, labels, gateway=gs.INTERNAL_GATEWAY,
                                                        service_name=INTERNAL_SERVICE, proxy=internal_proxy)),
        ]
        gw_opts = child_opts(self, provider, depends_on=[*controllers, gateway_class, *proxies])
        self.public_gateway = cr(f"{name}-public", gs.public_gateway(gw_ns, labels, tls.GATEWAY_CERT_SECRET), gw_opts)
        self.internal_gateway = cr(f"{name}-internal", gs.internal_gateway(gw_ns, labels), gw_opts)
        gateways = [self.public_gateway, self.internal_gateway]
        after_gateways = child_opts(self, provider, depends_on=gateways)
        cr(f"{name}-redirect", gs.redirect_route(gw_ns, labels, s.hostnames), after_gateways)
        cr(f"{name}-clients", gs.client_traffic_policy(gw_ns, labels, s.request_timeout), after_gateways)
        self._tls(name, args, labels, gw_space.resource)
        if s.service_monitors:
            for monitor in gs.pod_monitors(ctl_ns, labels, s.service_monitor_labels):
                cr(f"{name}-{monitor['metadata']['name']}-monitor", monitor,
                   child_opts(self, provider, depends_on=[ctl_space.resource]))

        self.ready: tuple[pulumi.Resource, ...] = (*crds.resources, self.controller, self.ai_controller, *gateways)
        self.endpoints = gateway_endpoints(s)
        self.register_outputs({"publicUrl": self.endpoints.public_url, "internalUrl": self.endpoints.internal_url,
                               "namespace": gw_ns, "tlsIssuer": s.tls.issuer})

    def _tls(self, name: str, args: EdgeGatewayArgs, labels: dict, gateway_namespace: pulumi.Resource) -> None:
        s, t, provider = args.settings, args.settings.tls, args.cluster.provider
        cm_ns = args.cert_manager_namespace
        after: list[pulumi.Resource] = [gateway_namespace, *([args.cert_manager] if args.cert_manager else [])]
        if t.issuer == "acme" and t.acme_solver == "dns01":
            if args.acme_dns_api_token is None:
                raise ValueError("an ACME DNS-01 issuer needs acme_dns_api_token")
            after.append(opaque_secret(f"{name}-acme-dns-token", tls.dns_token_secret_metadata(cm_ns, labels),
                                       {tls.DNS_TOKEN_KEY: args.acme_dns_api_token},
                                       child_opts(self, provider, depends_on=list(after))))
        objects = tls.tls_objects(
            issuer=t.issuer, gateway_namespace=s.namespace, cert_manager_namespace=cm_ns, labels=labels,
            hostnames=s.hostnames, acme_email=t.acme_email, acme_server=t.acme_server, acme_solver=t.acme_solver,
            existing_issuer=t.existing_issuer, existing_issuer_kind=t.existing_issuer_kind)
        for obj in objects:
            # Each issuer before what it signs: the CA certificate, the CA issuer, the gateway's.
            resource = k8s.apiextensions.CustomResource(
                f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}", api_version=obj["apiVersion"],
                kind=obj["kind"], metadata=obj["metadata"], spec=obj["spec"],
                opts=child_opts(self, provider, depends_on=list(after)))
            after.append(resource)
