"""Pure builders for the logs stack: Loki's and Grafana Alloy's Helm values, Alloy's pipeline
and the NetworkPolicies both need in the monitoring namespace.

Loki (chart ``loki`` 7.3.0) runs as one binary on one volume: the filesystem store, TSDB index
(schema v13), retention applied by the built-in compactor, no authentication (one tenant), and
none of the chart's extra pods (gateway, caches, canary, Helm test, rules sidecar). Every
scalable and distributed target is held at zero replicas: the chart refuses to render a single
binary next to them on a filesystem store.

Alloy (chart ``alloy``) runs as a DaemonSet on every node, GPU nodes included, and tails the
files the kubelet writes under ``/var/log/pods`` for the pods of its own node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from components.common.labels import PART_OF
from components.common.security import Resources, container_security_context, pod_security_context
from components.data.common import API_SERVER_PORTS
from components.edge.contracts import TENANT_LABEL
from components.models.server_specs import MODEL_LABEL
from components.ops.contracts import COLLECTOR_RELEASE, LOKI_PORT, LOKI_RELEASE, MODEL_METRIC_LABEL
from components.ops.monitoring_values import PROMETHEUS_SELECTOR
from components.platform.network_policies import network_policy, tcp

GRAFANA_REPOSITORY = "https://grafana.github.io/helm-charts"

LOKI_CHART = "loki"
LOKI_CHART_VERSION = "7.3.0"
# The image loki 7.3.0's values pin (``loki.image.tag``), stated here so the version we run is
# reviewable next to the chart's. The chart's appVersion (3.6.12) is its Enterprise Logs version.
LOKI_IMAGE_TAG = "3.6.11"
LOKI_GRPC_PORT = 9095          # loki.server.grpc_listen_port
LOKI_MEMBERLIST_PORT = 7946    # the single binary's http-memberlist container port
# Pod labels of the chart's workloads (loki.selectorLabels: the chart name "loki" with
# Enterprise Logs off, and the release name).
LOKI_SELECTOR = {"app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": LOKI_RELEASE}
# The TSDB index needs 24h periods for retention; the date only has to precede the first log.
SCHEMA_FROM = "2024-04-01"

ALLOY_CHART = "alloy"
# grafana/alloy tag helm-chart/1.11.1 (operations/helm/charts/alloy, 2026-08-06), appVersion v1.18.1.
ALLOY_CHART_VERSION = "1.11.1"
ALLOY_IMAGE_TAG = "v1.18.1"
ALLOY_HTTP_PORT = 12345        # alloy.listenPort: UI, /metrics and the readiness probe
ALLOY_SELECTOR = {"app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": COLLECTOR_RELEASE}
ALLOY_STORAGE_PATH = "/tmp/alloy"
ALLOY_RESOURCES = Resources(cpu_request="100m", memory_request="128Mi", cpu_limit="1", memory_limit="512Mi")
CONFIG_RELOADER_RESOURCES = Resources(cpu_request="10m", memory_request="50Mi", cpu_limit="100m", memory_limit="64Mi")
POD_LOGS_DIR = "/var/log/pods"

# Prometheus pods (prometheus-operator sets app.kubernetes.io/name "prometheus" on every
# Prometheus it runs); they live in the same monitoring namespace.

SCALABLE_TARGETS = ("read", "write", "backend")
DISTRIBUTED_TARGETS = ("ingester", "distributor", "querier", "queryFrontend", "queryScheduler", "indexGateway",
                       "compactor", "ruler", "bloomGateway", "bloomPlanner", "bloomBuilder", "patternIngester")


@dataclass(frozen=True)
class LogsSettings:
    chart_version: str            # loki chart "7.3.0"
    retention_days: int
    storage_gib: int
    resources: Resources          # Loki's container
    collector: str                # "alloy" | "none"


def loki_url(namespace: str) -> str:
    """Loki's HTTP API (query and push) in the cluster: the single binary's Service."""
    # The Service is named after the release because the release name contains the chart's.
    return f"http://{LOKI_RELEASE}.{namespace}.svc:{LOKI_PORT}"


def loki_push_url(namespace: str) -> str:
    return f"{loki_url(namespace)}/loki/api/v1/push"


def retention_period(days: int) -> str:
    """Loki's ``limits_config.retention_period``, in hours (a multiple of the 24h index period)."""
    return f"{days * 24}h"


def loki_values(settings: LogsSettings, storage_class: str, protect: bool = False) -> dict:
    """Values for the loki chart in SingleBinary mode on the filesystem store."""
    values: dict = {
        "deploymentMode": "SingleBinary",
        "loki": {
            "image": {"tag": LOKI_IMAGE_TAG},
            # One tenant ("fake"): Grafana and Alloy send no X-Scope-OrgID.
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {"configs": [{
                "from": SCHEMA_FROM, "store": "tsdb", "object_store": "filesystem", "schema": "v13",
                "index": {"prefix": "index_", "period": "24h"},
            }]},
            # Retention is the compactor's job; it keeps its delete requests on the same store.
            "compactor": {"retention_enabled": True, "delete_request_store": "filesystem"},
            "limits_config": {"retention_period": retention_period(settings.retention_days)},
            # Usage reports to stats.grafana.org would only hit the namespace's egress policy.
            "analytics": {"reporting_enabled": False},
            "podSecurityContext": {**pod_security_context(fs_group=10001), "runAsUser": 10001,
                                   "runAsGroup": 10001, "fsGroupChangePolicy": "OnRootMismatch"},
            "containerSecurityContext": container_security_context(run_as_user=10001),
        },
        "singleBinary": {
            "replicas": 1,
            "resources": settings.resources.to_k8s(),
            "persistence": {
                "enabled": True,
                "size": f"{settings.storage_gib}Gi",
                "storageClass": storage_class,
                # A protected stack keeps the log volume when the StatefulSet goes away.
                "whenDeleted": "Retain" if protect else "Delete",
            },
        },
        # Pods the single binary does not need; the Helm test also needs the canary.
        "gateway": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        # The rules sidecar would watch ConfigMaps through the API; no Loki rules are shipped.
        "sidecar": {"rules": {"enabled": False}},
        "serviceAccount": {"automountServiceAccountToken": False},
        "monitoring": {"serviceMonitor": {"enabled": True, "metricsInstance": {"enabled": False}}},
    }
    for target in (*SCALABLE_TARGETS, *DISTRIBUTED_TARGETS):
        values[target] = {"replicas": 0}
    return values


def alloy_config(namespace: str) -> str:
    """Alloy's pipeline: this node's pods -> labels -> their log files -> CRI parsing -> Loki.

    Files, not ``loki.source.kubernetes``: a DaemonSet sits next to the kubelet's log files, so
    reading them costs no API server traffic (the Kubernetes source streams every container's
    log through the API server) and survives API server outages and restarts of the agent
    (read offsets are kept in the positions file).
    """
    text = f'''\
// Only the pods of this node: each agent watches a small slice of the cluster.
discovery.kubernetes "pods" {{
  role = "pod"
  selectors {{
    role  = "pod"
    field = "spec.nodeName=" + coalesce(sys.env("HOSTNAME"), constants.hostname)
  }}
  // Namespace labels come with each pod (the tenant lives on the namespace).
  attach_metadata {{
    namespace = true
  }}
}}

discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets

  rule {{
    action        = "replace"
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}
  rule {{
    action        = "replace"
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    action        = "replace"
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
  rule {{
    action        = "replace"
    source_labels = ["{_pod_label("app.kubernetes.io/name")}"]
    target_label  = "app"
  }}
  rule {{
    action        = "replace"
    source_labels = ["{_pod_label(MODEL_LABEL)}"]
    target_label  = "{MODEL_METRIC_LABEL}"
  }}
  rule {{
    action        = "replace"
    source_labels = ["{_namespace_label(TENANT_LABEL)}"]
    target_label  = "tenant"
  }}
  // The kubelet writes <namespace>_<pod>_<uid>/<container>/<restart>.log.
  rule {{
    action        = "replace"
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    separator     = "/"
    target_label  = "__path__"
    replacement   = "{POD_LOGS_DIR}/*$1/*.log"
  }}
}}

loki.source.file "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.process.pods.receiver]
  file_match {{
    enabled = true
  }}
}}

loki.process "pods" {{
  forward_to = [loki.write.loki.receiver]
  stage.cri {{}}
  // The file name changes with every container restart; the stream should not.
  stage.label_drop {{
    values = ["filename"]
  }}
}}

loki.write "loki" {{
  endpoint {{
    url = "{loki_push_url(namespace)}"
  }}
}}
'''
    # The chart renders the content through Helm's tpl: template delimiters would be evaluated.
    if "{{" in text or "}}" in text:
        raise ValueError("the Alloy configuration must not contain Helm template delimiters")
    return text


def _pod_label(label: str) -> str:
    return f"__meta_kubernetes_pod_label_{_sanitize(label)}"


def _namespace_label(label: str) -> str:
    return f"__meta_kubernetes_namespace_label_{_sanitize(label)}"


def _sanitize(label: str) -> str:
    """A Kubernetes label key as Prometheus' service discovery names it (invalid chars -> ``_``)."""
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in label)


def tolerate_everything() -> list[dict]:
    """One toleration without key or effect matches every taint (GPU, spot, control plane...)."""
    return [{"operator": "Exists"}]


def alloy_security_context() -> dict:
    """Root, but nothing else: containerd writes pod logs root-owned with mode 0640, which only
    their owner may read. Every capability is dropped (root reads them as owner, no DAC
    override needed), no privilege escalation, read-only root filesystem."""
    return {**container_security_context(run_as_user=0), "runAsNonRoot": False, "runAsGroup": 0,
            "privileged": False}


def alloy_values(namespace: str) -> dict:
    """Values for the alloy chart: a DaemonSet on every node tailing its pods' log files."""
    return {
        "image": {"tag": ALLOY_IMAGE_TAG},
        # The chart's CRDs (PodLogs) serve a pipeline we don't use.
        "crds": {"create": False},
        "global": {"podSecurityContext": {"seccompProfile": {"type": "RuntimeDefault"}}},
        "alloy": {
            "configMap": {"content": alloy_config(namespace)},
            "storagePath": ALLOY_STORAGE_PATH,
            "listenPort": ALLOY_HTTP_PORT,
            "enableReporting": False,
            # /var/log read-only from the host; positions live on a scratch volume that
            # survives container restarts (the root filesystem is read-only).
            "mounts": {"varlog": True, "extra": [{"name": "tmp", "mountPath": "/tmp"}]},
            "securityContext": alloy_security_context(),
            "resources": ALLOY_RESOURCES.to_k8s(),
        },
        "configReloader": {"resources": CONFIG_RELOADER_RESOURCES.to_k8s()},
        "controller": {
            "type": "daemonset",
            "tolerations": tolerate_everything(),
            "podLabels": {"app.kubernetes.io/component": "log-collector", "app.kubernetes.io/part-of": PART_OF},
            "volumes": {"extra": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]},
        },
        "serviceMonitor": {"enabled": True},
    }


def network_policies(namespace: str, labels: Mapping[str, str], grafana_selector: Mapping[str, str],
                     collector: bool) -> list[dict]:
    """Allowances for Loki (and Alloy) on top of the monitoring namespace's default deny.

    Loki: HTTP 3100 from Grafana, Prometheus and (with a collector) Alloy; its own gRPC,
    memberlist and HTTP to itself (the querier, compactor client and ring reach the single
    binary through its Services). Alloy: egress to Loki and to the API server (pod and
    namespace discovery), and Prometheus' scrapes of its metrics port. Grafana's and
    Prometheus' egress belong to the monitoring stack's own policies.
    """
    loki = {"podSelector": {"matchLabels": dict(LOKI_SELECTOR)}}
    grafana = {"podSelector": {"matchLabels": dict(grafana_selector)}}
    prometheus = {"podSelector": {"matchLabels": dict(PROMETHEUS_SELECTOR)}}
    alloy = {"podSelector": {"matchLabels": dict(ALLOY_SELECTOR)}}
    self_ports = tcp([LOKI_PORT, LOKI_GRPC_PORT, LOKI_MEMBERLIST_PORT])
    clients = [grafana, prometheus, *([alloy] if collector else [])]
    out = [
        network_policy("loki-ingress", namespace, labels, {
            **loki,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": clients, "ports": tcp([LOKI_PORT])},
                        {"from": [loki], "ports": self_ports}],
        }),
        network_policy("loki-egress-self", namespace, labels, {
            **loki,
            "policyTypes": ["Egress"],
            "egress": [{"to": [loki], "ports": self_ports}],
        }),
    ]
    if collector:
        out += [
            network_policy("alloy-egress", namespace, labels, {
                **alloy,
                "policyTypes": ["Egress"],
                "egress": [{"to": [loki], "ports": tcp([LOKI_PORT])},
                           {"ports": tcp(API_SERVER_PORTS)}],
            }),
            network_policy("alloy-ingress-metrics", namespace, labels, {
                **alloy,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [prometheus], "ports": tcp([ALLOY_HTTP_PORT])}],
            }),
        ]
    return out
