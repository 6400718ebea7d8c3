"""Pure builders for a tenant's session store: a small Valkey of its own (chart ``valkey``).

Open WebUI replicas share websocket sessions through python-socketio's Redis manager, whose
Pub/Sub channels carry fixed names. On the shared cache a tenant's ACL user would have to be
granted channels every tenant uses, so each Open WebUI tenant gets this store in its own
namespace instead; the shared cache stays for custom apps, which can keep to a key prefix.

- ``values``: the chart's values, built with the cache's builder (ACL auth from our Secret,
  authenticated probes, restricted contexts) for one pod without volume or snapshots, its
  ``maxmemory`` a share of the memory limit with LRU eviction: sessions can be rebuilt by a
  new login, so a full store drops the oldest rather than refusing writes.
- ``redis_url`` / ``service_host`` / ``selector``: how the app reaches the store.
- ``app_ingress`` / ``app_egress``: the NetworkPolicies between the tenant's app pods and the
  store, and nothing else (the namespace's default deny covers the rest).
"""

from __future__ import annotations

from collections.abc import Mapping

from components.common.labels import standard_labels
from components.common.security import Resources
from components.data import cache_specs as cs
from components.edge.contracts import TENANT_LABEL
from components.platform.network_policies import network_policy as _policy
from components.tenancy.contracts import Egress

CHART = cs.CHART
# A store of sessions and websocket fan-out only: small, and a limit that doesn't throttle it.
DEFAULT_RESOURCES = Resources(cpu_request="100m", memory_request="128Mi", cpu_limit="500m", memory_limit="256Mi")
CHART_VERSION = cs.CHART_VERSION
REPOSITORY = cs.REPOSITORY
RELEASE = "session-store"                  # also fullnameOverride: Service session-store
AUTH_SECRET = f"{RELEASE}-auth"            # key ``default``: the password of ACL user ``default``
COMPONENT = "session-store"
PORT = cs.PORT
ACL_USER = cs.ACL_USER
DATABASE = 0
# The tenant's chat app (components/tenancy/app_specs.py COMPONENT): the store's only clients.
APP_SELECTOR = {"app.kubernetes.io/component": "chat-app"}


def selector() -> dict[str, str]:
    """The chart's selector labels of the store's pod (name from the chart, instance the release)."""
    return {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE}


def labels(tenant: str) -> dict[str, str]:
    """Labels of the objects we create beside the chart (its own objects carry the chart's)."""
    return {**standard_labels(CHART, RELEASE, COMPONENT), TENANT_LABEL: tenant}


def service_host(namespace: str) -> str:
    return f"{RELEASE}.{namespace}.svc.cluster.local"


def redis_url(namespace: str, password: str) -> str:
    """The URL Open WebUI takes (REDIS_URL, WEBSOCKET_REDIS_URL); passwords are alphanumeric."""
    return f"redis://{ACL_USER}:{password}@{service_host(namespace)}:{PORT}/{DATABASE}"


def egress(namespace: str) -> Egress:
    """The store as a target of the tenant namespace's egress policies."""
    return Egress(namespace=namespace, pod_selector=selector(), ports=(PORT,))


def settings(namespace: str, resources: Resources) -> cs.CacheSettings:
    return cs.CacheSettings(
        namespace=namespace, replicas=0, persistence=False, storage_gib=0, storage_class="",
        resources=resources, max_memory_bytes=cs.default_max_memory(resources.memory_limit),
        eviction_policy="allkeys-lru", auth_secret=AUTH_SECRET,
    )


def values(tenant: str, namespace: str, resources: Resources) -> dict:
    # Pod labels beside the chart's selector labels (name, instance), which they must not repeat.
    pod_labels = {"app.kubernetes.io/component": COMPONENT, TENANT_LABEL: tenant}
    out = cs.valkey_values(settings(namespace, resources), pod_labels)
    out["fullnameOverride"] = RELEASE
    # One pod: nothing to spread, and the cache's constraints select the cache's release.
    out["topologySpreadConstraints"] = []
    return out



_PORTS = [{"protocol": "TCP", "port": PORT}]


def app_ingress(namespace: str, labels: Mapping[str, str]) -> dict:
    """Only the tenant's app pods, of this namespace, may open connections to the store."""
    return _policy(f"allow-{RELEASE}-from-app", namespace, labels, {
        "podSelector": {"matchLabels": selector()},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": dict(APP_SELECTOR)}}], "ports": _PORTS}],
    })


def app_egress(namespace: str, labels: Mapping[str, str]) -> dict:
    """The app pods may open connections to the store (ingestion jobs and others may not)."""
    return _policy(f"allow-app-to-{RELEASE}", namespace, labels, {
        "podSelector": {"matchLabels": dict(APP_SELECTOR)},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": {"matchLabels": selector()}}], "ports": _PORTS}],
    })
