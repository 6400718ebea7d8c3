"""InferencePools: one InferencePool with its endpoint picker per pooled (vLLM) model.

Creates, in the models namespace, per model:
- a Helm release ``<model>-pool`` of the Inference Extension's ``inferencepool`` chart (pinned),
  which renders the InferencePool selecting the model's server pods and the EPP Deployment,
  Service, ConfigMap and RBAC;
- NetworkPolicies: Envoy proxies -> EPP ext-proc, proxies and EPP -> the model's pods, EPP ->
  API server, and Prometheus -> EPP metrics when a metrics namespace is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.common.labels import standard_labels
from components.common.security import Resources
from components.edge.contracts import RoutedModel
from components.edge.pools_specs import POOL_CHART, POOL_CHART_VERSION, pool_name, pool_policies, pool_values


@dataclass(frozen=True)
class PickerSettings:
    resources: Resources = Resources(cpu_request="500m", memory_request="512Mi", cpu_limit="2",
                                     memory_limit="2Gi")
    replicas: int = 1
    service_monitor: bool = False
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InferencePoolsArgs:
    cluster: ClusterInfo
    models_namespace: str
    controller_namespace: str
    models: tuple[RoutedModel, ...]
    picker: PickerSettings = field(default_factory=PickerSettings)
    metrics_namespace: Optional[str] = None
    depends_on: tuple[pulumi.Resource, ...] = ()


class InferencePools(pulumi.ComponentResource):
    pools: dict[str, str]
    releases: list[pulumi.Resource]

    def __init__(self, name: str, args: InferencePoolsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:edge:InferencePools", name, None, opts)
        cluster, ns = args.cluster, args.models_namespace
        self.pools, self.releases = {}, []
        for m in args.models:
            if not m.pooled:
                continue
            release = pool_name(m.name)
            labels = standard_labels("network-policy", release, "inference-pool")
            policies = [k8s.networking.v1.NetworkPolicy(
                f"{name}-{p['metadata']['name']}", metadata=p["metadata"], spec=p["spec"],
                opts=child_opts(self, cluster.provider, depends_on=list(args.depends_on)),
            ) for p in pool_policies(release, ns, labels, m.selector, m.port, args.controller_namespace,
                                     args.metrics_namespace)]
            self.releases.append(k8s.helm.v3.Release(
                f"{name}-{m.name}",
                name=release,
                chart=POOL_CHART,
                version=POOL_CHART_VERSION,
                namespace=ns,
                values=pool_values(release, m.selector, m.port, replicas=args.picker.replicas,
                                   resources=args.picker.resources, service_monitor=args.picker.service_monitor,
                                   service_monitor_labels=args.picker.service_monitor_labels),
                opts=child_opts(self, cluster.provider, depends_on=[*args.depends_on, *policies]),
            ))
            self.pools[m.name] = release
        self.register_outputs({"pools": self.pools})
