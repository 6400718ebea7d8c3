"""Pure builders for a tenant's share of the data layer.

- ``database_url`` / ``redis_url``: connection strings (built inside ``Output`` so the
  passwords stay secret).
- ``dedicated_settings``: the CloudNativePG cluster of a tenant that asked for its own.
- ``dedicated_policies``: what that cluster needs in the tenant namespace (the operator's
  status and SQL connections in; the API server out; its instances among themselves).
- ``egress``: the pods (and ports) a tenant's workloads may open connections to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional
from urllib.parse import quote

from components.common.security import Resources
from components.data import postgres_specs as ps
from components.data.common import API_SERVER_PORTS
from components.platform.network_policies import network_policy as _policy
from components.platform.network_policies import tcp as _tcp
from components.tenancy.contracts import Egress

DEDICATED_CLUSTER = "postgres"
DEDICATED_RESOURCES = Resources(cpu_request="250m", memory_request="512Mi", cpu_limit="1", memory_limit="1Gi")


def role_name(tenant: str) -> str:
    return f"tenant-{tenant}"


def database_url(user: str, password: str, host: str, port: int, database: str) -> str:
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(database, safe='')}"


def redis_url(user: str, password: str, host: str, port: int) -> str:
    return f"redis://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/0"


def dedicated_settings(tenant: str, namespace: str, *, version: str, instances: int, storage_gib: int,
                       storage_class: str, operator_namespace: str, zone_spread: bool = False,
                       resources: Resources = DEDICATED_RESOURCES) -> ps.PostgresSettings:
    """A cluster of the tenant's own: its database and owner bootstrap it (no other roles)."""
    name = role_name(tenant)
    return ps.PostgresSettings(
        name=DEDICATED_CLUSTER, namespace=namespace, version=version, instances=instances,
        databases=(ps.DatabaseSpec(name=name, owner=name, extensions=("vector",)),),
        storage_gib=storage_gib, storage_class=storage_class, resources=resources,
        operator_namespace=operator_namespace, zone_spread=zone_spread,
    )




def dedicated_policies(settings: ps.PostgresSettings) -> list[dict]:
    """Allowances in the tenant namespace (its baseline denies everything but DNS).

    The tenant's own workloads reach the instances through the tenancy layer's policies
    (``egress`` below names them); here: the instances among themselves (replication), the
    operator polling status and connecting to PostgreSQL, and the instance managers watching
    the API server.
    """
    ns, labels = settings.namespace, ps.labels(settings, "network-policy")
    match = {"matchLabels": settings.instance_selector}
    operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": settings.operator_namespace}}}
    return [
        _policy(f"allow-{settings.name}-ingress", ns, labels, {
            "podSelector": match, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": match}]},
                        {"from": [operator], "ports": _tcp([ps.STATUS_PORT, ps.POSTGRES_PORT])}]}),
        _policy(f"allow-{settings.name}-egress", ns, labels, {
            "podSelector": match, "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": match}]}, {"ports": _tcp(API_SERVER_PORTS)}]}),
    ]


def postgres_egress(namespace: str, selector: Mapping[str, str]) -> Egress:
    return Egress(namespace=namespace, pod_selector=dict(selector), ports=(ps.POSTGRES_PORT,))


def egress(*, postgres: Optional[Egress] = None, pooler: Optional[Egress] = None,
           qdrant: Optional[Egress] = None, redis: Optional[Egress] = None) -> tuple[Egress, ...]:
    return tuple(e for e in (postgres, pooler, qdrant, redis) if e is not None)

