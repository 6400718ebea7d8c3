"""Pure builders for the cache: Valkey from its official chart (``valkey`` 0.11.0, Valkey 9.1).

- ``valkey_values``: the chart's values (ACL auth from our Secret, persistence, read replicas,
  ``maxmemory`` and eviction, authenticated probes, PDB, spread, exporter + ServiceMonitor,
  restricted security contexts).
- ``network_policy``: who may reach the cache, on which ports.
- ``quantity_bytes`` / ``default_max_memory``: sizes in bytes for ``maxmemory``.

The chart runs one primary (a Deployment alone, a StatefulSet pod 0 with replicas) and has no
Sentinel: a lost primary comes back when Kubernetes restarts it; replicas only serve reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

from components.common.k8s import topology_spread
from components.common.labels import PART_OF
from components.common.security import Resources, container_security_context
from components.data.common import DataContext, engine_ingress

CHART = "valkey"
REPOSITORY = "https://valkey.io/valkey-helm/"
CHART_VERSION = "0.11.0"                   # Valkey 9.1.1, redis_exporter v1.79.0 (chart defaults)
RELEASE = "valkey"                         # also fullnameOverride: Services valkey, valkey-read
PORT = 6379
METRICS_PORT = 9121
# The chart's user and group; the data volume is theirs through fsGroup.
UID = 1000
# The chart reads ACL user X's password from key X of ``auth.usersExistingSecret``; the
# metrics exporter and the replicas (``replica.replicationUser``) use the ``default`` user.
ACL_USER = "default"
PASSWORD_KEY = ACL_USER
ACL_PERMISSIONS = "~* &* +@all"
# Where our probes read the password: the chart mounts ``extraValkeySecrets`` only into the
# server container, so the password never appears in the pod spec or a process list.
AUTH_MOUNT = "/run/valkey-auth"
EXPORTER_RESOURCES = Resources(cpu_request="50m", memory_request="64Mi", cpu_limit="200m", memory_limit="128Mi")
INIT_RESOURCES = Resources(cpu_request="50m", memory_request="32Mi", cpu_limit="200m", memory_limit="64Mi")
# Share of the memory limit Valkey may fill before it evicts; the rest is fork copy-on-write
# during RDB saves, replication buffers and allocator overhead.
DEFAULT_MAX_MEMORY_SHARE = 0.8
# Loading a large RDB file at start answers LOADING to PING; allow five minutes for it.
STARTUP_FAILURES = 30

_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$")


def quantity_bytes(text: str) -> int:
    """Bytes of a Kubernetes memory quantity such as ``1Gi`` or ``512M``."""
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"not a memory quantity: {text!r}")
    return int(float(match[1]) * _UNITS[match[2] or ""])


def default_max_memory(memory_limit: str) -> int:
    return int(quantity_bytes(memory_limit) * DEFAULT_MAX_MEMORY_SHARE)


@dataclass(frozen=True)
class CacheSettings:
    namespace: str
    replicas: int                              # read replicas beside the primary
    persistence: bool
    storage_gib: int
    storage_class: str
    resources: Resources
    max_memory_bytes: int
    eviction_policy: str
    auth_secret: str                           # key ``default``: the password of ACL user ``default``
    zone_spread: bool = False
    service_monitors: bool = False
    service_monitor_labels: Mapping[str, str] = field(default_factory=dict)
    # Keep the standalone volume when the release is uninstalled (StatefulSet claims always stay).
    keep_volume: bool = False
    # Tenants' ACL users (their passwords are keys of ``auth_secret`` named like the user).
    tenants: tuple[str, ...] = ()

    @property
    def replicated(self) -> bool:
        return self.replicas > 0


def tenant_user(tenant: str) -> str:
    return f"tenant-{tenant}"


def tenant_prefix(tenant: str) -> str:
    """The only keys (and Pub/Sub channels) a tenant's user may touch start with this."""
    return f"{tenant}:"


def tenant_permissions(tenant: str) -> str:
    # Every command outside the dangerous category (FLUSHALL, KEYS, CONFIG, ACL, DEBUG, ...),
    # on its own keys and channels only.
    prefix = tenant_prefix(tenant)
    return f"~{prefix}* &{prefix}* +@all -@dangerous"


def acl_users(settings: CacheSettings) -> dict[str, dict]:
    users = {ACL_USER: {"permissions": ACL_PERMISSIONS}}
    users.update({tenant_user(t): {"permissions": tenant_permissions(t)} for t in settings.tenants})
    return users


def selector() -> dict[str, str]:
    """The chart's selector labels of every Valkey pod (primary and replicas)."""
    return {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE}


def service_host(namespace: str, read: bool = False) -> str:
    return f"{RELEASE}{'-read' if read else ''}.{namespace}.svc.cluster.local"


def _ready_probe(period: int, failures: int) -> dict:
    # ``valkey-cli ping`` unauthenticated gets NOAUTH once ACLs are on, so the chart's default
    # probe can't tell a healthy server from a broken one; authenticate with the mounted
    # password (VALKEYCLI_AUTH keeps it off the command line) and require PONG, which a
    # server still loading its dataset does not answer.
    script = f'[ "$(VALKEYCLI_AUTH="$(cat {AUTH_MOUNT}/{PASSWORD_KEY})" valkey-cli -p {PORT} ping)" = PONG ]'
    return {"exec": {"command": ["sh", "-c", script]}, "periodSeconds": period, "timeoutSeconds": 3,
            "failureThreshold": failures, "successThreshold": 1}


def _probes() -> dict:
    return {
        "startupProbe": {"enabled": True, "customProbe": _ready_probe(10, STARTUP_FAILURES)},
        "readinessProbe": {"enabled": True, "customProbe": _ready_probe(10, 3)},
        # Liveness only asks whether the server accepts connections: a busy or loading server
        # must not be restarted.
        "livenessProbe": {"enabled": True, "customProbe": {
            "tcpSocket": {"port": "tcp"}, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 6,
            "successThreshold": 1}},
    }


def valkey_config(settings: CacheSettings) -> str:
    """Lines appended to the chart's generated valkey.conf (a ConfigMap: nothing secret here)."""
    lines = [f"maxmemory {settings.max_memory_bytes}", f"maxmemory-policy {settings.eviction_policy}"]
    if not settings.persistence:
        # No volume to keep snapshots on: don't fork for RDB saves or write an AOF at all.
        lines += ['save ""', "appendonly no"]
    return "\n".join(lines) + "\n"


def _storage(settings: CacheSettings) -> dict:
    size = f"{settings.storage_gib}Gi"
    if settings.replicated:
        # Replication always keeps data on claims (the chart refuses it without): a primary that
        # restarts empty would make every replica drop its copy.
        return {"replica": {"enabled": True, "replicas": settings.replicas,
                            "persistence": {"size": size, "storageClass": settings.storage_class}}}
    if not settings.persistence:
        return {}
    return {
        "dataStorage": {"enabled": True, "requestedSize": size, "className": settings.storage_class,
                        "keepPvc": settings.keep_volume},
        # A rolling update would start the new pod while the old one still holds the RWO volume.
        "deploymentStrategy": "Recreate",
    }


def _metrics(settings: CacheSettings) -> dict:
    if not settings.service_monitors:
        return {}
    return {"metrics": {
        "enabled": True,
        "exporter": {"resources": EXPORTER_RESOURCES.to_k8s(), "securityContext": container_security_context(UID)},
        "serviceMonitor": {"enabled": True, "extraLabels": dict(settings.service_monitor_labels)},
    }}


def valkey_values(settings: CacheSettings, pod_labels: Optional[Mapping[str, str]] = None) -> dict:
    values: dict = {
        "fullnameOverride": RELEASE,
        "podLabels": {"app.kubernetes.io/part-of": PART_OF, **(pod_labels or {})},
        "serviceAccount": {"create": True, "automount": False},
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                               "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {**container_security_context(UID), "runAsGroup": UID},
        "resources": settings.resources.to_k8s(),
        "initResources": INIT_RESOURCES.to_k8s(),
        **_probes(),
        "auth": {"enabled": True, "usersExistingSecret": settings.auth_secret,
                 "aclUsers": acl_users(settings)},
        "extraValkeySecrets": [{"name": settings.auth_secret, "mountPath": AUTH_MOUNT}],
        "valkeyConfig": valkey_config(settings),
        "topologySpreadConstraints": topology_spread(selector(), settings.zone_spread),
        **_storage(settings),
        **_metrics(settings),
    }
    if settings.replicated:
        # The chart renders its PDB in replicated mode only; a lone primary has nothing to keep.
        values["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
    return values


def network_policy(ctx: DataContext, labels: Mapping[str, str], allow_from: tuple[str, ...],
                   metrics: bool) -> dict:
    return engine_ingress(RELEASE, ctx, labels, selector(), client_ports=[PORT], allow_from=allow_from,
                          metrics_ports=[METRICS_PORT] if metrics else [])
