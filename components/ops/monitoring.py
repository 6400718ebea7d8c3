"""Monitoring: kube-prometheus-stack (Prometheus Operator and CRDs, Prometheus, Alertmanager,
Grafana, node-exporter, kube-state-metrics), installed once per stack.

Creates:
- its namespace, PSA ``privileged``: node-exporter runs on every node with the host's network,
  PID namespace and root filesystem (hostPath), which ``baseline`` forbids. Besides the
  baseline deny + DNS it gets the allowances of ``monitoring_policies``;
- the Grafana admin password (``RandomPassword``) in the Secret ``GRAFANA_ADMIN_SECRET``
  (keys ``admin-user`` / ``admin-password``), read by the chart through
  ``grafana.admin.existingSecret``;
- Alertmanager's configuration (``alertmanager_config``, built from the stack's secret
  receivers) in the Secret ``ALERTMANAGER_CONFIG_SECRET``, read by the operator through
  ``alertmanagerSpec.configSecret``;
- the Helm release ``kube-prometheus-stack`` (pinned chart, CRDs included, values from
  ``monitoring_values``: no secret in them).
Everything that renders ServiceMonitors, PodMonitors or PrometheusRules needs the CRDs of
``release`` and waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.ops import contracts
from components.ops import monitoring_values as mv
from components.ops.alertmanager_config import alertmanager_yaml
from components.ops.monitoring_policies import monitoring_policies
from components.platform.namespace import NamespaceArgs, PlatformNamespace

COMPONENT = "monitoring"
# A first install creates volumes, pulls a dozen images and waits for the webhook certificate
# jobs; Helm's default five minutes is not always enough.
RELEASE_TIMEOUT_SECONDS = 1200


@dataclass(frozen=True)
class MonitoringArgs:
    cluster: ClusterInfo
    namespace: str               # "monitoring"; Monitoring creates it (PlatformNamespace)
    chart_version: str
    prometheus: mv.PrometheusSettings
    alertmanager: mv.AlertmanagerSettings
    grafana: mv.GrafanaSettings
    # Secret YAML text from the stack's `alertmanagerReceivers` secret: a mapping with `receivers`
    # (Alertmanager receiver list), optional `route` (Alertmanager route; its receiver names must
    # exist) and optional `inhibit_rules`. None: every alert goes to a receiver named "null".
    receivers: Optional[pulumi.Input[str]] = None
    loki_url: Optional[str] = None           # adds Loki as a Grafana data source
    # Namespaces whose pods may query Prometheus on 9090 (KEDA, the load test...).
    query_namespaces: tuple[str, ...] = ()
    zone_spread: bool = False


class Monitoring(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    namespace: str
    prometheus_url: str
    grafana_admin_password: pulumi.Output[str]
    grafana_admin_secret: str

    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:ops:Monitoring", name, None, opts)
        cluster, ns = args.cluster, args.namespace
        labels = standard_labels(contracts.MONITORING_RELEASE, ns, COMPONENT)
        namespace = PlatformNamespace(f"{name}-ns", NamespaceArgs(
            provider=cluster.provider,
            namespace=ns,
            component=COMPONENT,
            kubernetes_version=cluster.kubernetes_version,
            pod_security="privileged",
            extra_policies=tuple(monitoring_policies(
                ns, standard_labels("network-policy", ns, COMPONENT), query_namespaces=args.query_namespaces,
                control_plane=not mv.managed_control_plane(cluster.kind), loki=args.loki_url is not None)),
            protect=cluster.protect,
        ), opts=pulumi.ResourceOptions(parent=self))

        password = random.RandomPassword(f"{name}-grafana-admin-password", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self)).result
        grafana_secret = opaque_secret(
            f"{name}-grafana-admin",
            {"name": mv.GRAFANA_ADMIN_SECRET, "namespace": ns, "labels": labels},
            {mv.GRAFANA_ADMIN_USER_KEY: mv.GRAFANA_ADMIN_USER, mv.GRAFANA_ADMIN_PASSWORD_KEY: password},
            child_opts(self, cluster.provider, depends_on=[namespace.resource]),
        )
        config = (alertmanager_yaml(None) if args.receivers is None
                  else pulumi.Output.from_input(args.receivers).apply(alertmanager_yaml))
        alertmanager_secret = opaque_secret(
            f"{name}-alertmanager-config",
            {"name": mv.ALERTMANAGER_CONFIG_SECRET, "namespace": ns, "labels": labels},
            {mv.ALERTMANAGER_CONFIG_KEY: config},
            child_opts(self, cluster.provider, depends_on=[namespace.resource]),
        )

        self.values = mv.monitoring_values(
            cluster_kind=cluster.kind, storage_class=cluster.storage.rwo, prometheus=args.prometheus,
            alertmanager=args.alertmanager, grafana=args.grafana, loki_url=args.loki_url,
            zone_spread=args.zone_spread)
        # The namespace component as a whole: its NetworkPolicies are in place before the chart's
        # pre-install hook jobs call the API server.
        self.release = k8s.helm.v3.Release(
            name,
            name=contracts.MONITORING_RELEASE,
            chart=mv.CHART,
            version=args.chart_version,
            repository_opts={"repo": mv.REPOSITORY},
            namespace=ns,
            values=self.values,
            skip_crds=False,
            timeout=RELEASE_TIMEOUT_SECONDS,
            opts=child_opts(self, cluster.provider, depends_on=[namespace, grafana_secret, alertmanager_secret]),
        )

        self.namespace = ns
        self.prometheus_url = contracts.prometheus_url(ns)
        self.alertmanager_url = f"http://{contracts.ALERTMANAGER_SERVICE}.{ns}.svc:{contracts.ALERTMANAGER_PORT}"
        self.grafana_service = contracts.GRAFANA_SERVICE
        self.grafana_selector = dict(mv.GRAFANA_SELECTOR)
        self.grafana_admin_secret = mv.GRAFANA_ADMIN_SECRET
        self.grafana_admin_password = pulumi.Output.secret(password)
        # What the operator reads (receiver URLs and keys included): secret.
        self.alertmanager_config = pulumi.Output.secret(config)
        self.register_outputs({"namespace": ns, "chartVersion": args.chart_version,
                               "prometheusUrl": self.prometheus_url, "alertmanagerUrl": self.alertmanager_url,
                               "grafanaService": self.grafana_service, "grafanaAdminSecret": self.grafana_admin_secret,
                               "grafanaAdminPassword": self.grafana_admin_password})
