"""``databases.postgres``: its rules and its mapping onto the Postgres component (CloudNativePG).

The Cluster, and so the service account its instances (and their Barman Cloud backups) run
as, is named ``postgres``.
"""

from __future__ import annotations

from typing import Optional

import pulumi

from components.cluster.info import IdentityRequest
from components.data import postgres_specs as specs
from components.data.common import Backup, DatabaseEndpoint, DataContext, backup_target, resources
from components.data.postgres import Postgres, PostgresArgs
from infra.problems import Problem, suggest
from infra.schema import PlatformConfig
from infra.schema_data import PostgresConfig

KEY = "postgres"
AT = f"databases.{KEY}"
IDENTITY = f"{KEY}-backups"
# PostgreSQL keeps a few connections for superusers whatever the load (its default).
SUPERUSER_RESERVED_CONNECTIONS = 3
DEFAULT_MAX_CONNECTIONS = 100


def _database_problems(section: PostgresConfig) -> list[Problem]:
    out: list[Problem] = []
    seen: set[str] = set()
    for i, db in enumerate(section.databases):
        at = f"{AT}.databases[{i}]"
        if db.name in seen:
            out.append((f"{at}.name", f"{db.name!r} is listed more than once; give each database one entry"))
        seen.add(db.name)
        reserved_name = db.name in specs.RESERVED_DATABASES
        if reserved_name:
            out.append((f"{at}.name", f"{db.name!r} is created by PostgreSQL itself and can't be an application "
                        "database; choose another name"))
        owner = db.owner or db.name
        if owner in specs.RESERVED_OWNERS and not (reserved_name and db.owner is None):
            why = ("is the superuser" if owner == "postgres"
                   else f"would share its Secret name {KEY}-{owner} with one the operator makes")
            out.append((f"{at}.owner" if db.owner else f"{at}.name",
                        f"the owner role {owner!r} {why}; set owner to another role name"))
        unknown = [e for e in db.extensions if e not in specs.EXTENSIONS]
        for ext in unknown:
            out.append((f"{at}.extensions", f"{ext!r} is not an extension the image ships without preloading"
                        f"{suggest(ext, specs.EXTENSIONS)}; available: {', '.join(sorted(specs.EXTENSIONS))}"))
        dup = sorted({e for e in db.extensions if db.extensions.count(e) > 1})
        if dup:
            out.append((f"{at}.extensions", f"lists {', '.join(dup)} more than once"))
    return out


def _max_connections(section: PostgresConfig) -> tuple[Optional[int], list[Problem]]:
    text = section.parameters.get("max_connections")
    if text is None:
        return DEFAULT_MAX_CONNECTIONS, []
    try:
        value = int(text)
    except ValueError:
        return None, [(f"{AT}.parameters.max_connections", f"{text!r} must be a whole number of connections")]
    if value <= SUPERUSER_RESERVED_CONNECTIONS:
        return None, [(f"{AT}.parameters.max_connections",
                       f"{value} leaves no connection for applications; set it above {SUPERUSER_RESERVED_CONNECTIONS}")]
    return value, []


def _pooler_problems(section: PostgresConfig, max_connections: Optional[int]) -> list[Problem]:
    pooler = section.pooler
    if not pooler.enabled or max_connections is None:
        return []
    pairs = len({(db.name, db.owner or db.name) for db in section.databases})
    # Each PgBouncer pod keeps up to default_pool_size server connections per database/user pair.
    needed = pooler.instances * pooler.default_pool_size * pairs
    usable = max_connections - SUPERUSER_RESERVED_CONNECTIONS
    if needed > usable:
        return [(f"{AT}.pooler.defaultPoolSize",
                 f"{pooler.instances} pooler instances x {pooler.default_pool_size} server connections x {pairs} "
                 f"database/owner pairs = {needed}, more than the {usable} PostgreSQL accepts (max_connections "
                 f"{max_connections}); lower defaultPoolSize or pooler.instances, or raise parameters.max_connections")]
    return []


def problems(section: PostgresConfig, cfg: PlatformConfig) -> list[Problem]:
    out = _database_problems(section)
    for name in sorted(section.parameters):
        if name in specs.OPERATOR_PARAMETERS:
            out.append((f"{AT}.parameters.{name}", "is set by the CloudNativePG operator itself; remove it "
                        "(shared_preload_libraries follows the extensions' own parameters, e.g. pg_stat_statements.*)"))
    max_connections, conn_problems = _max_connections(section)
    out += conn_problems + _pooler_problems(section, max_connections)
    owners = {db.owner or db.name for db in section.databases}
    if section.credentials.existing_secret and len(owners) > 1:
        out.append((f"{AT}.credentials.existingSecret",
                    f"one Secret holds one role's password, but the databases have {len(owners)} owners "
                    f"({', '.join(sorted(owners))}); give every database the same owner or drop existingSecret "
                    "to have a password generated per owner"))
    return out


def backup_identity(section: PostgresConfig, namespace: str) -> Optional[IdentityRequest]:
    if not section.backup.enabled:
        return None
    # Barman Cloud runs inside the instance pods, as the service account named like the Cluster.
    return IdentityRequest(name=IDENTITY, namespace=namespace, service_account=KEY, access="read-write")


def pod_security(section: PostgresConfig) -> str:
    # Instances and PgBouncer pods run non-root with a read-only root filesystem, no
    # capabilities and the RuntimeDefault seccomp profile.
    return "restricted"


def settings(name: str, ctx: DataContext, section: PostgresConfig) -> specs.PostgresSettings:
    res = section.resources
    pooler = section.pooler
    return specs.PostgresSettings(
        name=name,
        namespace=ctx.namespace,
        version=section.version,
        instances=section.instances,
        databases=tuple(specs.DatabaseSpec(db.name, db.owner or db.name, tuple(db.extensions))
                        for db in section.databases),
        storage_gib=section.storage_gib,
        storage_class=section.storage_class or ctx.cluster.storage.rwo,
        resources=resources(res.cpu, res.memory, res.cpu_limit, res.memory_limit),
        parameters=dict(section.parameters),
        wal_storage_gib=section.wal_storage_gib,
        existing_secret=section.credentials.existing_secret,
        pooler=specs.PoolerSettings(enabled=pooler.enabled, instances=pooler.instances, pool_mode=pooler.pool_mode,
                                    max_client_connections=pooler.max_client_connections,
                                    default_pool_size=pooler.default_pool_size),
        operator_namespace=section.operator_namespace,
        allow_from=tuple(section.allow_from),
        zone_spread=ctx.zone_spread,
    )


def build(name: str, ctx: DataContext, section: PostgresConfig, cfg: PlatformConfig,
          opts: pulumi.ResourceOptions, tenants: tuple[str, ...] = (),
          dedicated: tuple[tuple[str, str], ...] = ()) -> dict[str, DatabaseEndpoint]:
    """``tenants`` get a database and role in this cluster; ``dedicated`` (tenant, namespace)
    pairs get a cluster of their own, built by the data layer."""
    backup = None
    if section.backup.enabled:
        target = backup_target(ctx.cluster, IDENTITY, KEY)
        if target is not None:
            backup = Backup(target=target, schedule=section.backup.schedule,
                            retention_days=section.backup.retention_days)
    component = Postgres(name, PostgresArgs(context=ctx, settings=settings(name, ctx, section), backup=backup,
                                            tenants=tenants, dedicated=dedicated), opts)
    return component.endpoints
