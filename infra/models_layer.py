"""The models layer of the program: stack ``models`` -> placements -> ModelServing.

The capacity plan was already checked with the configuration (``infra/checks_models``), on
the same pools, so here it cannot fail; the program plans again from the pools the cluster
component hands out so that what is served is exactly what ``ClusterInfo`` describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi

from components.cluster.info import ClusterInfo
from components.edge.contracts import Canary, RoutedModel
from components.models import server_specs
from components.models.autoscaling_specs import KedaSettings
from components.models.catalog_specs import CatalogSettings
from components.models.placement import ModelRequest, Placement
from components.models.planner import plan, pool_demand
from components.models.server_specs import ServerSettings
from components.models.serving import ModelServing, ModelServingArgs
from infra.config import LoadedConfig
from infra.schema_models import canary_name, expand_canaries, to_requests


@dataclass(frozen=True)
class ModelsLayer:
    serving: ModelServing
    requests: tuple[ModelRequest, ...]
    placements: tuple[Placement, ...]
    # Stable model -> its canary's weight (percent); the canary is served as ``<name>-canary``.
    canaries: Mapping[str, int] = field(default_factory=dict)

    def outputs(self) -> list[dict]:
        """Each model's placement and endpoint, as the stack output and the plan summary show it."""
        out = []
        for req, p in zip(self.requests, self.placements, strict=True):
            canary = {}
            if req.name in self.canaries:
                canary = {"canary": {"weight": self.canaries[req.name], "service": canary_name(req.name)}}
            out.append({
                "name": req.name, "task": req.task, "engine": req.engine,
                "pool": p.pool or "cpu", "gpuModel": p.gpu_model, "tensorParallel": p.tensor_parallel,
                "gpusPerReplica": p.gpus_per_replica, "replicas": {"min": p.min_replicas, "max": p.max_replicas},
                "maxModelLen": p.max_model_len, "gpuMemoryUtilization": p.gpu_memory_utilization,
                "neededGiB": round(p.needed_gib, 1), "allocatedGiB": round(p.allocated_gib, 1),
                "endpoint": self.serving.endpoints[req.name],
                **canary,
            })
        return out


def build_models(loaded: LoadedConfig, cluster: ClusterInfo) -> Optional[ModelsLayer]:
    cfg = loaded.platform
    if not cfg.models:
        return None
    requests = to_requests(expand_canaries(cfg.models))
    result = plan(requests, cluster.gpu_pools)
    if result.problems:
        raise pulumi.RunError("capacity plan failed: " + "; ".join(p.message for p in result.problems))
    ms = cfg.model_serving
    placements = tuple(result.placement(r.name) for r in requests)
    for d in pool_demand(placements, cluster.gpu_pools):
        if d.capacity is not None and d.max_gpus > d.capacity:
            pulumi.log.warn(f"pool {d.pool}: its models ({', '.join(d.models)}) need {d.max_gpus} GPUs at their "
                            f"maximum replicas but the pool holds {d.capacity}; they cannot all scale out at once")
    # The gateway's endpoint pickers run beside their vLLM servers (an InferencePool selects
    # pods of its own namespace), and their chart sets no securityContext.
    # A model with a canary is routed by weight, without a picker.
    pickers = cfg.gateway is not None and any(m.effective_engine == "vllm" and m.canary is None for m in cfg.models)
    serving = ModelServing("models", ModelServingArgs(
        cluster=cluster,
        pod_security="baseline" if pickers else None,
        namespace=cfg.namespaces.models,
        requests=requests,
        placements=result.placements,
        prometheus_address=ms.prometheus_address,
        hf_token=loaded.hf_token,
        keda=KedaSettings(enabled=ms.keda.enabled, chart_version=ms.keda.chart_version, namespace=ms.keda.namespace,
                          service_monitors=ms.service_monitors),
        catalog_headroom=ms.catalog_headroom,
        catalog=CatalogSettings(min_size_gib=ms.catalog_min_size_gib,
                                backup_excluded=cfg.backups is not None and not cfg.backups.include_model_catalog),
        servers=ServerSettings(service_monitor=ms.service_monitors,
                               service_monitor_labels=dict(ms.service_monitor_labels)),
    ))
    canaries = {m.name: m.canary.weight for m in cfg.models if m.canary is not None}
    return ModelsLayer(serving, requests, placements, canaries)


def routed_models(layer: ModelsLayer) -> tuple[RoutedModel, ...]:
    """What the gateway routes: every served model, each canary folded into its model."""
    canary_names = {canary_name(n) for n in layer.canaries}
    out = []
    for req in layer.requests:
        if req.name in canary_names:
            continue
        ep = layer.serving.endpoints[req.name]
        canary = None
        if req.name in layer.canaries:
            name = canary_name(req.name)
            # Each server's Service is named after the model it serves.
            canary = Canary(service=name, served_name=name,
                            weight=layer.canaries[req.name])
        out.append(RoutedModel(
            name=req.name, service=req.name, port=ep["port"], engine=req.engine, task=req.task,
            api=ep["api"], openai=ep["openaiBasePath"] is not None,
            selector=server_specs.selector(req.name), canary=canary,
        ))
    return tuple(out)
