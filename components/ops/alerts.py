"""Alerts: the platform's alert rules, with runbooks, for the Prometheus of the monitoring layer.

Creates, in the monitoring namespace, one PrometheusRule per topic (``genai-platform-<topic>``):
storage always; GPU, models, databases and gateway when their layers exist; certificates,
backups and logs when cert-manager, Velero and Loki are installed. The rules are built by
``components.ops.alerts_rules``; the PrometheusRule kind comes with kube-prometheus-stack, so
the objects wait for ``depends_on`` (its release).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.ops.alerts_rules import AlertThresholds, RuleSettings, prometheus_rules

__all__ = ["AlertThresholds", "AlertsArgs", "Alerts"]


@dataclass(frozen=True)
class AlertsArgs:
    cluster: ClusterInfo
    namespace: str                              # monitoring namespace
    thresholds: AlertThresholds
    gpu_operator_namespace: Optional[str]       # None: no GPU rules
    models_namespace: Optional[str]             # None: no model rules
    data_namespace: Optional[str]               # None: no database rules
    gateway_namespace: Optional[str]            # None: no gateway rules
    cert_manager: bool
    backups: bool                               # Velero installed
    logs: bool                                  # Loki installed
    # Where Envoy Gateway runs the Gateways' Envoy pods (its controller namespace).
    gateway_proxy_namespace: str = "envoy-gateway-system"
    backups_namespace: str = "velero"
    # Velero Schedule name -> cron; each gets a "no successful backup in two periods" rule.
    backup_schedules: Mapping[str, str] = field(default_factory=dict)
    log_collector: bool = True                  # the collector DaemonSet runs beside Loki
    depends_on: tuple[pulumi.Resource, ...] = ()

    @property
    def settings(self) -> RuleSettings:
        return RuleSettings(
            thresholds=self.thresholds,
            gpu_operator_namespace=self.gpu_operator_namespace,
            models_namespace=self.models_namespace,
            data_namespace=self.data_namespace,
            gateway_namespace=self.gateway_namespace,
            gateway_proxy_namespace=self.gateway_proxy_namespace,
            cert_manager=self.cert_manager,
            backups=self.backups,
            backups_namespace=self.backups_namespace,
            backup_schedules=dict(self.backup_schedules),
            logs=self.logs,
            log_collector=self.log_collector,
            monitoring_namespace=self.namespace,
        )


class Alerts(pulumi.ComponentResource):
    def __init__(self, name: str, args: AlertsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:ops:Alerts", name, None, opts)
        provider = args.cluster.provider
        self.rules: dict[str, k8s.apiextensions.CustomResource] = {}
        for obj in prometheus_rules(args.settings, args.namespace, instance=name):
            rule_name = obj["metadata"]["name"]
            self.rules[rule_name] = k8s.apiextensions.CustomResource(
                f"{name}-{rule_name}", api_version=obj["apiVersion"], kind=obj["kind"],
                metadata=obj["metadata"], spec=obj["spec"],
                opts=child_opts(self, provider, depends_on=list(args.depends_on)))
        self.register_outputs({"namespace": args.namespace, "rules": sorted(self.rules)})
