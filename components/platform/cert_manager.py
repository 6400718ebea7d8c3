"""CertManager: cert-manager, installed once per stack with its Helm chart.

Creates:
- its namespace (PSA ``restricted``: the chart's pods run non-root with a read-only root
  filesystem, no capabilities and the RuntimeDefault seccomp profile) with the baseline
  policies plus cert-manager's own (API server egress, webhook ingress, metrics, optional ACME
  self-checks);
- the Helm release (chart ``cert-manager`` from Jetstack's repository, pinned version, CRDs
  included and kept on uninstall).
Whatever needs certificates or cert-manager's CRDs (operator webhooks, ClusterIssuers) waits
for ``release``.
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
from components.platform.cert_manager_specs import (
    CERT_MANAGER_CHART,
    CERT_MANAGER_REPOSITORY,
    CERT_MANAGER_VERSION,
    cert_manager_policies,
    cert_manager_values,
)
from components.platform.namespace import NamespaceArgs, PlatformNamespace


@dataclass(frozen=True)
class CertManagerArgs:
    cluster: ClusterInfo
    namespace: str = "cert-manager"
    chart_version: str = CERT_MANAGER_VERSION
    replicas: int = 1
    service_monitor: bool = False
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    # Prometheus' namespace, admitted to the metrics port when the ServiceMonitor is on.
    metrics_namespace: Optional[str] = None
    # ACME issuers: let the controller run its HTTP-01 / DNS-01 self-checks.
    acme_self_checks: bool = False
    # ACME HTTP-01 through the gateway: Gateway API support on (see cert_manager_values).
    gateway_api: bool = False
    # What the release waits for: the Gateway API CRDs when ``gateway_api`` is on.
    depends_on: tuple[pulumi.Resource, ...] = ()


class CertManager(pulumi.ComponentResource):
    def __init__(self, name: str, args: CertManagerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:platform:CertManager", name, None, opts)
        cluster, ns = args.cluster, args.namespace
        policy_labels = standard_labels("network-policy", ns, "certificates")
        namespace = PlatformNamespace(f"{name}-ns", NamespaceArgs(
            provider=cluster.provider,
            namespace=ns,
            component="certificates",
            kubernetes_version=cluster.kubernetes_version,
            extra_policies=tuple(cert_manager_policies(
                ns, policy_labels, metrics_namespace=args.metrics_namespace,
                service_monitor=args.service_monitor, acme_self_checks=args.acme_self_checks)),
            protect=cluster.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.namespace = ns
        self.values = cert_manager_values(ns, replicas=args.replicas, service_monitor=args.service_monitor,
                                          service_monitor_labels=args.service_monitor_labels,
                                          gateway_api=args.gateway_api)
        # Operator webhooks and issuers depend on it; uninstalling it breaks their admission.
        self.release = k8s.helm.v3.Release(
            name,
            name="cert-manager",
            chart=CERT_MANAGER_CHART,
            version=args.chart_version,
            repository_opts={"repo": CERT_MANAGER_REPOSITORY},
            namespace=ns,
            values=self.values,
            opts=child_opts(self, cluster.provider, depends_on=[namespace.resource, *args.depends_on], protect=cluster.protect),
        )
        self.register_outputs({"namespace": ns, "chartVersion": args.chart_version})
