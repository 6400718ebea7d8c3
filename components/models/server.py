"""ModelServer: one model behind one engine.

Creates, in the models namespace:
- the Deployment (engine image and arguments, catalog mounted read-only, GPU request,
  tolerations and node affinity of its pool, probes sized for load time, secure context);
- the ClusterIP Service (port ``http``; Triton also ``grpc`` and ``metrics``);
- the ServiceMonitor for the engine's metrics (when the Prometheus Operator is used);
- a PodDisruptionBudget (maxUnavailable 1) when it may run more than one replica;
- the KEDA ScaledObject when KEDA owns its replica count; the Deployment's ``spec.replicas``
  is then ignored on later updates so Pulumi and KEDA don't fight over it.
Everything carries ``genai-platform.io/model: <name>``, which Services, ServiceMonitors,
ScaledObjects and, later, the gateway select on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts
from components.models import autoscaling_specs, engines
from components.models import server_specs as specs
from components.models.autoscaling_specs import AutoscalingSettings
from components.models.catalog_specs import ModelVolume
from components.models.placement import ModelRequest, Placement
from components.models.server_specs import ServerSettings


@dataclass(frozen=True)
class Scaling:
    """KEDA is installed: where Prometheus is and what the ScaledObject waits for."""

    prometheus_address: str
    settings: AutoscalingSettings = field(default_factory=AutoscalingSettings)
    keda: Optional[pulumi.Resource] = None


@dataclass(frozen=True)
class ModelServerArgs:
    provider: k8s.Provider
    namespace: str
    request: ModelRequest
    placement: Placement
    volume: ModelVolume
    settings: ServerSettings = field(default_factory=ServerSettings)
    scaling: Optional[Scaling] = None
    depends_on: tuple[pulumi.Resource, ...] = ()


class ModelServer(pulumi.ComponentResource):
    def __init__(self, name: str, args: ModelServerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:models:ModelServer", name, None, opts)
        req, placement, ns, provider = args.request, args.placement, args.namespace, args.provider
        if req.name != placement.model:
            raise ValueError(f"placement for {placement.model!r} given to model {req.name!r}")
        after = list(args.depends_on)
        if args.scaling is not None:
            low, high = autoscaling_specs.replica_bounds(req.name, placement, args.scaling.settings)
        else:
            low, high = placement.min_replicas, placement.max_replicas
        self.autoscaled = args.scaling is not None and low < high
        replicas = specs.initial_replicas(low, high, self.autoscaled)
        dep = specs.deployment(req, placement, ns, name, args.volume, replicas, args.settings)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=dep["metadata"], spec=dep["spec"],
            opts=child_opts(self, provider, depends_on=after,
                            ignore_changes=["spec.replicas"] if self.autoscaled else None),
        )
        svc = specs.service(req, ns, name)
        self.service = k8s.core.v1.Service(f"{name}-service", metadata=svc["metadata"], spec=svc["spec"],
                                           opts=child_opts(self, provider, depends_on=after))
        if args.settings.service_monitor:
            sm = specs.service_monitor(req, ns, name, args.settings)
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor", api_version=sm["apiVersion"], kind=sm["kind"],
                metadata=sm["metadata"], spec=sm["spec"], opts=child_opts(self, provider, depends_on=after))
        if placement.max_replicas > 1:
            pdb = specs.disruption_budget(req, ns, name)
            k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=pdb["metadata"], spec=pdb["spec"],
                                              opts=child_opts(self, provider, depends_on=after))
        if self.autoscaled and args.scaling is not None:
            so = autoscaling_specs.scaled_object(req, placement, ns, name, args.scaling.prometheus_address,
                                                 args.scaling.settings)
            if placement.min_replicas == 0 and low > 0:
                pulumi.log.warn(f"{req.name} asks to scale to zero but has no wake query (requests in flight "
                                "for it at the gateway); it keeps one replica, since its own queue can't tell "
                                "idle from keeping up and reports nothing at zero", resource=self)
            if so is not None:
                waits = [self.deployment, *([args.scaling.keda] if args.scaling.keda is not None else [])]
                k8s.apiextensions.CustomResource(
                    f"{name}-scaled-object", api_version=so["apiVersion"], kind=so["kind"],
                    metadata=so["metadata"], spec=so["spec"],
                    opts=child_opts(self, provider, depends_on=after + waits))

        spec = engines.ENGINES[req.engine]
        self.endpoint = {
            "service": f"{req.name}.{ns}.svc",
            "port": spec.http_port,
            "engine": req.engine,
            "task": req.task,
            "api": engines.api(req.engine, req.task),
            "openaiBasePath": engines.openai_base_path(req.engine, req.task),
            "url": f"http://{req.name}.{ns}.svc:{spec.http_port}",
        }
        self.register_outputs({"endpoint": self.endpoint, "autoscaled": self.autoscaled})
