"""Pure builders for the monitoring namespace's NetworkPolicies (on top of default deny + DNS).

- Prometheus: egress to every pod of every namespace on any port (it scrapes them all), to node
  addresses for the kubelet (10250), node-exporter (9100, host network) and, on a self-managed
  control plane, etcd / kube-proxy / controller manager / scheduler, and to the API server
  (service discovery). Ingress on 9090 from its own namespace (Grafana, the load test) and
  from the namespaces that query it (KEDA's scalers).
- Every pod of the namespace admits Prometheus' scrapes.
- Alertmanager: alerts from Prometheus and Grafana's data source on 9093, its replicas' gossip
  on 9094 (TCP and UDP) both ways, and egress to receivers: HTTPS and SMTP anywhere (their
  addresses are outside the cluster and not known here).
- Grafana: egress to Prometheus (9090), Alertmanager (9093), Loki (3100, any namespace's pods
  only) and the API server (its sidecars watch dashboard and data-source ConfigMaps).
- The operator, kube-state-metrics and the webhook certificate jobs: egress to the API server;
  the operator admits the API server's admission calls on 10250.

The API server's address is not selectable by labels, and the Service VIP is rewritten to the
endpoint (443 or 6443) before policy applies, so its port is the narrowest handle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from components.data.common import API_SERVER_PORTS
from components.ops.contracts import ALERTMANAGER_PORT, LOKI_PORT, PROMETHEUS_PORT
from components.ops.monitoring_values import (
    ADMISSION_JOBS_SELECTOR,
    ALERTMANAGER_SELECTOR,
    CONTROL_PLANE_PORTS,
    GRAFANA_SELECTOR,
    KUBE_STATE_METRICS_SELECTOR,
    NODE_PORTS,
    OPERATOR_SELECTOR,
    PROMETHEUS_SELECTOR,
)
from components.platform.network_policies import namespace_peer, network_policy, tcp

# Gossip between Alertmanager replicas (the operator's mesh port, TCP and UDP).
ALERTMANAGER_MESH_PORT = 9094
# The operator serves its admission webhooks (and metrics) on the chart's tls.internalPort.
OPERATOR_WEBHOOK_PORT = 10250
# Receivers: webhooks and chat APIs over HTTPS; SMTP relay (25), submission (587), implicit TLS (465).
RECEIVER_PORTS = (443, 25, 465, 587)


def _pods(selector: Mapping[str, str]) -> dict:
    return {"podSelector": {"matchLabels": dict(selector)}}


def _mesh() -> list[dict]:
    return [{"protocol": proto, "port": ALERTMANAGER_MESH_PORT} for proto in ("TCP", "UDP")]


def _api_server_egress(name: str, namespace: str, labels: Mapping[str, str], selector: Mapping[str, str]) -> dict:
    return network_policy(name, namespace, labels, {
        "podSelector": {"matchLabels": dict(selector)},
        "policyTypes": ["Egress"],
        "egress": [{"ports": tcp(API_SERVER_PORTS)}],
    })


def prometheus_policy(namespace: str, labels: Mapping[str, str], query_namespaces: Sequence[str] = (),
                      control_plane: bool = False) -> dict:
    node_ports = sorted({*API_SERVER_PORTS, *NODE_PORTS, *(CONTROL_PLANE_PORTS if control_plane else ())})
    clients = [{"podSelector": {}}, *(namespace_peer(n) for n in sorted(set(query_namespaces)) if n != namespace)]
    return network_policy("allow-prometheus", namespace, labels, {
        "podSelector": {"matchLabels": dict(PROMETHEUS_SELECTOR)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": clients, "ports": tcp([PROMETHEUS_PORT])}],
        "egress": [{"to": [{"namespaceSelector": {}}]}, {"ports": tcp(node_ports)}],
    })


def scrapes_policy(namespace: str, labels: Mapping[str, str]) -> dict:
    return network_policy("allow-scrapes", namespace, labels, {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [_pods(PROMETHEUS_SELECTOR)]}],
    })


def alertmanager_policy(namespace: str, labels: Mapping[str, str]) -> dict:
    return network_policy("allow-alertmanager", namespace, labels, {
        "podSelector": {"matchLabels": dict(ALERTMANAGER_SELECTOR)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": [_pods(PROMETHEUS_SELECTOR), _pods(GRAFANA_SELECTOR)], "ports": tcp([ALERTMANAGER_PORT])},
            {"from": [_pods(ALERTMANAGER_SELECTOR)], "ports": _mesh()},
        ],
        "egress": [
            {"to": [_pods(ALERTMANAGER_SELECTOR)], "ports": _mesh()},
            {"ports": tcp(RECEIVER_PORTS)},
        ],
    })


def grafana_policy(namespace: str, labels: Mapping[str, str], loki: bool = False) -> dict:
    egress = [
        {"to": [_pods(PROMETHEUS_SELECTOR)], "ports": tcp([PROMETHEUS_PORT])},
        {"to": [_pods(ALERTMANAGER_SELECTOR)], "ports": tcp([ALERTMANAGER_PORT])},
        {"ports": tcp(API_SERVER_PORTS)},
    ]
    if loki:
        egress.insert(2, {"to": [{"namespaceSelector": {}}], "ports": tcp([LOKI_PORT])})
    return network_policy("allow-grafana", namespace, labels, {
        "podSelector": {"matchLabels": dict(GRAFANA_SELECTOR)},
        "policyTypes": ["Egress"],
        "egress": egress,
    })


def operator_policy(namespace: str, labels: Mapping[str, str]) -> dict:
    return network_policy("allow-operator", namespace, labels, {
        "podSelector": {"matchLabels": dict(OPERATOR_SELECTOR)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"ports": tcp([OPERATOR_WEBHOOK_PORT])}],
        "egress": [{"ports": tcp(API_SERVER_PORTS)}],
    })


def monitoring_policies(namespace: str, labels: Mapping[str, str], *, query_namespaces: Sequence[str] = (),
                        control_plane: bool = False, loki: bool = False) -> list[dict]:
    """The namespace's allowances; ``control_plane``: Prometheus scrapes a self-managed control plane."""
    return [
        prometheus_policy(namespace, labels, query_namespaces, control_plane),
        scrapes_policy(namespace, labels),
        alertmanager_policy(namespace, labels),
        grafana_policy(namespace, labels, loki),
        operator_policy(namespace, labels),
        _api_server_egress("allow-kube-state-metrics", namespace, labels, KUBE_STATE_METRICS_SELECTOR),
        _api_server_egress("allow-admission-jobs", namespace, labels, ADMISSION_JOBS_SELECTOR),
    ]
