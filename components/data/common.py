"""What every database component shares: its context, connection info, backups and builders.

- ``DataContext``: the cluster, the data namespace and who may reach it, handed to each engine.
- ``DatabaseEndpoint``: the typed connection info an engine exports (host, port, database,
  credentials Secret), consumed by the tenancy/app layer instead of strings built by hand.
- ``Backup`` / ``BackupTarget``: schedule, retention and where backups go (the cluster's
  object store, reached with the engine's workload identity or the store's static keys).
- Pure builders: NetworkPolicies for an engine and for an operator namespace, a PDB,
  topology spread, resources and the S3 keys Secret body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import pulumi
import pulumi_random as random

from components.cluster.info import IDENTITY_ENDPOINTS, ClusterInfo, ObjectStore, WorkloadIdentity
from components.common.security import Resources

# Where the API server is reached from pods: the Service VIP is rewritten to the endpoint
# (443 on managed control planes, 6443 on kubeadm-style ones) before policy applies.
API_SERVER_PORTS = (443, 6443)


@dataclass(frozen=True)
class DataContext:
    cluster: ClusterInfo
    namespace: str                               # where the database instances run
    allow_from: tuple[str, ...] = ()             # namespaces whose pods may reach every engine
    metrics_namespace: Optional[str] = None      # Prometheus' namespace; None: nothing scrapes
    service_monitors: bool = True
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    zone_spread: bool = False
    depends_on: tuple[pulumi.Resource, ...] = ()  # the data namespace
    cert_manager: Optional[pulumi.Resource] = None   # its Helm release, when the stack installs it

    @property
    def protect(self) -> bool:
        return self.cluster.protect

    def host(self, service: str) -> str:
        """The in-cluster DNS name of a Service in the data namespace."""
        return f"{service}.{self.namespace}.svc.cluster.local"


@dataclass(frozen=True)
class Sizing:
    storage_gib: int
    storage_class: str
    resources: Resources


@dataclass(frozen=True)
class BackupTarget:
    store: ObjectStore
    prefix: str                                   # path inside the bucket, e.g. "postgres"
    identity: Optional[WorkloadIdentity] = None   # cloud stores: the engine's bound service account

    @property
    def static_keys(self) -> bool:
        """True when the store is reached with access keys (an on-prem S3-compatible store)."""
        return self.store.access_key_id is not None

    def url(self) -> pulumi.Output[str]:
        """``s3://bucket/prefix``, ``gs://bucket/prefix`` or the Azure container URL + prefix."""
        store, prefix = self.store, self.prefix.strip("/")
        if store.kind == "s3":
            return pulumi.Output.concat("s3://", store.bucket, "/", prefix)
        if store.kind == "gcs":
            return pulumi.Output.concat("gs://", store.bucket, "/", prefix)
        return pulumi.Output.concat("https://", store.account, ".blob.core.windows.net/", store.bucket, "/", prefix)


@dataclass(frozen=True)
class Backup:
    target: BackupTarget
    schedule: str                                 # five-field cron
    retention_days: int


EngineKind = Literal["postgres", "mysql", "mongodb", "cassandra", "redis", "qdrant", "milvus", "pgvector"]


@dataclass(frozen=True)
class DatabaseEndpoint:
    """How an application reaches one database: what the tenancy layer consumes."""

    engine: EngineKind
    host: str
    port: int
    secret_name: str                             # in ``secret_namespace``
    secret_namespace: str
    # Which key of the Secret holds what, e.g. {"username": "username", "password": "password"}.
    secret_keys: Mapping[str, str]
    database: Optional[str] = None
    read_host: Optional[str] = None              # replicas only, where the engine offers one
    extra: Mapping[str, Any] = field(default_factory=dict)

    def outputs(self) -> dict:
        out = {"engine": self.engine, "host": self.host, "port": self.port, "secretName": self.secret_name,
               "secretNamespace": self.secret_namespace, "secretKeys": dict(self.secret_keys)}
        if self.database is not None:
            out["database"] = self.database
        if self.read_host is not None:
            out["readHost"] = self.read_host
        return {**out, **dict(self.extra)}


def generated_password(resource_name: str, parent: pulumi.Resource, length: int = 32) -> pulumi.Output[str]:
    """A random password (letters and digits: safe in connection strings and URIs), secret."""
    return random.RandomPassword(resource_name, length=length, special=False,
                                 opts=pulumi.ResourceOptions(parent=parent)).result


def backup_target(cluster: ClusterInfo, identity_name: str, prefix: str) -> Optional[BackupTarget]:
    """Where an engine's backups go, or None when the cluster has no object store."""
    if cluster.object_store is None:
        return None
    return BackupTarget(store=cluster.object_store, prefix=prefix, identity=cluster.identities.get(identity_name))


def resources(cpu: str, memory: str, cpu_limit: Optional[str] = None, memory_limit: Optional[str] = None) -> Resources:
    return Resources(cpu_request=cpu, memory_request=memory, cpu_limit=cpu_limit or cpu,
                     memory_limit=memory_limit or memory)



def pdb(name: str, namespace: str, labels: Mapping[str, str], selector: Mapping[str, str],
        max_unavailable: int = 1) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": dict(selector)}},
    }


def _policy(name: str, namespace: str, labels: Mapping[str, str], spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)}, "spec": spec}


def _tcp(ports: Iterable[int]) -> list[dict]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def _namespaces(names: Iterable[str]) -> list[dict]:
    return [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}} for n in names]


def engine_ingress(name: str, ctx: DataContext, labels: Mapping[str, str], selector: Mapping[str, str], *,
                   client_ports: Sequence[int], allow_from: Sequence[str] = (),
                   operator_namespace: Optional[str] = None, operator_ports: Sequence[int] = (),
                   metrics_ports: Sequence[int] = ()) -> dict:
    """Who may reach one engine's pods, and on which ports.

    - Its own pods, on every port (replication, gossip, elections).
    - Pods of the data namespace and of the allowed namespaces (``ctx.allow_from`` plus the
      engine's own ``allow_from``), on the client ports only.
    - Its operator's namespace on ``operator_ports`` (health checks, management APIs).
    - Prometheus' namespace on ``metrics_ports``.
    """
    match = {"matchLabels": dict(selector)}
    clients = [{"podSelector": {}}, *_namespaces(sorted({*ctx.allow_from, *allow_from}))]
    rules: list[dict] = [
        {"from": [{"podSelector": match}]},
        {"from": clients, "ports": _tcp(client_ports)},
    ]
    if operator_namespace and operator_ports:
        rules.append({"from": _namespaces([operator_namespace]), "ports": _tcp(operator_ports)})
    if ctx.metrics_namespace and metrics_ports:
        rules.append({"from": _namespaces([ctx.metrics_namespace]), "ports": _tcp(metrics_ports)})
    return _policy(f"allow-{name}", ctx.namespace, labels,
                   {"podSelector": match, "policyTypes": ["Ingress"], "ingress": rules})


def data_namespace_egress(namespace: str, labels: Mapping[str, str], extra_ports: Sequence[int] = (),
                          cluster_kind: str = "existing", workload_identity: bool = False) -> list[dict]:
    """Egress every pod of the data namespace needs beyond DNS.

    Within the namespace (replication, clients in the namespace); to the API server (operator
    sidecars and instance managers watch their resources); HTTPS to the object store for
    backups (its address is not selectable by label), plus any ``extra_ports`` (e.g. an
    on-prem store's endpoint port); and, when some engine uses a workload identity, the
    node-local identity endpoint on EKS and GKE, from which it gets its bucket credentials.
    """
    identity = IDENTITY_ENDPOINTS.get(cluster_kind) if workload_identity else None
    extra = [_policy("allow-egress-workload-identity", namespace, labels, {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": identity}}], "ports": _tcp([80])}]})] if identity else []
    return [*extra,
        _policy("allow-egress-in-namespace", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": {}}]}]}),
        _policy("allow-egress-api-and-object-store", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"ports": _tcp(sorted({*API_SERVER_PORTS, *extra_ports}))}]}),
    ]


def operator_policies(namespace: str, labels: Mapping[str, str], *, data_namespace: str,
                      instance_ports: Sequence[int], webhook_ports: Sequence[int] = (),
                      metrics_namespace: Optional[str] = None, metrics_ports: Sequence[int] = ()) -> list[dict]:
    """NetworkPolicies for an operator's own namespace (added to the baseline deny + DNS).

    Egress to the API server and to the instances it manages; ingress from the API server to
    its webhooks (the API server's address is not selectable, so the port is the handle) and
    from Prometheus to its metrics.
    """
    out = [
        _policy("allow-egress-api-server", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": _tcp(API_SERVER_PORTS)}]}),
        _policy("allow-egress-instances", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": _namespaces([data_namespace]), "ports": _tcp(instance_ports)}]}),
    ]
    if webhook_ports:
        out.append(_policy("allow-webhooks", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": _tcp(webhook_ports)}]}))
    if metrics_namespace and metrics_ports:
        out.append(_policy("allow-metrics", namespace, labels, {
            "podSelector": {}, "policyTypes": ["Ingress"],
            "ingress": [{"from": _namespaces([metrics_namespace]), "ports": _tcp(metrics_ports)}]}))
    return out
