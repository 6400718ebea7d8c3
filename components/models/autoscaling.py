"""Keda: the KEDA operator, installed with its Helm chart, that scales the model servers.

Creates:
- its namespace (PSA ``restricted``: the chart's pods run non-root with a read-only root
  filesystem, no capabilities and the RuntimeDefault seccomp profile) with the baseline
  policies plus KEDA's own: egress to the API server and Prometheus, ingress from the API
  server to the metrics API and webhooks, the operator <-> metrics-server gRPC, and, with
  its ServiceMonitors on, Prometheus' scrapes of the operator and metrics server;
- the Helm release (chart ``keda`` from kedacore's repository, pinned version, CRDs included).
The ScaledObjects themselves belong to each ModelServer and wait for ``release``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.common.labels import standard_labels
from components.models.autoscaling_specs import (
    KEDA_CHART,
    KEDA_REPOSITORY,
    KedaSettings,
    keda_network_policies,
    keda_values,
)
from components.platform.namespace import NamespaceArgs, PlatformNamespace


@dataclass(frozen=True)
class KedaArgs:
    cluster: ClusterInfo
    settings: KedaSettings
    prometheus_address: str
    # Namespace Prometheus scrapes from; by default read off an in-cluster ``prometheus_address``.
    metrics_namespace: Optional[str] = None


class Keda(pulumi.ComponentResource):
    def __init__(self, name: str, args: KedaArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:models:Keda", name, None, opts)
        cluster, settings = args.cluster, args.settings
        ns = settings.namespace
        policy_labels = standard_labels("network-policy", ns, "autoscaling")
        namespace = PlatformNamespace(f"{name}-ns", NamespaceArgs(
            provider=cluster.provider,
            namespace=ns,
            component="autoscaling",
            kubernetes_version=cluster.kubernetes_version,
            extra_policies=tuple(keda_network_policies(ns, policy_labels, args.prometheus_address,
                                                       scraped=settings.service_monitors,
                                                       metrics_namespace=args.metrics_namespace)),
            protect=cluster.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.values = keda_values(settings)
        self.release = k8s.helm.v3.Release(
            name,
            name="keda",
            chart=KEDA_CHART,
            version=settings.chart_version,
            repository_opts={"repo": KEDA_REPOSITORY},
            namespace=ns,
            values=self.values,
            opts=child_opts(self, cluster.provider, depends_on=[namespace.resource]),
        )
        self.register_outputs({"namespace": ns, "chartVersion": settings.chart_version})
