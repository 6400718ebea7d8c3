"""``databases.mongodb`` -> the MongoDB component (Percona Server for MongoDB operator).

Why PSMDB rather than MongoDB's Community Operator: PSMDB backs up with Percona Backup for
MongoDB (scheduled, with retention) to S3-compatible stores; the Community Operator has no
backups and its repository is deprecated in favour of MongoDB's Controllers for Kubernetes.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import Literal, Optional

import pulumi

from components.cluster.info import IdentityRequest
from components.data import mongodb_specs as specs
from components.data.common import Backup, DatabaseEndpoint, DataContext, backup_target, resources
from components.data.mongodb import MongoDB, MongoDBArgs
from infra.problems import Problem
from infra.schema import PlatformConfig
from infra.schema_data import MongodbConfig

KEY = "mongodb"
AT = f"databases.{KEY}"
IDENTITY = f"{KEY}-backups"
OPERATOR_IDENTITY = f"{KEY}-operator-backups"

# PBM 2.11 signs in to GCS only with a service-account key or HMAC keys, and to Azure Blob
# only with the account's shared key; the platform hands out workload identities (and the
# AKS account refuses shared keys), so neither store can take these backups.
_UNSUPPORTED_STORES = {
    "gke": "Google Cloud Storage: Percona Backup for MongoDB 2.11 (operator 1.21) signs in to GCS only with a "
           "service-account key or HMAC keys, not with Workload Identity",
    "aks": "Azure Blob Storage: Percona Backup for MongoDB 2.11 (operator 1.21) signs in only with the storage "
           "account's shared key, which the platform's account refuses (Entra ID only)",
}


# --- the backup schedule, as the operator reads it (robfig/cron, five fields) ----------------

_BOUNDS = {"minute": (0, 59), "hour": (0, 23), "day-of-month": (1, 31), "month": (1, 12), "day-of-week": (0, 6)}
_PART = re.compile(r"^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$")


def _cron_field(text: str, low: int, high: int) -> tuple[set[int], bool]:
    """The values one cron field selects, and whether it counts as ``*`` (the operator's
    robfig/cron parser: ``*`` with a step above 1 is no longer a wildcard)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        m = _PART.match(part)
        if m is None:
            raise ValueError(f"{part!r} is not a number, range or step")
        step = int(m[4]) if m[4] is not None else 1
        if m[1] == "*":
            start, end = low, high
            star = star or step == 1
        else:
            start = int(m[2])
            end = int(m[3]) if m[3] is not None else (high if m[4] is not None else start)
        if start < low or end > high:
            raise ValueError(f"{part!r} is outside {low}-{high}")
        if start > end:
            raise ValueError(f"{part!r} starts after it ends")
        if step == 0:
            raise ValueError(f"{part!r} has a step of 0")
        values.update(range(start, end + 1, step))
    return values, star


def parse_schedule(schedule: str) -> list[tuple[set[int], bool]]:
    """Each field of a five-field schedule as the operator reads it; ValueError names the field."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError("needs five fields: minute hour day-of-month month day-of-week")
    out = []
    for text, (what, (low, high)) in zip(fields, _BOUNDS.items(), strict=True):
        try:
            out.append(_cron_field(text, low, high))
        except ValueError as err:
            raise ValueError(f"{what} field: {err}") from None
    return out


# 28 years: whole weeks, and every weekday falls on every date equally often (within 1901-2099).
_REFERENCE_START = date(2001, 1, 1)
_REFERENCE_DAYS = 28 * 365 + 7


def runs_per_day(schedule: str) -> float:
    """How often the schedule fires per day on average (0 when it never does)."""
    (minutes, _), (hours, _), (doms, dom_star), (months, _), (dows, dow_star) = parse_schedule(schedule)
    days = 0
    for offset in range(_REFERENCE_DAYS):
        d = _REFERENCE_START + timedelta(days=offset)
        if d.month not in months:
            continue
        dom_match, dow_match = d.day in doms, (d.weekday() + 1) % 7 in dows   # cron: Sunday is 0
        # Both restricted: either matches (cron's rule); one a wildcard: both must.
        if (dom_match and dow_match) if (dom_star or dow_star) else (dom_match or dow_match):
            days += 1
    return days * len(minutes) * len(hours) / _REFERENCE_DAYS


def retention_count(schedule: str, retention_days: int) -> int:
    """``retentionDays`` as the count of scheduled backups the operator keeps (its only
    retention type): as many as the schedule takes in that many days, at least one."""
    return max(1, math.ceil(retention_days * runs_per_day(schedule) - 1e-9))


def problems(section: MongodbConfig, cfg: PlatformConfig) -> list[Problem]:
    out: list[Problem] = []
    n = section.members
    if n % 2 == 0:
        out.append((f"{AT}.members", f"must be odd (1, 3, 5 or 7): {n} members tolerate no more failures than "
                    f"{n - 1} and can split a vote evenly; use {n - 1} or {n + 1}"))
    dbs = section.databases
    if not dbs:
        out.append((f"{AT}.databases", "list at least one database: applications connect as its user"))
    dup = sorted({d for d in dbs if dbs.count(d) > 1})
    if dup:
        out.append((f"{AT}.databases", f"lists {', '.join(dup)} more than once"))
    for i, db in enumerate(dbs):
        if db in specs.RESERVED_DATABASES:
            out.append((f"{AT}.databases[{i}]", f"{db!r} is one of MongoDB's own databases "
                        f"({', '.join(specs.RESERVED_DATABASES)}); choose another name"))
        elif db in specs.RESERVED_USERS:
            out.append((f"{AT}.databases[{i}]", f"{db!r} is the name of one of the operator's system users, and each "
                        "database's user is named after it; choose another name"))
    backup = section.backup
    if backup.enabled:
        unsupported = _UNSUPPORTED_STORES.get(cfg.cluster.target)
        if unsupported:
            out.append((f"{AT}.backup.enabled", f"backups cannot go to {unsupported}; set backup.enabled to false here "
                        "(MongoDB backups need an S3 store: EKS, or an existing cluster with objectStore)"))
        try:
            never = runs_per_day(backup.schedule) == 0
        except ValueError as err:
            out.append((f"{AT}.backup.schedule", f"{backup.schedule!r}: {err} (the operator's cron takes minute 0-59, "
                        "hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-6 with Sunday 0)"))
        else:
            if never:
                out.append((f"{AT}.backup.schedule", f"{backup.schedule!r} never runs: no date matches it"))
    return out


def backup_identity(section: MongodbConfig, namespace: str) -> Optional[IdentityRequest]:
    """The replica set's service account: its PBM agents write the backups."""
    if not section.backup.enabled:
        return None
    return IdentityRequest(name=IDENTITY, namespace=namespace, service_account=specs.SERVICE_ACCOUNT,
                           access="read-write")


def operator_identity(section: MongodbConfig, namespace: str) -> Optional[IdentityRequest]:
    """The operator's service account: it deletes expired backups and checks a backup's files
    before a restore, with the storage settings PBM keeps (no keys on a cloud)."""
    if not section.backup.enabled:
        return None
    return IdentityRequest(name=OPERATOR_IDENTITY, namespace=section.operator_namespace,
                           service_account=specs.OPERATOR_RELEASE, access="read-write")


def pod_security(section: MongodbConfig) -> Literal["restricted", "baseline", "privileged"]:
    # Every container (init, mongod, PBM agent, exporter) runs non-root with no capabilities,
    # no privilege escalation and the RuntimeDefault seccomp profile.
    return "restricted"


def settings(name: str, ctx: DataContext, section: MongodbConfig) -> specs.MongoSettings:
    res = section.resources
    identity = ctx.cluster.identities.get(IDENTITY) if section.backup.enabled else None
    return specs.MongoSettings(
        name=name,
        namespace=ctx.namespace,
        members=section.members,
        storage_gib=section.storage_gib,
        storage_class=section.storage_class or ctx.cluster.storage.rwo,
        resources=resources(res.cpu, res.memory, res.cpu_limit, res.memory_limit),
        databases=tuple(section.databases),
        existing_secret=section.credentials.existing_secret,
        zone_spread=ctx.zone_spread,
        metrics=ctx.service_monitors,
        service_monitor_labels=dict(ctx.service_monitor_labels),
        pod_labels=dict(identity.pod_labels) if identity else {},
    )


def endpoints(s: specs.MongoSettings, ctx: DataContext) -> dict[str, DatabaseEndpoint]:
    """``mongodb`` for the first database, ``mongodb-<db>`` for the others."""
    out = {}
    for i, db in enumerate(s.databases):
        keys = ({"password": s.app_password_key(db)} if s.existing_secret
                else {"username": "username", "password": "password", "uri": "uri"})
        out[KEY if i == 0 else f"{KEY}-{db}"] = DatabaseEndpoint(
            engine="mongodb", host=ctx.host(s.service), port=specs.PORT, secret_name=s.app_secret(db),
            secret_namespace=ctx.namespace, secret_keys=keys, database=db,
            extra={"replicaSet": specs.REPLSET, "username": db, "authSource": db},
        )
    return out


def build(name: str, ctx: DataContext, section: MongodbConfig, cfg: PlatformConfig,
          opts: pulumi.ResourceOptions) -> dict[str, DatabaseEndpoint]:
    s = settings(name, ctx, section)
    backup, keep = None, 1
    if section.backup.enabled:
        target = backup_target(ctx.cluster, IDENTITY, KEY)
        if target is not None:
            backup = Backup(target=target, schedule=section.backup.schedule,
                            retention_days=section.backup.retention_days)
            keep = retention_count(backup.schedule, backup.retention_days)
    MongoDB(name, MongoDBArgs(
        ctx=ctx,
        settings=s,
        operator_namespace=section.operator_namespace,
        allow_from=tuple(section.allow_from),
        backup=backup,
        keep=keep,
        operator_identity=ctx.cluster.identities.get(OPERATOR_IDENTITY) if backup else None,
    ), opts=opts)
    return endpoints(s, ctx)
