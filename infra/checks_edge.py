"""Rules that span fields of the ``gateway`` section, and the namespaces the platform owns.

Each rule returns ``(key path, message)`` pairs (``gateway.tls.acme``); the message says what is
wrong and how to fix it. ``gateway_problems`` needs nothing but the section, so it also runs
when another section is invalid (``infra.checks.check_sections``).
"""

from __future__ import annotations

from components.models.server_specs import scraper_namespace
from infra.checks_data import _quantity, config_zones
from infra.problems import Problem
from infra.schema import PlatformConfig
from infra.schema_data import ResourcesConfig
from infra.schema_edge import GatewayConfig

# Namespaces Kubernetes itself owns; ``kube-`` is its prefix for system namespaces.
KUBERNETES_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# cert-manager is installed with its chart's own namespace (the gateway's certificates need it).
CERT_MANAGER_NAMESPACE = "cert-manager"


def is_kubernetes_namespace(name: str) -> bool:
    return name in KUBERNETES_NAMESPACES or name.startswith("kube-")


def platform_namespaces(cfg: PlatformConfig, gateway: bool = True) -> dict[str, str]:
    """Every namespace the stack's layers run in, by the key that sets it (or what it is).

    ``gateway=False`` leaves out the gateway's own, for the rules about those.
    """
    ns, serving, db = cfg.namespaces, cfg.model_serving, cfg.databases
    taken = {"namespaces.system": ns.system, "namespaces.gpuOperator": ns.gpu_operator,
             "namespaces.models": ns.models, "namespaces.backups": ns.backups,
             "cert-manager's namespace": CERT_MANAGER_NAMESPACE}
    if serving.keda.enabled:
        taken["modelServing.keda.namespace"] = serving.keda.namespace
    prometheus = scraper_namespace(serving.prometheus_address)
    if cfg.observability is not None:
        taken["observability.namespace"] = cfg.observability.namespace
    elif prometheus:
        taken["Prometheus' namespace (modelServing.prometheusAddress)"] = prometheus
    if db.engines():
        taken["databases.namespace"] = db.namespace
    for key, engine in db.engines().items():
        operator_ns = getattr(engine, "operator_namespace", None)
        if operator_ns is not None:
            taken[f"databases.{key}.operatorNamespace"] = operator_ns
    if gateway and cfg.gateway is not None:
        taken.update(gateway_namespaces(cfg.gateway))
    return taken


def gateway_namespaces(gw: GatewayConfig) -> dict[str, str]:
    return {"gateway.namespace": gw.namespace, "gateway.controllerNamespace": gw.controller_namespace,
            "gateway.aiControllerNamespace": gw.ai_controller_namespace}


def _tls_problems(gw: GatewayConfig) -> list[Problem]:
    tls = gw.tls
    out: list[Problem] = []
    if tls.issuer == "acme" and tls.acme is None:
        out.append(("gateway.tls.acme", "required when gateway.tls.issuer is 'acme': the account's email "
                    "(and solver http01 or dns01)"))
    if tls.issuer != "acme" and tls.acme is not None:
        out.append(("gateway.tls.acme", f"only applies when gateway.tls.issuer is 'acme' (it is {tls.issuer!r}); "
                    "set issuer to 'acme' or remove this key"))
    if tls.issuer == "existing" and tls.existing_issuer is None:
        out.append(("gateway.tls.existingIssuer", "required when gateway.tls.issuer is 'existing': the name (and "
                    "kind, ClusterIssuer by default) of the cert-manager issuer to use"))
    if tls.issuer != "existing" and tls.existing_issuer is not None:
        out.append(("gateway.tls.existingIssuer", f"only applies when gateway.tls.issuer is 'existing' "
                    f"(it is {tls.issuer!r}); set issuer to 'existing' or remove this key"))
    return out


def _auth_problems(gw: GatewayConfig) -> list[Problem]:
    auth = gw.auth
    if auth.mode == "jwt" and auth.jwt is None:
        return [("gateway.auth.jwt", "required when gateway.auth.mode is 'jwt': issuer, jwksUri and the "
                 "tenantClaim naming the tenant")]
    if auth.mode != "jwt" and auth.jwt is not None:
        return [("gateway.auth.jwt", f"only applies when gateway.auth.mode is 'jwt' (it is {auth.mode!r}); "
                 "set mode to 'jwt' or remove this key")]
    return []


def _load_balancer_problems(gw: GatewayConfig) -> list[Problem]:
    lb = gw.load_balancer
    out: list[Problem] = []
    kind = lb.service_type
    if lb.internal and kind != "LoadBalancer":
        out.append(("gateway.loadBalancer.internal", f"only applies when gateway.loadBalancer.type is "
                    f"'LoadBalancer' (it is {kind!r}); a {kind} Service gets no cloud load balancer"))
    if lb.source_ranges and kind != "LoadBalancer":
        # Kubernetes applies loadBalancerSourceRanges at the cloud load balancer only.
        out.append(("gateway.loadBalancer.sourceRanges", f"only applies when gateway.loadBalancer.type is "
                    f"'LoadBalancer' (it is {kind!r}): nothing would filter clients; restrict them in front of "
                    "the nodes instead, or use a LoadBalancer"))
    if kind == "ClusterIP" and "external_traffic_policy" in lb.model_fields_set:
        out.append(("gateway.loadBalancer.externalTrafficPolicy", "only applies to NodePort and LoadBalancer "
                    "Services (Kubernetes rejects it on a ClusterIP Service); remove this key"))
    return out


def resources_problems(at: str, res: ResourcesConfig) -> list[Problem]:
    out: list[Problem] = []
    for limit, request, key in ((res.cpu_limit, res.cpu, "cpuLimit"), (res.memory_limit, res.memory, "memoryLimit")):
        if limit is not None and _quantity(limit) < _quantity(request):
            out.append((f"{at}.{key}", f"{limit} is below the request {request}; raise it or lower the request"))
    return out


def _namespace_problems(gw: GatewayConfig) -> list[Problem]:
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for key, value in gateway_namespaces(gw).items():
        if is_kubernetes_namespace(value):
            out.append((key, f"{value!r} belongs to Kubernetes; choose a namespace of the platform's own"))
        elif value in seen:
            out.append((key, f"{value!r} is already {seen[value]}; the routes, the Envoy proxies and the AI "
                        "Gateway controller each get a namespace of their own (their network policies differ)"))
        seen.setdefault(value, key)
    return out


def gateway_problems(gw: GatewayConfig) -> list[Problem]:
    """Problems of the ``gateway`` section on its own."""
    return (_tls_problems(gw) + _auth_problems(gw) + _load_balancer_problems(gw) + _namespace_problems(gw)
            + resources_problems("gateway.resources", gw.resources)
            + resources_problems("gateway.endpointPicker.resources", gw.endpoint_picker.resources))


def _platform_namespace_problems(cfg: PlatformConfig, gw: GatewayConfig) -> list[Problem]:
    others = platform_namespaces(cfg, gateway=False)
    out: list[Problem] = []
    for key, value in gateway_namespaces(gw).items():
        for other, taken in others.items():
            if value == taken:
                out.append((key, f"{value!r} is already {other}; give the gateway a namespace of its own"))
    return out


def _zone_problems(cfg: PlatformConfig, gw: GatewayConfig) -> list[Problem]:
    # An EKS cluster always spans two zones or more (cluster.eks.azCount says so when it doesn't).
    if not gw.zone_spread or cfg.cluster.target == "eks":
        return []
    zones = config_zones(cfg)
    if zones is None and cfg.cluster.target == "existing":
        return [("gateway.zoneSpread", "this stack does not name its zones, and proxies spread across zones "
                 "(DoNotSchedule) would find no zone label: list them in cluster.existing.zones or set "
                 "zoneSpread to false")]
    if zones is not None and len(zones) < 2:
        return [("gateway.zoneSpread", f"the cluster has one zone ({zones[0]}); spreading across zones needs at "
                 "least two: add zones to the cluster or set zoneSpread to false")]
    if zones is not None and gw.replicas < 2:
        return [("gateway.replicas", f"{gw.replicas} proxy cannot spread across zones; set replicas to at least 2 "
                 "or zoneSpread to false")]
    return []


def edge_problems(cfg: PlatformConfig) -> list[Problem]:
    """Every problem of the ``gateway`` section, including those against other sections."""
    gw = cfg.gateway
    if gw is None:
        return []
    return gateway_problems(gw) + _platform_namespace_problems(cfg, gw) + _zone_problems(cfg, gw)
