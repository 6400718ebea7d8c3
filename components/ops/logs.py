"""Logs: Loki for the platform's logs and the collector that ships every pod's logs to it.

Creates, in the monitoring namespace (which the Monitoring component owns):
- NetworkPolicies: Loki's HTTP port for Grafana, Prometheus and the collector; Loki to itself
  (gRPC, memberlist, HTTP); with a collector, its egress to Loki and the API server and
  Prometheus' scrapes of its metrics;
- the Loki Helm release (chart ``loki``, SingleBinary on a ``cluster.storage.rwo`` volume,
  retention by the compactor, its ServiceMonitor on), protected with the stack;
- unless ``collector`` is "none", the Grafana Alloy Helm release: a DaemonSet on every node
  (every taint tolerated) tailing ``/var/log/pods`` and pushing to Loki, with its ServiceMonitor.

Grafana reads logs from ``url`` (``logs_values.loki_url``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.common.labels import standard_labels
from components.ops import logs_values as lv
from components.ops.contracts import COLLECTOR_RELEASE, LOKI_RELEASE

COLLECTORS = ("alloy", "none")


@dataclass(frozen=True)
class LogsArgs:
    cluster: ClusterInfo
    namespace: str                          # monitoring namespace (exists)
    settings: lv.LogsSettings
    grafana_selector: Mapping[str, str]     # pod labels of Grafana, allowed to query Loki


class Logs(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    collector: Optional[k8s.helm.v3.Release]
    url: str

    def __init__(self, name: str, args: LogsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        cluster, s, ns = args.cluster, args.settings, args.namespace
        if s.collector not in COLLECTORS:
            raise ValueError(f"logs collector {s.collector!r}: expected one of {', '.join(COLLECTORS)}")
        super().__init__("genai:ops:Logs", name, None, opts)
        provider = cluster.provider
        with_collector = s.collector != "none"

        policy_labels = standard_labels("network-policy", ns, "logs")
        policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy['metadata']['name']}",
                metadata=policy["metadata"],
                spec=policy["spec"],
                opts=child_opts(self, provider),
            )
            for policy in lv.network_policies(ns, policy_labels, args.grafana_selector, collector=with_collector)
        ]

        self.url = lv.loki_url(ns)
        # Pods start only once their allowances exist, so readiness never races the policies.
        self.release = k8s.helm.v3.Release(
            f"{name}-loki",
            name=LOKI_RELEASE,
            chart=lv.LOKI_CHART,
            version=s.chart_version,
            repository_opts={"repo": lv.GRAFANA_REPOSITORY},
            namespace=ns,
            values=lv.loki_values(s, storage_class=cluster.storage.rwo, protect=cluster.protect),
            opts=child_opts(self, provider, depends_on=policies, protect=cluster.protect),
        )
        self.collector = None
        if with_collector:
            self.collector = k8s.helm.v3.Release(
                f"{name}-{s.collector}",
                name=COLLECTOR_RELEASE,
                chart=lv.ALLOY_CHART,
                version=lv.ALLOY_CHART_VERSION,
                repository_opts={"repo": lv.GRAFANA_REPOSITORY},
                namespace=ns,
                values=lv.alloy_values(ns),
                opts=child_opts(self, provider, depends_on=[*policies, self.release]),
            )
        self.register_outputs({"url": self.url, "collector": s.collector, "chartVersion": s.chart_version})
