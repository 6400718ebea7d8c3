"""GpuOperator: the NVIDIA GPU Operator, installed with its Helm chart.

Creates:
- its namespace, labelled PSA ``privileged``: the operator's daemonsets load kernel modules,
  mount host paths and run privileged containers on GPU nodes (driver, toolkit, device
  plugin, DCGM); no weaker level admits them. Baseline network policies plus egress to the
  API server and registries, and ingress to the DCGM exporter's metrics port;
- the device-plugin ConfigMap (time-slicing / MIG per pool) when any pool shares its GPUs;
- on GKE, the ResourceQuota that lets system-critical pods run in its namespace;
- the Helm release (chart ``gpu-operator`` from NVIDIA's NGC repository, pinned version).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.common.labels import standard_labels
from components.platform import network_policies as np
from components.platform.gpu_operator_values import (
    CHART,
    DEVICE_PLUGIN_CONFIGMAP,
    PREINSTALLED_STACK,
    REPOSITORY,
    GpuOperatorSettings,
    device_plugin_config,
    gpu_operator_values,
)
from components.platform.namespace import NamespaceArgs, PlatformNamespace

DCGM_EXPORTER_PORT = 9400


@dataclass(frozen=True)
class GpuOperatorArgs:
    cluster: ClusterInfo
    namespace: str
    settings: GpuOperatorSettings


class GpuOperator(pulumi.ComponentResource):
    def __init__(self, name: str, args: GpuOperatorArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:platform:GpuOperator", name, None, opts)
        cluster, ns = args.cluster, args.namespace
        provider = cluster.provider
        policy_labels = standard_labels("network-policy", ns, "gpu-operator")
        settings = args.settings
        # A managed driver fetches kernel headers and packages over HTTP(S).
        managed = settings.driver == "managed" and settings.platform not in PREINSTALLED_STACK
        egress_ports = [443, 6443, 80] if managed else [443, 6443]
        namespace = PlatformNamespace(f"{name}-ns", NamespaceArgs(
            provider=provider,
            namespace=ns,
            component="gpu-operator",
            kubernetes_version=cluster.kubernetes_version,
            pod_security="privileged",
            extra_policies=(
                np.allow_egress_ports("allow-api-and-registries", ns, policy_labels, egress_ports),
                np.allow_ingress_ports("allow-metrics-scrape", ns, policy_labels, [DCGM_EXPORTER_PORT]),
            ),
            protect=cluster.protect,
        ), opts=pulumi.ResourceOptions(parent=self))

        depends: list[pulumi.Resource] = [namespace.resource]
        plugin_data = device_plugin_config(cluster.gpu_pools)
        if plugin_data is not None:
            depends.append(k8s.core.v1.ConfigMap(
                f"{name}-device-plugin-config",
                metadata={"name": DEVICE_PLUGIN_CONFIGMAP, "namespace": ns,
                          "labels": standard_labels("device-plugin-config", name, "gpu-operator")},
                data=plugin_data,
                opts=child_opts(self, provider, depends_on=[namespace.resource]),
            ))

        if settings.platform == "gke":
            depends.append(self._gke_quota(name, ns, provider, namespace.resource))
        self.values = gpu_operator_values(settings, cluster.gpu_pools)
        self.release = k8s.helm.v3.Release(
            name,
            name="gpu-operator",
            chart=CHART,
            version=args.settings.chart_version,
            repository_opts={"repo": REPOSITORY},
            namespace=ns,
            values=self.values,
            # A managed driver compiles on first boot; give the daemonsets time to settle.
            timeout=1800,
            opts=child_opts(self, provider, depends_on=depends),
        )
        self.register_outputs({"namespace": ns, "chartVersion": args.settings.chart_version})

    def _gke_quota(self, name: str, ns: str, provider: k8s.Provider, namespace: pulumi.Resource) -> k8s.core.v1.ResourceQuota:
        # GKE admits pods of the system-*-critical priority classes only in namespaces holding a
        # quota for them; the operator's daemonsets use those classes.
        return k8s.core.v1.ResourceQuota(
            f"{name}-critical-pods",
            metadata={"name": "gpu-operator-quota", "namespace": ns,
                      "labels": standard_labels("quota", name, "gpu-operator")},
            spec={
                "hard": {"pods": "100"},
                "scopeSelector": {"matchExpressions": [{
                    "operator": "In", "scopeName": "PriorityClass",
                    "values": ["system-node-critical", "system-cluster-critical"],
                }]},
            },
            opts=child_opts(self, provider, depends_on=[namespace]),
        )
