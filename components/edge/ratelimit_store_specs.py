"""Pure builders for the rate limiter's store: a dedicated Valkey (chart ``valkey``).

Envoy Gateway's global rate limiting keeps its counters in Redis. Counters are short-lived
and rebuilt within a window, so the store has no persistence and no replicas; it holds no
tenant data and is reachable only from the rate-limit pods, so it runs without auth (the
rate-limit service's Redis URL carries no credentials).
"""

from __future__ import annotations

from components.common.labels import PART_OF
from components.common.security import Resources, container_security_context
from components.data.cache_specs import CHART, CHART_VERSION, PORT, REPOSITORY, UID

__all__ = ["CHART", "CHART_VERSION", "REPOSITORY", "PORT", "RELEASE", "selector", "redis_url", "values"]

RELEASE = "ratelimit-valkey"               # also fullnameOverride: Service ratelimit-valkey
RESOURCES = Resources(cpu_request="50m", memory_request="64Mi", cpu_limit="500m", memory_limit="256Mi")
INIT_RESOURCES = Resources(cpu_request="20m", memory_request="16Mi", cpu_limit="100m", memory_limit="32Mi")
# Counters only: evict the least recently used rather than refuse writes when full.
MAX_MEMORY_BYTES = 200 * 2**20


def selector() -> dict[str, str]:
    """The chart's selector labels of the store's pod."""
    return {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE}


def redis_url(namespace: str) -> str:
    """host:port, the form Envoy Gateway's rateLimit.backend.redis.url takes."""
    return f"{RELEASE}.{namespace}.svc.cluster.local:{PORT}"


def values() -> dict:
    return {
        "fullnameOverride": RELEASE,
        "podLabels": {"app.kubernetes.io/part-of": PART_OF},
        "serviceAccount": {"create": True, "automount": False},
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {**container_security_context(UID), "runAsGroup": UID},
        "resources": RESOURCES.to_k8s(),
        "initResources": INIT_RESOURCES.to_k8s(),
        "auth": {"enabled": False},
        "dataStorage": {"enabled": False},
        "valkeyConfig": "\n".join([f"maxmemory {MAX_MEMORY_BYTES}", "maxmemory-policy allkeys-lru",
                                   'save ""', "appendonly no"]) + "\n",
    }
