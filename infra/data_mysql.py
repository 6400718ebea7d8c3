"""``databases.mysql`` -> MysqlCluster: config rules, the backup identity, Pod Security, the build.

Backups are logical dumps by MySQL Shell 9.1 (the operator's backup tool). It writes to S3
(EKS, through the Pod Identity agent's container credentials) and to S3-compatible stores
(static keys); it cannot use IRSA web identities, has no GCS support, and reaches Azure Blob
only with a shared key or SAS token, which the AKS target's storage account does not issue.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

import pulumi

from components.cluster.info import IdentityRequest
from components.data import mysql_specs as specs
from components.data.common import Backup, DatabaseEndpoint, DataContext, backup_target, resources
from components.data.mysql import MysqlCluster, MysqlClusterArgs
from infra.problems import Problem
from infra.schema import PlatformConfig
from infra.schema_data import MysqlConfig

KEY = "mysql"
AT = f"databases.{KEY}"
BACKUP_IDENTITY = f"{KEY}-backups"


def problems(section: MysqlConfig, cfg: PlatformConfig) -> list[Problem]:
    out: list[Problem] = []
    n = section.instances
    if n == 2:
        out.append((f"{AT}.instances", "2 members tolerate no failure (Group Replication needs a majority, 2 of 2, "
                    "to accept writes): use 1 for a single server or 3 for high availability"))
    elif n % 2 == 0:
        out.append((f"{AT}.instances", f"{n} members tolerate no more failures than {n - 1} (a majority of "
                    f"{n // 2 + 1} must stay up): use an odd count such as {n - 1} or {n + 1}"))
    if n > 1 and section.router_instances == 0:
        out.append((f"{AT}.routerInstances", f"0 with {n} instances leaves clients no way to follow the primary "
                    "after a failover: set routerInstances to 2 (or 1)"))
    out += _database_problems(section)
    if section.backup.enabled:
        out += _backup_problems(cfg)
    return out


def _database_problems(section: MysqlConfig) -> list[Problem]:
    at = f"{AT}.databases"
    dbs = section.databases
    if not dbs:
        return [(at, "lists no database: name at least one (e.g. [app]); applications get a user per database")]
    out: list[Problem] = []
    dup = sorted(d for d, c in Counter(dbs).items() if c > 1)
    if dup:
        out.append((at, f"lists {', '.join(dup)} more than once"))
    reserved = sorted({d for d in dbs if d in specs.RESERVED_SCHEMAS})
    if reserved:
        out.append((at, f"{', '.join(reserved)} is a schema of the server itself: choose another name"))
    if section.credentials.existing_secret is None:
        # Generated credentials name each user after its database.
        taken = sorted({d for d in dbs if d in specs.RESERVED_USERS})
        if taken:
            out.append((at, f"{', '.join(taken)} is an account the server or the operator uses: choose another name"))
        long = sorted(d for d in dbs if len(d) > specs.MAX_USER_NAME)
        if long:
            out.append((at, f"{', '.join(long)} is longer than {specs.MAX_USER_NAME} characters, the most a MySQL "
                        "user name (named after its database) may have: shorten it"))
    return out


def _backup_problems(cfg: PlatformConfig) -> list[Problem]:
    at = f"{AT}.backup.enabled"
    target = cfg.cluster.target
    if target == "gke":
        return [(at, "MySQL Shell, which the operator runs for backups, cannot write to Google Cloud Storage: set "
                 "backup.enabled to false and protect the data with volume snapshots (Velero) instead")]
    if target == "aks":
        return [(at, "MySQL Shell, which the operator runs for backups, reaches Azure Blob Storage only with a "
                 "storage account key or SAS token, and the AKS target's account allows neither (workload "
                 "identity only): set backup.enabled to false and protect the data with volume snapshots "
                 "(Velero) instead")]
    if target == "eks" and cfg.cluster.eks is not None and cfg.cluster.eks.workload_identity == "irsa":
        return [(at, "MySQL Shell, which the operator runs for backups, cannot use IRSA web identity tokens; it "
                 "does use EKS Pod Identity: set cluster.eks.workloadIdentity to pod-identity, or "
                 "backup.enabled to false")]
    return []


def backup_identity(section: MysqlConfig, namespace: str) -> Optional[IdentityRequest]:
    if not section.backup.enabled:
        return None
    # The operator runs backup Jobs as the cluster's service account, the servers' own.
    return IdentityRequest(name=BACKUP_IDENTITY, namespace=namespace, service_account=specs.service_account(KEY),
                           access="read-write")


def pod_security(section: MysqlConfig) -> str:
    # Servers and routers meet "restricted" (the seccomp profile is added through podSpec), but the
    # operator's backup Job and CronJob pods set no seccomp profile and the CRD offers no pod
    # template for them, so with backups on the namespace must admit "baseline".
    return "baseline" if section.backup.enabled else "restricted"


def settings(ctx: DataContext, section: MysqlConfig, cfg: PlatformConfig) -> specs.MysqlSettings:
    backup = None
    if section.backup.enabled:
        target = backup_target(ctx.cluster, BACKUP_IDENTITY, KEY)
        if target is not None:
            backup = Backup(target=target, schedule=section.backup.schedule,
                            retention_days=section.backup.retention_days)
    eks = cfg.cluster.eks
    res = section.resources
    return specs.MysqlSettings(
        instances=section.instances,
        router_instances=section.router_instances,
        databases=tuple(section.databases),
        storage_gib=section.storage_gib,
        storage_class=section.storage_class or ctx.cluster.storage.rwo,
        resources=resources(res.cpu, res.memory, res.cpu_limit, res.memory_limit),
        operator_namespace=section.operator_namespace,
        existing_secret=section.credentials.existing_secret,
        allow_from=tuple(section.allow_from),
        backup=backup,
        pod_identity_agent=cfg.cluster.target == "eks" and eks is not None and eks.workload_identity == "pod-identity",
    )


def build(name: str, ctx: DataContext, section: MysqlConfig, cfg: PlatformConfig,
          opts: pulumi.ResourceOptions) -> dict[str, DatabaseEndpoint]:
    cluster = MysqlCluster(name, MysqlClusterArgs(ctx=ctx, settings=settings(ctx, section, cfg)), opts)
    return cluster.endpoints
