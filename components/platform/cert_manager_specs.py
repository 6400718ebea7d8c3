"""Pure builders for cert-manager: its Helm values and its namespace's NetworkPolicies.

cert-manager issues the serving certificates of operator webhooks (k8ssandra-operator and
cass-operator inject theirs with ``cert-manager.io/inject-ca-from``) and, later, the gateway's
TLS certificates through ClusterIssuers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from components.common.security import Resources
from components.platform import network_policies

CERT_MANAGER_CHART = "cert-manager"
CERT_MANAGER_REPOSITORY = "https://charts.jetstack.io"
CERT_MANAGER_VERSION = "v1.21.1"
# The webhook's secure port (values webhook.securePort), called by the API server.
WEBHOOK_PORT = 10250
# Controller, webhook and cainjector all serve Prometheus metrics here (http-metrics).
METRICS_PORT = 9402
API_SERVER_PORTS = (443, 6443)

CONTROLLER_RESOURCES = Resources(cpu_request="50m", memory_request="128Mi", cpu_limit="500m", memory_limit="512Mi")
WEBHOOK_RESOURCES = Resources(cpu_request="20m", memory_request="64Mi", cpu_limit="200m", memory_limit="128Mi")
# The CA injector caches every Secret and webhook configuration it patches.
CAINJECTOR_RESOURCES = Resources(cpu_request="20m", memory_request="128Mi", cpu_limit="200m", memory_limit="512Mi")
STARTUP_CHECK_RESOURCES = Resources(cpu_request="10m", memory_request="32Mi", cpu_limit="100m", memory_limit="64Mi")


def cert_manager_values(namespace: str, *, replicas: int = 1, service_monitor: bool = False,
                        service_monitor_labels: Mapping[str, str] = {},  # noqa: B006 - read only
                        gateway_api: bool = False) -> dict:
    """Values for the cert-manager chart: CRDs installed and kept on uninstall, the leader
    election lease in its own namespace (not kube-system), requests and limits on the three
    deployments and the post-install API check, and a ServiceMonitor only when asked.

    ``gateway_api``: the controller's Gateway API support (ControllerConfiguration
    ``gatewayAPI.enabled``), which ACME HTTP-01 through a Gateway needs. The controller exits
    at start while the Gateway API CRDs are missing, so the release must wait for them."""
    ha = replicas > 1
    values: dict = {
        "crds": {"enabled": True, "keep": True},
        "global": {"leaderElection": {"namespace": namespace}},
        "replicaCount": replicas,
        "resources": CONTROLLER_RESOURCES.to_k8s(),
        "webhook": {"replicaCount": replicas, "resources": WEBHOOK_RESOURCES.to_k8s()},
        "cainjector": {"replicaCount": replicas, "resources": CAINJECTOR_RESOURCES.to_k8s()},
        "startupapicheck": {"resources": STARTUP_CHECK_RESOURCES.to_k8s()},
        "prometheus": {"enabled": service_monitor},
    }
    if ha:
        for part in (values, values["webhook"], values["cainjector"]):
            part["podDisruptionBudget"] = {"enabled": True}
    if gateway_api:
        values["config"] = {"gatewayAPI": {"enabled": True}}
    if service_monitor:
        values["prometheus"]["servicemonitor"] = {"enabled": True, "labels": dict(service_monitor_labels)}
    return values


def cert_manager_policies(namespace: str, labels: dict, *, metrics_namespace: Optional[str] = None,
                          service_monitor: bool = False, acme_self_checks: bool = False) -> list[dict]:
    """cert-manager's allowances on top of the baseline deny + DNS.

    - egress to the API server (and so to ACME directories, which listen on 443 as well);
    - ingress to the webhook from the API server, whose address no selector matches;
    - Prometheus' scrapes from its namespace, when a ServiceMonitor is on;
    - with ``acme_self_checks``: the controller's HTTP-01 (port 80; 10080 where the load
      balancer's IP is short-circuited inside the cluster to the gateway's Envoy pods, whose
      listener port 80 is container port 10080) and DNS-01 (port 53 of the authoritative
      servers) propagation checks before it asks the CA to validate.
    """
    out = [
        network_policies.allow_egress_ports("allow-egress-api-server", namespace, labels, API_SERVER_PORTS),
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "allow-webhook", "namespace": namespace, "labels": labels},
         "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                  "ingress": [{"ports": [{"protocol": "TCP", "port": WEBHOOK_PORT}]}]}},
    ]
    if service_monitor and metrics_namespace:
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "allow-metrics", "namespace": namespace, "labels": labels},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{
                        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": metrics_namespace}}}],
                        "ports": [{"protocol": "TCP", "port": METRICS_PORT}]}]}})
    if acme_self_checks:
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "allow-egress-acme-checks", "namespace": namespace, "labels": labels},
                    "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [
                        {"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 10080},
                        {"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]}})
    return out
