"""Pure builders for how the PostgreSQL cluster is reached and watched.

- ``pooler``: the PgBouncer ``Pooler`` in front of the primary (``<cluster>-pooler-rw``), with
  resources for its containers and spread across nodes (and zones);
- ``pooler_pdb``: its PodDisruptionBudget (the operator makes none for poolers);
- ``pod_monitor``: PodMonitors for the instances' and the pooler's exporters (the operator's
  own ``enablePodMonitor`` is deprecated in 1.30 in favour of these);
- ``network_policies``: who may reach the instances and the pooler, and the instances' egress
  to a node-local workload identity endpoint;
- ``operator_network_policies``: the operator namespace's allowances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

from components.cluster.info import IDENTITY_ENDPOINTS
from components.common.k8s import topology_spread
from components.common.labels import standard_labels
from components.common.security import Resources
from components.data import common
from components.data.common import DataContext
from components.data.postgres_specs import (
    API_VERSION,
    METRICS_PORT,
    OPERATOR_METRICS_PORT,
    POOLER_METRICS_PORT,
    POSTGRES_PORT,
    STATUS_PORT,
    WEBHOOK_PORT,
    PostgresSettings,
    labels,
)

POOLER_RESOURCES = Resources(cpu_request="100m", memory_request="64Mi", cpu_limit="500m", memory_limit="256Mi")
# The operator injects this init container into pooler pods; it takes its resources from the
# template when they are set there.
BOOTSTRAP_CONTAINER = "bootstrap-controller"
# Where clouds serve workload credentials on the node, over plain HTTP: the EKS Pod Identity
# agent and GKE's metadata server. AKS federated tokens are exchanged over HTTPS.


def pooler(settings: PostgresSettings) -> dict:
    p = settings.pooler
    resources = POOLER_RESOURCES.to_k8s()
    return {
        "apiVersion": API_VERSION,
        "kind": "Pooler",
        "metadata": {"name": settings.pooler_name, "namespace": settings.namespace,
                     "labels": labels(settings, "pooler")},
        "spec": {
            "cluster": {"name": settings.name},
            "instances": p.instances,
            "type": "rw",
            "pgbouncer": {
                "poolMode": p.pool_mode,
                "parameters": {"max_client_conn": str(p.max_client_connections),
                               "default_pool_size": str(p.default_pool_size)},
            },
            "template": {"spec": {
                "containers": [{"name": "pgbouncer", "resources": resources}],
                "initContainers": [{"name": BOOTSTRAP_CONTAINER, "resources": resources}],
                "topologySpreadConstraints": topology_spread(settings.pooler_selector, settings.zone_spread),
            }},
        },
    }


def pooler_pdb(settings: PostgresSettings) -> Optional[dict]:
    if settings.pooler.instances < 2:
        return None
    return common.pdb(settings.pooler_name, settings.namespace, labels(settings, "pooler"), settings.pooler_selector)


def pod_monitor(name: str, namespace: str, base_labels: Mapping[str, str], monitor_labels: Mapping[str, str],
                selector: Mapping[str, str]) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": name, "namespace": namespace, "labels": {**base_labels, **monitor_labels}},
        "spec": {
            "selector": {"matchLabels": dict(selector)},
            "podMetricsEndpoints": [{"port": "metrics"}],
        },
    }


def pod_monitors(settings: PostgresSettings, monitor_labels: Mapping[str, str]) -> list[dict]:
    out = [pod_monitor(settings.name, settings.namespace, labels(settings, "monitoring"), monitor_labels,
                       settings.instance_selector)]
    if settings.pooler.enabled:
        out.append(pod_monitor(settings.pooler_name, settings.namespace, labels(settings, "monitoring"),
                               monitor_labels, settings.pooler_selector))
    return out


def identity_egress(settings: PostgresSettings, cluster_kind: str) -> Optional[dict]:
    """Egress from the instances to the node-local endpoint serving their backup credentials."""
    cidr = IDENTITY_ENDPOINTS.get(cluster_kind)
    if cidr is None:
        return None
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"allow-{settings.name}-backup-identity", "namespace": settings.namespace,
                     "labels": labels(settings, "network-policy")},
        "spec": {
            "podSelector": {"matchLabels": settings.instance_selector},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": 80}]}],
        },
    }


def network_policies(settings: PostgresSettings, ctx: DataContext, identity_kind: Optional[str] = None) -> list[dict]:
    """Ingress to the instances and the pooler; ``identity_kind``: the cloud whose node-local
    credentials endpoint the instances must reach for backups (None: no such endpoint)."""
    policy_labels = labels(settings, "network-policy")
    out = [common.engine_ingress(
        settings.name, ctx, policy_labels, settings.instance_selector,
        client_ports=[POSTGRES_PORT], allow_from=settings.allow_from,
        # The operator polls the instance manager and connects to PostgreSQL itself.
        operator_namespace=settings.operator_namespace, operator_ports=[STATUS_PORT, POSTGRES_PORT],
        metrics_ports=[METRICS_PORT],
    )]
    if settings.pooler.enabled:
        out.append(common.engine_ingress(
            settings.pooler_name, ctx, policy_labels, settings.pooler_selector,
            client_ports=[POSTGRES_PORT], allow_from=settings.allow_from, metrics_ports=[POOLER_METRICS_PORT],
        ))
    if identity_kind is not None:
        egress = identity_egress(settings, identity_kind)
        if egress is not None:
            out.append(egress)
    return out


def operator_network_policies(settings: PostgresSettings, data_namespace: str,
                              metrics_namespace: Optional[str]) -> Sequence[dict]:
    ns = settings.operator_namespace
    policy_labels = standard_labels("network-policy", ns, "database-operator")
    out = list(common.operator_policies(
        ns, policy_labels, data_namespace=data_namespace,
        instance_ports=[STATUS_PORT, POSTGRES_PORT], webhook_ports=[WEBHOOK_PORT],
        metrics_namespace=metrics_namespace, metrics_ports=[OPERATOR_METRICS_PORT],
    ))
    managed = sorted(set(settings.managed_namespaces) - {data_namespace})
    if managed:
        out.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "allow-egress-tenant-instances", "namespace": ns, "labels": policy_labels},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}} for n in managed],
                "ports": [{"protocol": "TCP", "port": p} for p in (STATUS_PORT, POSTGRES_PORT)]}]},
        })
    return out
