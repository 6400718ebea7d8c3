"""Pure builders for kube-prometheus-stack: its Helm values and the facts of its chart.

The chart (88.5.3) bundles the Prometheus Operator and its CRDs, Prometheus, Alertmanager,
Grafana (subchart 12.11.1), kube-state-metrics and node-exporter. What the values say:

- Prometheus selects every ServiceMonitor, PodMonitor, PrometheusRule, Probe and ScrapeConfig
  of every namespace, keeps ``retention`` and at most ~90% of its volume (so the disk never
  fills), and with more than one replica gets a PDB and spreads over nodes (and zones).
- Alertmanager reads its whole configuration from our Secret (``ALERTMANAGER_CONFIG_SECRET``):
  receiver URLs and keys never pass through Helm values.
- Grafana reads its admin login from our Secret (``GRAFANA_ADMIN_SECRET``), loads dashboards
  from ConfigMaps labelled ``grafana_dashboard: "1"`` in every namespace, and never calls out
  for plugins, updates or usage reports.
- Managed control planes (EKS, GKE, AKS) hide etcd, the scheduler and the controller manager,
  and run no kube-proxy whose metrics a pod could reach: their scrapes and rules are off, or
  their targets would be "down" forever.
- Every container the chart runs has requests and limits; the chart's own image tags stay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from components.common.k8s import topology_spread
from components.common.security import Resources
from components.ops.contracts import (
    ALERTMANAGER_SERVICE,
    DASHBOARD_FOLDER_ANNOTATION,
    DASHBOARD_LABEL,
    GRAFANA_SERVICE,
    MONITORING_RELEASE,
    PROMETHEUS_SERVICE,
)

CHART = "kube-prometheus-stack"
REPOSITORY = "https://prometheus-community.github.io/helm-charts"
CHART_VERSION = "88.5.3"

# The uid the chart gives its Prometheus data source (grafana.sidecar.datasources.uid); its own
# dashboards and ours refer to it, so it is pinned in the values too.
PROMETHEUS_DATASOURCE_UID = "prometheus"
LOKI_DATASOURCE_UID = "loki"

GRAFANA_ADMIN_SECRET = f"{GRAFANA_SERVICE}-admin"
GRAFANA_ADMIN_USER = "admin"
GRAFANA_ADMIN_USER_KEY = "admin-user"
GRAFANA_ADMIN_PASSWORD_KEY = "admin-password"
ALERTMANAGER_CONFIG_SECRET = f"{ALERTMANAGER_SERVICE}-config"
# The key the Prometheus Operator reads from an Alertmanager's configSecret.
ALERTMANAGER_CONFIG_KEY = "alertmanager.yaml"

# Pod labels, as the Prometheus Operator (v0.93) and the charts set them; the NetworkPolicies
# and spread constraints select by them. The operator names the Prometheus and Alertmanager
# objects after the Services.
PROMETHEUS_SELECTOR = {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": PROMETHEUS_SERVICE}
ALERTMANAGER_SELECTOR = {"app.kubernetes.io/name": "alertmanager", "alertmanager": ALERTMANAGER_SERVICE}
GRAFANA_SELECTOR = {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": MONITORING_RELEASE}
OPERATOR_SELECTOR = {"app": f"{MONITORING_RELEASE}-operator", "release": MONITORING_RELEASE}
# The admission webhook's certificate jobs (Helm hooks ``admission-create`` / ``admission-patch``).
ADMISSION_JOBS_SELECTOR = {"app.kubernetes.io/component": "prometheus-operator-webhook", "release": MONITORING_RELEASE}
KUBE_STATE_METRICS_SELECTOR = {"app.kubernetes.io/name": "kube-state-metrics",
                               "app.kubernetes.io/instance": MONITORING_RELEASE}

# Containers whose size the stack settings don't expose. Sized for a cluster of tens of nodes;
# kube-state-metrics and the dashboard sidecars grow with the number of objects they watch.
OPERATOR_RESOURCES = Resources(cpu_request="100m", memory_request="128Mi", cpu_limit="500m", memory_limit="512Mi")
CONFIG_RELOADER_RESOURCES = Resources(cpu_request="10m", memory_request="32Mi", cpu_limit="100m", memory_limit="64Mi")
WEBHOOK_JOB_RESOURCES = Resources(cpu_request="10m", memory_request="32Mi", cpu_limit="100m", memory_limit="64Mi")
GRAFANA_SIDECAR_RESOURCES = Resources(cpu_request="50m", memory_request="96Mi", cpu_limit="200m", memory_limit="256Mi")
KUBE_STATE_METRICS_RESOURCES = Resources(cpu_request="50m", memory_request="128Mi", cpu_limit="500m",
                                         memory_limit="512Mi")
NODE_EXPORTER_RESOURCES = Resources(cpu_request="20m", memory_request="32Mi", cpu_limit="250m", memory_limit="128Mi")

MANAGED_KINDS = ("eks", "gke", "aks")
# Control-plane scrapes a managed cloud gives no pod access to: the chart's values key, and
# the keys of the default rule groups that would alert on the missing targets.
HIDDEN_CONTROL_PLANE = {
    "kubeEtcd": ("etcd",),
    "kubeControllerManager": ("kubeControllerManager",),
    "kubeScheduler": ("kubeSchedulerAlerting", "kubeSchedulerRecording"),
    # EKS' kube-proxy add-on serves metrics on 127.0.0.1 only; GKE Dataplane V2 and AKS with
    # the Cilium dataplane run no kube-proxy at all.
    "kubeProxy": ("kubeProxy",),
}
# Ports Prometheus scrapes on node addresses of a self-managed control plane (the chart's
# defaults: etcd 2381, kube-proxy 10249, controller manager 10257, scheduler 10259).
CONTROL_PLANE_PORTS = (2381, 10249, 10257, 10259)
# On node addresses everywhere: kubelet (and cAdvisor) 10250, node-exporter 9100 (hostNetwork).
NODE_PORTS = (9100, 10250)
# GKE serves cluster DNS with kube-dns (dnsmasq metrics 10054, kube-dns 10055), not CoreDNS.
KUBE_DNS_KINDS = ("gke",)


@dataclass(frozen=True)
class PrometheusSettings:
    retention: str            # "15d"
    storage_gib: int
    replicas: int
    scrape_interval: str      # "30s"
    resources: Resources


@dataclass(frozen=True)
class AlertmanagerSettings:
    replicas: int
    storage_gib: int
    resources: Resources


@dataclass(frozen=True)
class GrafanaSettings:
    storage_gib: Optional[int]   # None: no persistence
    resources: Resources


def retention_size(storage_gib: int) -> str:
    """The size cap that keeps Prometheus under ~90% of its volume (WAL and head chunks count)."""
    return f"{max(1, math.floor(storage_gib * 0.9))}GiB"


def managed_control_plane(cluster_kind: str) -> bool:
    return cluster_kind in MANAGED_KINDS


def _claim(storage_class: str, storage_gib: int) -> dict:
    return {"volumeClaimTemplate": {"spec": {
        "storageClassName": storage_class,
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{storage_gib}Gi"}},
    }}}


def _availability(replicas: int, selector: dict, zone_spread: bool) -> tuple[dict, dict]:
    """(PDB values, spec additions): a budget and spread only when there is something to keep up."""
    if replicas < 2:
        return {}, {}
    return ({"podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
            {"topologySpreadConstraints": topology_spread(selector, zone_spread)})


def _select_everything() -> dict:
    """Every monitor kind, in every namespace, whatever its labels."""
    out: dict = {}
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        out[f"{kind}SelectorNilUsesHelmValues"] = False
        out[f"{kind}Selector"] = {}
        out[f"{kind}NamespaceSelector"] = {}
    return out


def prometheus_values(settings: PrometheusSettings, storage_class: str, zone_spread: bool = False) -> dict:
    pdb, spread = _availability(settings.replicas, PROMETHEUS_SELECTOR, zone_spread)
    return {
        **pdb,
        "prometheusSpec": {
            **_select_everything(),
            "retention": settings.retention,
            "retentionSize": retention_size(settings.storage_gib),
            "replicas": settings.replicas,
            "scrapeInterval": settings.scrape_interval,
            "resources": settings.resources.to_k8s(),
            "storageSpec": _claim(storage_class, settings.storage_gib),
            **spread,
        },
    }


def alertmanager_values(settings: AlertmanagerSettings, storage_class: str, zone_spread: bool = False) -> dict:
    pdb, spread = _availability(settings.replicas, ALERTMANAGER_SELECTOR, zone_spread)
    return {
        **pdb,
        "alertmanagerSpec": {
            # The chart renders no config Secret of its own; the operator reads ours.
            "useExistingSecret": True,
            "configSecret": ALERTMANAGER_CONFIG_SECRET,
            "replicas": settings.replicas,
            "resources": settings.resources.to_k8s(),
            "storage": _claim(storage_class, settings.storage_gib),
            **spread,
        },
    }


def grafana_values(settings: GrafanaSettings, storage_class: str, loki_url: Optional[str] = None) -> dict:
    (label, label_value), = DASHBOARD_LABEL.items()
    values: dict = {
        "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": GRAFANA_ADMIN_USER_KEY,
                  "passwordKey": GRAFANA_ADMIN_PASSWORD_KEY},
        "resources": settings.resources.to_k8s(),
        "sidecar": {
            "resources": GRAFANA_SIDECAR_RESOURCES.to_k8s(),
            "dashboards": {
                "enabled": True,
                "label": label,
                "labelValue": label_value,
                "searchNamespace": "ALL",
                "folderAnnotation": DASHBOARD_FOLDER_ANNOTATION,
                "provider": {"foldersFromFilesStructure": True},
            },
            "datasources": {"enabled": True, "defaultDatasourceEnabled": True, "uid": PROMETHEUS_DATASOURCE_UID},
        },
        # Nothing reaches out from Grafana: no plugin downloads (Grafana 12+ preinstalls plugins
        # from grafana.com at start unless told not to), update checks, usage reports, avatars
        # or public snapshots.
        "grafana.ini": {
            "analytics": {"reporting_enabled": False, "check_for_updates": False,
                          "check_for_plugin_updates": False, "feedback_links_enabled": False},
            "plugins": {"preinstall_disabled": True, "public_key_retrieval_disabled": True,
                        "plugin_admin_enabled": False},
            "security": {"disable_gravatar": True},
            "snapshots": {"external_enabled": False},
        },
        # The chart's helm-test pod has no resources and Pulumi never runs it.
        "testFramework": {"enabled": False},
        # fsGroup already gives the volume to Grafana's group; the chown init container would run as root.
        "initChownData": {"enabled": False},
    }
    if settings.storage_gib is not None:
        values["persistence"] = {"enabled": True, "type": "pvc", "storageClassName": storage_class,
                                 "accessModes": ["ReadWriteOnce"], "size": f"{settings.storage_gib}Gi"}
        # A ReadWriteOnce volume cannot follow a surge pod to another node.
        values["deploymentStrategy"] = {"type": "Recreate"}
    if loki_url is not None:
        values["additionalDataSources"] = [{"name": "Loki", "type": "loki", "uid": LOKI_DATASOURCE_UID,
                                            "url": loki_url, "access": "proxy", "isDefault": False,
                                            "editable": False}]
    return values


def control_plane_values(cluster_kind: str) -> dict:
    """Scrapes of control-plane parts and the rules that watch them, by who runs the control plane."""
    values: dict = {}
    if cluster_kind in KUBE_DNS_KINDS:
        values["coreDns"] = {"enabled": False}
        values["kubeDns"] = {"enabled": True}
    if not managed_control_plane(cluster_kind):
        return values
    rules: dict = {}
    for key, rule_groups in HIDDEN_CONTROL_PLANE.items():
        values[key] = {"enabled": False}
        rules.update(dict.fromkeys(rule_groups, False))
    values["defaultRules"] = {"rules": rules}
    return values


def operator_values() -> dict:
    return {
        "resources": OPERATOR_RESOURCES.to_k8s(),
        # Also the init and sidecar reloaders of every Prometheus and Alertmanager pod.
        "prometheusConfigReloader": {"resources": CONFIG_RELOADER_RESOURCES.to_k8s()},
        "admissionWebhooks": {"patch": {"resources": WEBHOOK_JOB_RESOURCES.to_k8s()}},
    }


def monitoring_values(*, cluster_kind: str, storage_class: str, prometheus: PrometheusSettings,
                      alertmanager: AlertmanagerSettings, grafana: GrafanaSettings,
                      loki_url: Optional[str] = None, zone_spread: bool = False) -> dict:
    """The release's values: no secret, only names of the Secrets the pods read."""
    return {
        # The CRDs come with the release (Helm installs them once; upgrades are manual, see README).
        "crds": {"enabled": True},
        "prometheusOperator": operator_values(),
        "prometheus": prometheus_values(prometheus, storage_class, zone_spread),
        "alertmanager": alertmanager_values(alertmanager, storage_class, zone_spread),
        "grafana": grafana_values(grafana, storage_class, loki_url),
        "kubeStateMetrics": {"enabled": True},
        "kube-state-metrics": {"resources": KUBE_STATE_METRICS_RESOURCES.to_k8s()},
        # The DaemonSet's default tolerations (every NoSchedule taint) already admit GPU nodes.
        "nodeExporter": {"enabled": True},
        "prometheus-node-exporter": {"resources": NODE_EXPORTER_RESOURCES.to_k8s()},
        **control_plane_values(cluster_kind),
    }
