"""Names the operations components share with each other and with the layers below.

kube-prometheus-stack derives its Services from the release name; KEDA, Grafana's data
sources, the load test and the NetworkPolicies all address them by these names.
"""

from __future__ import annotations

MONITORING_RELEASE = "kube-prometheus-stack"
PROMETHEUS_SERVICE = f"{MONITORING_RELEASE}-prometheus"
PROMETHEUS_PORT = 9090
ALERTMANAGER_SERVICE = f"{MONITORING_RELEASE}-alertmanager"
ALERTMANAGER_PORT = 9093
GRAFANA_SERVICE = f"{MONITORING_RELEASE}-grafana"
GRAFANA_PORT = 80

LOKI_RELEASE = "loki"
LOKI_PORT = 3100
COLLECTOR_RELEASE = "alloy"

VELERO_RELEASE = "velero"
VELERO_SERVICE_ACCOUNT = "velero"

# Grafana's dashboard sidecar (kube-prometheus-stack defaults) loads ConfigMaps with this
# label from every namespace.
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
# The folder annotation the sidecar reads (``grafana.sidecar.dashboards.folderAnnotation``).
DASHBOARD_FOLDER_ANNOTATION = "grafana_folder"

# The Prometheus label every model server's series carries (ServiceMonitor targetLabels of
# ``genai-platform.io/model``).
MODEL_METRIC_LABEL = "genai_platform_io_model"

# The secret stack setting holding Alertmanager's receivers and route.
ALERTMANAGER_SECRET_KEY = "alertmanagerReceivers"


def prometheus_url(namespace: str) -> str:
    return f"http://{PROMETHEUS_SERVICE}.{namespace}.svc:{PROMETHEUS_PORT}"
