"""Dashboards: the platform's Grafana dashboards, as ConfigMaps Grafana's dashboard sidecar loads.

Creates, in the monitoring namespace, one ConfigMap ``dashboard-<uid>`` per dashboard, labelled
for the sidecar (``grafana_dashboard: "1"``) and annotated with the "GenAI Platform" folder:
- GPU fleet (only when the cluster has GPU pools): DCGM utilization, memory, temperature, power,
  XID errors per node, GPU and pod;
- model serving: per-engine rows for the engines the stack runs;
- gateway (only when the gateway is deployed): requests, errors and latency per tenant and model;
- Kubernetes platform: nodes, pods, CPU/memory per namespace, volume usage.
The dashboards themselves are built by the pure ``dashboards_*`` modules.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.common.labels import standard_labels
from components.ops.contracts import DASHBOARD_FOLDER_ANNOTATION, DASHBOARD_LABEL
from components.ops.dashboards_gateway import gateway_dashboard
from components.ops.dashboards_gpu import gpu_dashboard
from components.ops.dashboards_platform import platform_dashboard
from components.ops.dashboards_serving import serving_dashboard

FOLDER = "GenAI Platform"
COMPONENT = "dashboards"
# A ConfigMap holds at most 1 MiB; stay far below so a grown dashboard fails a test, not an apply.
MAX_DASHBOARD_BYTES = 256 * 1024


@dataclass(frozen=True)
class DashboardsArgs:
    cluster: ClusterInfo
    namespace: str                 # monitoring namespace
    engines: tuple[str, ...]       # engines present in the stack ("vllm", "tgi", "tei", "triton-trtllm", "llamacpp")
    gpu: bool                      # GPU pools exist (GPU fleet dashboard only then)
    gateway: bool                  # gateway present (gateway dashboard only then)


def dashboards(engines: Sequence[str], gpu: bool, gateway: bool) -> dict[str, dict]:
    """uid -> dashboard JSON for this stack. The serving dashboard is there whenever a model
    engine is; the gateway's inference-pool row only when vLLM (the pooled engine) runs."""
    out: list[dict] = [platform_dashboard()]
    if engines:
        out.append(serving_dashboard(engines))
    if gpu:
        out.append(gpu_dashboard())
    if gateway:
        out.append(gateway_dashboard(pools="vllm" in engines))
    return {d["uid"]: d for d in out}


def config_map(uid: str, dashboard: dict, namespace: str, instance: str) -> dict:
    """The ConfigMap the Grafana sidecar reads: one ``<uid>.json`` key, compact JSON."""
    body = json.dumps(dashboard, separators=(",", ":"), sort_keys=True)
    if len(body.encode()) > MAX_DASHBOARD_BYTES:
        raise ValueError(f"dashboard {uid} is {len(body.encode())} bytes; keep it under {MAX_DASHBOARD_BYTES}")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"dashboard-{uid}",
            "namespace": namespace,
            "labels": {**standard_labels(f"dashboard-{uid}", instance, COMPONENT), **DASHBOARD_LABEL},
            "annotations": {DASHBOARD_FOLDER_ANNOTATION: FOLDER},
        },
        "data": {f"{uid}.json": body},
    }


def config_maps(args_engines: Sequence[str], gpu: bool, gateway: bool, namespace: str, instance: str) -> list[dict]:
    return [config_map(uid, d, namespace, instance) for uid, d in dashboards(args_engines, gpu, gateway).items()]


class Dashboards(pulumi.ComponentResource):
    def __init__(self, name: str, args: DashboardsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:ops:Dashboards", name, None, opts)
        provider = args.cluster.provider
        self.manifests = config_maps(args.engines, args.gpu, args.gateway, args.namespace, name)
        self.config_maps = [
            k8s.core.v1.ConfigMap(f"{name}-{m['metadata']['name']}", metadata=m["metadata"], data=m["data"],
                                  opts=child_opts(self, provider))
            for m in self.manifests
        ]
        self.uids = [m["metadata"]["name"].removeprefix("dashboard-") for m in self.manifests]
        self.register_outputs({"dashboards": self.uids, "namespace": args.namespace})
