"""``databases.redis`` -> the Valkey cache: its rules, pod security and component."""

from __future__ import annotations

from typing import Optional

import pulumi

from components.cluster.info import IdentityRequest
from components.data import cache_specs as cs
from components.data.cache import Cache, CacheArgs, secret_name
from components.data.common import DatabaseEndpoint, DataContext, resources
from infra.problems import Problem
from infra.schema import PlatformConfig
from infra.schema_data import RedisConfig

AT = "databases.redis"


def _memory_limit(section: RedisConfig) -> str:
    return section.resources.memory_limit or section.resources.memory


def problems(section: RedisConfig, cfg: PlatformConfig) -> list[Problem]:
    out: list[Problem] = []
    if section.backup.enabled:
        out.append((f"{AT}.backup.enabled", "a cache is rebuilt from traffic and has no backups; set backup.enabled "
                    "to false (keep persistence on to survive restarts)"))
    if section.replicas > 0 and not section.persistence:
        out.append((f"{AT}.persistence", f"read replicas need persistence: a primary restarting empty would make all "
                    f"{section.replicas} replicas drop their copy; set persistence to true or replicas to 0"))
    if section.max_memory is not None:
        limit = _memory_limit(section)
        if cs.quantity_bytes(section.max_memory) >= cs.quantity_bytes(limit):
            out.append((f"{AT}.maxMemory", f"{section.max_memory} leaves no room below the memory limit {limit} (the "
                        "kernel would kill Valkey before it evicts); set it to about 80% of the limit, or leave it "
                        "unset for that default"))
    return out


def backup_identity(section: RedisConfig, namespace: str) -> Optional[IdentityRequest]:
    return None


def pod_security(section: RedisConfig) -> str:
    return "restricted"


def settings(ctx: DataContext, section: RedisConfig) -> cs.CacheSettings:
    res = section.resources
    limit = _memory_limit(section)
    max_memory = cs.quantity_bytes(section.max_memory) if section.max_memory else cs.default_max_memory(limit)
    return cs.CacheSettings(
        namespace=ctx.namespace,
        replicas=section.replicas,
        persistence=section.persistence,
        storage_gib=section.storage_gib,
        storage_class=section.storage_class or ctx.cluster.storage.rwo,
        resources=resources(res.cpu, res.memory, res.cpu_limit, res.memory_limit),
        max_memory_bytes=max_memory,
        eviction_policy=section.eviction_policy,
        auth_secret=secret_name(section.credentials.existing_secret),
        zone_spread=ctx.zone_spread,
        service_monitors=ctx.service_monitors,
        service_monitor_labels=dict(ctx.service_monitor_labels),
        keep_volume=ctx.protect,
    )


def build(name: str, ctx: DataContext, section: RedisConfig, cfg: PlatformConfig,
          opts: pulumi.ResourceOptions, tenants: tuple[str, ...] = ()) -> dict[str, DatabaseEndpoint]:
    """``tenants`` each get an ACL user limited to their key prefix."""
    cache = Cache(name, CacheArgs(
        ctx=ctx,
        settings=settings(ctx, section),
        existing_secret=section.credentials.existing_secret,
        allow_from=tuple(section.allow_from),
        tenants=tenants,
    ), opts)
    return {"redis": cache.endpoint, **cache.tenant_endpoints}
