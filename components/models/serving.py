"""ModelServing: every model of the stack, from catalog to autoscaled endpoint.

Creates:
- the models namespace (PSA ``restricted``, or ``baseline`` when a TGI model is served: its
  image only runs as root) with the baseline deny-all + DNS policies and: model APIs open to
  this namespace and to namespaces labelled ``genai-platform.io/model-clients: "true"`` (the
  gateway and tenants), metrics open to the Prometheus namespace, HTTPS egress for downloads;
- the ModelCatalog (claim, download Jobs, index);
- KEDA (when enabled and some model has a replica range) and one ModelServer per model.

``endpoints`` maps each model to its Service DNS name, port, engine, task, API kind and
OpenAI base path (None where the engine doesn't speak OpenAI: Triton, TEI rerankers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi

from components.cluster.info import ClusterInfo
from components.common.labels import standard_labels
from components.models import catalog_specs, engines, server_specs
from components.models.autoscaling import Keda, KedaArgs
from components.models.autoscaling_specs import AutoscalingSettings, KedaSettings, autoscaled
from components.models.catalog import ModelCatalog, ModelCatalogArgs
from components.models.catalog_specs import CatalogSettings
from components.models.placement import ModelRequest, Placement
from components.models.server import ModelServer, ModelServerArgs, Scaling
from components.models.server_specs import ServerSettings
from components.platform.namespace import NamespaceArgs, PlatformNamespace


@dataclass(frozen=True)
class ModelServingArgs:
    cluster: ClusterInfo
    namespace: str
    requests: tuple[ModelRequest, ...]
    placements: tuple[Placement, ...]
    prometheus_address: str
    hf_token: Optional[pulumi.Input[str]] = None
    keda: KedaSettings = field(default_factory=KedaSettings)
    catalog_headroom: float = 1.3
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    servers: ServerSettings = field(default_factory=ServerSettings)
    autoscaling: AutoscalingSettings = field(default_factory=AutoscalingSettings)
    # Namespace Prometheus scrapes from; by default read off an in-cluster ``prometheus_address``.
    metrics_namespace: Optional[str] = None
    # Set when other layers run pods here that need less than ``restricted`` (the Inference
    # Extension chart renders its endpoint pickers without a securityContext).
    pod_security: Optional[str] = None


def pair(requests: tuple[ModelRequest, ...], placements: tuple[Placement, ...]) -> list[tuple[ModelRequest, Placement]]:
    """Each request with its placement; every mismatch is reported at once."""
    by_model: Mapping[str, Placement] = {p.model: p for p in placements}
    problems = []
    names = [r.name for r in requests]
    problems += [f"model {n!r} is requested twice" for n in sorted({n for n in names if names.count(n) > 1})]
    problems += [f"model {r.name!r} has no placement" for r in requests if r.name not in by_model]
    problems += [f"placement for {m!r} has no request" for m in sorted(set(by_model) - set(names))]
    if problems:
        raise ValueError("model serving: " + "; ".join(problems))
    return [(r, by_model[r.name]) for r in requests]


def pod_security(requests: tuple[ModelRequest, ...]) -> str:
    return "baseline" if any(engines.ENGINES[r.engine].run_as_user is None for r in requests) else "restricted"


class ModelServing(pulumi.ComponentResource):
    endpoints: dict[str, dict]

    def __init__(self, name: str, args: ModelServingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:models:ModelServing", name, None, opts)
        cluster, ns = args.cluster, args.namespace
        models = pair(args.requests, args.placements)
        policy_labels = standard_labels("network-policy", ns, "models")
        api_ports = [engines.ENGINES[r.engine].port(p.name) for r, _ in models
                     for p in engines.ENGINES[r.engine].ports if p.name != "metrics"]
        metrics_ports = [engines.ENGINES[r.engine].port(engines.ENGINES[r.engine].metrics_port) for r, _ in models]
        metrics_ns = args.metrics_namespace or server_specs.scraper_namespace(args.prometheus_address)
        policies = server_specs.network_policies(ns, policy_labels, api_ports, metrics_ports, metrics_ns)
        policies.append(catalog_specs.downloader_egress(ns, policy_labels, cluster.kind))
        namespace = PlatformNamespace(f"{name}-ns", NamespaceArgs(
            provider=cluster.provider,
            namespace=ns,
            component="models",
            kubernetes_version=cluster.kubernetes_version,
            pod_security=args.pod_security or pod_security(args.requests),  # type: ignore[arg-type]
            extra_policies=tuple(policies),
            protect=cluster.protect,
        ), opts=pulumi.ResourceOptions(parent=self))

        catalog = ModelCatalog(f"{name}-catalog", ModelCatalogArgs(
            cluster=cluster,
            namespace=ns,
            entries=tuple(catalog_specs.entry(r, p) for r, p in models),
            headroom=args.catalog_headroom,
            settings=args.catalog,
            hf_token=args.hf_token,
            depends_on=(namespace.resource,),
        ), opts=pulumi.ResourceOptions(parent=self))

        scaling: Optional[Scaling] = None
        if any(autoscaled(r.name, p, args.keda, args.autoscaling) for r, p in models):
            keda = Keda(f"{name}-keda", KedaArgs(cluster=cluster, settings=args.keda,
                                                 prometheus_address=args.prometheus_address,
                                                 metrics_namespace=args.metrics_namespace),
                        opts=pulumi.ResourceOptions(parent=self))
            scaling = Scaling(args.prometheus_address, args.autoscaling, keda.release)

        self.endpoints = {}
        for req, placement in models:
            server = ModelServer(f"{name}-{req.name}", ModelServerArgs(
                provider=cluster.provider,
                namespace=ns,
                request=req,
                placement=placement,
                volume=catalog.volumes[req.name],
                settings=args.servers,
                scaling=scaling,
                # Servers don't wait for downloads: their pods wait for the catalog marker, so
                # GPU nodes come up while the weights are still being fetched.
                depends_on=(namespace.resource, *([catalog.claim] if catalog.claim is not None else [])),
            ), opts=pulumi.ResourceOptions(parent=self))
            self.endpoints[req.name] = server.endpoint
        self.namespace = ns
        self.register_outputs({"namespace": ns, "endpoints": self.endpoints})
