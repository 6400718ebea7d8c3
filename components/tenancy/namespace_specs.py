"""Pure builders for a tenant namespace's labels, ResourceQuota and LimitRange.

RBAC lives in ``rbac_specs`` and NetworkPolicies in ``policy_specs``.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.common.labels import standard_labels
from components.edge.contracts import ROUTES_NAMESPACE_LABEL, TENANT_LABEL
from components.models.server_specs import CLIENT_NAMESPACE_LABEL, GPU_RESOURCE

COMPONENT = "tenant"
QUOTA_NAME = "tenant-quota"
LIMITS_NAME = "tenant-limits"
# The ingestion CronJob keeps a few finished Jobs for its history; these leave room for that
# and for a tenant's own one-off Jobs without letting a runaway controller flood the API.
JOBS_QUOTA = 20
CRONJOBS_QUOTA = 10


@dataclass(frozen=True)
class QuotaSettings:
    cpu: str
    memory: str
    gpus: int
    storage_gib: int
    pods: int
    services: int
    persistent_volume_claims: int
    config_maps: int
    secrets: int


@dataclass(frozen=True)
class LimitSettings:
    default_cpu: str
    default_memory: str
    default_request_cpu: str
    default_request_memory: str
    max_cpu: str
    max_memory: str


def tenant_labels(tenant: str, model_clients: bool) -> tuple[tuple[str, str], ...]:
    """Labels other layers select the namespace by: the tenant's name, the Gateways' route
    admission and (when it calls models directly) the models namespace's client admission."""
    labels = [(TENANT_LABEL, tenant), (ROUTES_NAMESPACE_LABEL, "true")]
    if model_clients:
        labels.append((CLIENT_NAMESPACE_LABEL, "true"))
    return tuple(labels)


def object_labels(tenant: str, namespace: str, name: str) -> dict[str, str]:
    return {**standard_labels(name, namespace, COMPONENT), TENANT_LABEL: tenant}


def resource_quota(tenant: str, namespace: str, quota: QuotaSettings) -> dict:
    hard = {
        "requests.cpu": quota.cpu,
        "limits.cpu": quota.cpu,
        "requests.memory": quota.memory,
        "limits.memory": quota.memory,
        # Always stated: a namespace without it could claim every GPU of the cluster.
        f"requests.{GPU_RESOURCE}": str(quota.gpus),
        "requests.storage": f"{quota.storage_gib}Gi",
        "persistentvolumeclaims": str(quota.persistent_volume_claims),
        "pods": str(quota.pods),
        "services": str(quota.services),
        # Tenant apps are reached through the platform's Gateway; a Service of their own on a
        # cloud load balancer or a node port would bypass its TLS, auth and rate limits.
        "services.loadbalancers": "0",
        "services.nodeports": "0",
        "configmaps": str(quota.config_maps),
        "secrets": str(quota.secrets),
        "count/jobs.batch": str(JOBS_QUOTA),
        "count/cronjobs.batch": str(CRONJOBS_QUOTA),
    }
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": QUOTA_NAME, "namespace": namespace, "labels": object_labels(tenant, namespace, QUOTA_NAME)},
        "spec": {"hard": hard},
    }


def limit_range(tenant: str, namespace: str, limits: LimitSettings, storage_gib: int) -> dict:
    """Defaults for containers that state no resources (the quota on limits.* rejects them
    otherwise) and ceilings for one container and one volume claim."""
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": LIMITS_NAME, "namespace": namespace, "labels": object_labels(tenant, namespace, LIMITS_NAME)},
        "spec": {"limits": [
            {
                "type": "Container",
                "default": {"cpu": limits.default_cpu, "memory": limits.default_memory},
                "defaultRequest": {"cpu": limits.default_request_cpu, "memory": limits.default_request_memory},
                "max": {"cpu": limits.max_cpu, "memory": limits.max_memory},
            },
            {"type": "PersistentVolumeClaim", "max": {"storage": f"{storage_gib}Gi"}},
        ]},
    }
