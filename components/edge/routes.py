"""ModelRoutes: how the gateway reaches every served model.

Creates:
- InferencePools (one InferencePool + endpoint picker per vLLM model without a canary, in the
  models namespace, see ``pools.py``);
- in the gateway namespace: the AIGatewayRoute ``openai`` (one rule per OpenAI-speaking model,
  by model name), an AIServiceBackend + Envoy Gateway Backend per Service it reaches without a
  pool, and the HTTPRoute ``model-apis`` (``/models/<name>/`` for TEI rerankers and Triton);
- in the models namespace: the ReferenceGrant that lets those routes reach the pools and Services.

``route_names`` are the HTTPRoutes that authentication and rate-limit policies target
(AI Gateway renders the AIGatewayRoute as an HTTPRoute of the same name); ``pools`` maps each
pooled model to its InferencePool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.common.labels import standard_labels
from components.edge import routes_specs as specs
from components.edge.contracts import RoutedModel
from components.edge.pools import InferencePools, InferencePoolsArgs, PickerSettings

__all__ = ["ModelRoutes", "ModelRoutesArgs", "PickerSettings"]


@dataclass(frozen=True)
class ModelRoutesArgs:
    cluster: ClusterInfo
    gateway_namespace: str
    models_namespace: str
    controller_namespace: str
    models: tuple[RoutedModel, ...]
    picker: PickerSettings = field(default_factory=PickerSettings)
    request_timeout: str = "300s"
    metrics_namespace: Optional[str] = None
    # Gateway API / AI Gateway / Inference Extension CRDs and controllers, and the model servers.
    depends_on: tuple[pulumi.Resource, ...] = ()


def _custom(name: str, obj: dict, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(name, api_version=obj["apiVersion"], kind=obj["kind"],
                                            metadata=obj["metadata"], spec=obj["spec"], opts=opts)


class ModelRoutes(pulumi.ComponentResource):
    route_names: tuple[str, ...]
    pools: dict[str, str]

    def __init__(self, name: str, args: ModelRoutesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:edge:ModelRoutes", name, None, opts)
        provider, gw_ns, models_ns = args.cluster.provider, args.gateway_namespace, args.models_namespace
        labels = standard_labels("model-routes", name, "gateway")
        deps = list(args.depends_on)

        pools = InferencePools(f"{name}-pools", InferencePoolsArgs(
            cluster=args.cluster, models_namespace=models_ns, controller_namespace=args.controller_namespace,
            models=args.models, picker=args.picker, metrics_namespace=args.metrics_namespace,
            depends_on=args.depends_on,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.pools = pools.pools

        backends: list[pulumi.Resource] = []
        for service, port in specs.backend_services(args.models):
            eg = specs.eg_backend(service, port, gw_ns, models_ns, labels)
            backends.append(_custom(f"{name}-{eg['metadata']['name']}-backend", eg,
                                    child_opts(self, provider, depends_on=deps)))
            ai = specs.ai_service_backend(service, gw_ns, labels)
            backends.append(_custom(f"{name}-{ai['metadata']['name']}", ai,
                                    child_opts(self, provider, depends_on=deps)))

        grant = specs.reference_grant(args.models, gw_ns, models_ns, labels)
        grants = [_custom(f"{name}-grant", grant, child_opts(self, provider, depends_on=deps))] if grant else []

        route_deps = [*deps, *backends, *grants, *pools.releases]
        openai = specs.openai_route(args.models, gw_ns, models_ns, labels, args.request_timeout)
        if openai is not None:
            _custom(f"{name}-openai", openai, child_opts(self, provider, depends_on=route_deps))
        path = specs.path_route(args.models, gw_ns, models_ns, labels, args.request_timeout)
        if path is not None:
            _custom(f"{name}-paths", path, child_opts(self, provider, depends_on=route_deps))

        self.route_names = specs.route_names(args.models)
        self.register_outputs({"routes": list(self.route_names), "pools": self.pools})
