"""Postgres: PostgreSQL with pgvector, run by the CloudNativePG operator.

Creates:
- the operator's namespace (PSA ``restricted``: the chart's pod runs non-root, read-only, no
  capabilities, RuntimeDefault seccomp) with its policies: egress to the API server and to the
  instances (status 8000, PostgreSQL 5432), webhooks 9443 in, Prometheus to 8080 when scraped;
- the ``cloudnative-pg`` Helm release (pinned chart, CRDs included, its PodMonitor when scraped);
- per database owner a generated password and a ``kubernetes.io/basic-auth`` Secret (none when
  ``existing_secret`` names the first owner's), and the S3 access keys Secret on an on-prem store;
- the ``Cluster`` (operator-managed probes, PDBs and failover), one ``Database`` per
  application database with its extensions, and the ``ScheduledBackup`` when backups are on;
- the PgBouncer ``Pooler`` and its PodDisruptionBudget when the pooler is on;
- PodMonitors for the instances and pooler (with ServiceMonitors switched on), and the
  NetworkPolicies of the instances and the pooler.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts, opaque_secret
from components.data import postgres_access as access
from components.data import postgres_specs as specs
from components.data.common import Backup, DatabaseEndpoint, DataContext, generated_password
from components.platform.namespace import NamespaceArgs, PlatformNamespace

SECRET_KEYS = {"username": "username", "password": "password"}


@dataclass(frozen=True)
class PostgresArgs:
    context: DataContext
    settings: specs.PostgresSettings
    backup: Optional[Backup] = None
    # Tenants with a database (and owner role) in this cluster.
    tenants: tuple[str, ...] = ()
    # Tenants with a cluster of their own, by namespace: the operator must reach their instances.
    dedicated: tuple[tuple[str, str], ...] = ()   # (tenant, namespace)


def tenant_endpoint_key(tenant: str) -> str:
    """Where a tenant's share appears among the component's endpoints (never exported)."""
    return f"postgres@{tenant}"


def backup_settings(settings: specs.PostgresSettings, backup: Backup) -> specs.BackupSettings:
    """Where the instances write: the store's URL and the credentials its kind takes."""
    target, store = backup.target, backup.target.store
    identity = target.identity
    if not target.static_keys and identity is None:
        raise ValueError(f"{settings.name}: backups to a {store.kind} store need the workload identity "
                         "the cluster binds to the bucket, or the store's access keys")
    return specs.BackupSettings(
        destination=target.url(),
        store_kind=store.kind,
        schedule=backup.schedule,
        retention_days=backup.retention_days,
        region=store.region if store.kind == "s3" else None,
        endpoint=store.endpoint if target.static_keys else None,
        keys_secret=specs.backup_keys_secret(settings)["name"] if target.static_keys else None,
        workload_identity=not target.static_keys,
        sa_annotations=dict(identity.annotations) if identity and not target.static_keys else {},
        pod_labels=dict(identity.pod_labels) if identity and not target.static_keys else {},
    )


class Postgres(pulumi.ComponentResource):
    endpoints: dict[str, DatabaseEndpoint]

    def __init__(self, name: str, args: PostgresArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:data:Postgres", name, None, opts)
        ctx = args.context
        tenant_dbs = {t: specs.tenant_database(t) for t in args.tenants}
        s = replace(args.settings, databases=(*args.settings.databases, *tenant_dbs.values()),
                    managed_namespaces=tuple(ns for _, ns in args.dedicated))
        provider, protect = ctx.cluster.provider, ctx.protect
        in_namespace = list(ctx.depends_on)
        scraped = ctx.service_monitors

        operator_ns = PlatformNamespace(f"{name}-operator-ns", NamespaceArgs(
            provider=provider,
            namespace=s.operator_namespace,
            component="database-operator",
            kubernetes_version=ctx.cluster.kubernetes_version,
            extra_policies=tuple(access.operator_network_policies(
                s, ctx.namespace, ctx.metrics_namespace if scraped else None)),
            protect=protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        self.operator_values = specs.operator_values(scraped, ctx.service_monitor_labels)
        release = k8s.helm.v3.Release(
            f"{name}-operator",
            name=specs.OPERATOR_RELEASE,
            chart=specs.OPERATOR_CHART,
            version=specs.OPERATOR_CHART_VERSION,
            repository_opts={"repo": specs.OPERATOR_REPOSITORY},
            namespace=s.operator_namespace,
            values=self.operator_values,
            opts=child_opts(self, provider, depends_on=[operator_ns.resource], protect=protect),
        )

        credentials: list[pulumi.Resource] = []
        passwords: dict[str, pulumi.Output[str]] = {}
        owner_secrets: dict[str, pulumi.Resource] = {}
        for owner in s.owners:
            if s.secret_name(owner) == s.existing_secret:
                continue
            password = generated_password(f"{name}-{owner}-password", self)
            passwords[owner] = password
            owner_secrets[owner] = opaque_secret(
                f"{name}-{owner}-credentials", specs.owner_secret(s, owner),
                {"username": owner, "password": password},
                child_opts(self, provider, depends_on=in_namespace), secret_type="kubernetes.io/basic-auth")
            credentials.append(owner_secrets[owner])

        backup = backup_settings(s, args.backup) if args.backup is not None else None
        if backup is not None and backup.keys_secret:
            store = args.backup.target.store  # type: ignore[union-attr]
            credentials.append(opaque_secret(
                f"{name}-backup-keys", specs.backup_keys_secret(s),
                {"ACCESS_KEY_ID": store.access_key_id, "ACCESS_SECRET_KEY": store.secret_access_key},
                child_opts(self, provider, depends_on=in_namespace)))

        self.cluster = self._custom(f"{name}-cluster", specs.cluster(s, backup), child_opts(
            self, provider, depends_on=[release, *in_namespace, *credentials],
            protect=protect, retain_on_delete=protect))
        after_cluster = [self.cluster]
        database_objects: dict[str, pulumi.Resource] = {}
        for db in s.databases:
            database_objects[db.name] = self._custom(f"{name}-db-{db.name}", specs.database(s, db),
                                                     child_opts(self, provider, depends_on=after_cluster, protect=protect))
        if backup is not None:
            self._custom(f"{name}-scheduled-backup", specs.scheduled_backup(s, backup),
                         child_opts(self, provider, depends_on=after_cluster))

        if s.pooler.enabled:
            self._custom(f"{name}-pooler", access.pooler(s), child_opts(self, provider, depends_on=after_cluster))
            pdb = access.pooler_pdb(s)
            if pdb is not None:
                k8s.policy.v1.PodDisruptionBudget(f"{name}-pooler-pdb", metadata=pdb["metadata"], spec=pdb["spec"],
                                                  opts=child_opts(self, provider, depends_on=in_namespace))
        if scraped:
            for monitor in access.pod_monitors(s, ctx.service_monitor_labels):
                self._custom(f"{name}-monitor-{monitor['metadata']['name']}", monitor,
                             child_opts(self, provider, depends_on=in_namespace))
        identity_kind = ctx.cluster.kind if backup is not None and backup.workload_identity else None
        for policy in access.network_policies(s, ctx, identity_kind):
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"],
                                            spec=policy["spec"], opts=child_opts(self, provider, depends_on=in_namespace))

        self.endpoints = self._endpoints(ctx, s)
        for tenant, db in tenant_dbs.items():
            # The tenant's password and the objects its app waits for ride along with its
            # endpoint; the data layer keeps them out of the stack outputs.
            self.endpoints[tenant_endpoint_key(tenant)] = DatabaseEndpoint(
                engine="postgres", host=ctx.host(f"{s.name}-rw"), port=specs.POSTGRES_PORT,
                secret_name=s.secret_name(db.owner), secret_namespace=ctx.namespace, secret_keys=SECRET_KEYS,
                database=db.name,
                extra={"username": db.owner, "password": passwords[db.owner],
                       "pooler_host": ctx.host(s.pooler_name) if s.pooler.enabled else None,
                       "instance_selector": s.instance_selector,
                       "pooler_selector": s.pooler_selector if s.pooler.enabled else None,
                       "resources": (owner_secrets[db.owner], database_objects[db.name])},
            )
        for tenant, namespace in args.dedicated:
            # A dedicated cluster is built by the data layer once the operator (its CRDs) is in.
            self.endpoints[tenant_endpoint_key(tenant)] = DatabaseEndpoint(
                engine="postgres", host="", port=specs.POSTGRES_PORT, secret_name="", secret_namespace=namespace,
                secret_keys=SECRET_KEYS, extra={"dedicated": True, "resources": (release,)})
        public = {k: ep for k, ep in self.endpoints.items() if "@" not in k}
        self.register_outputs({
            "cluster": s.name,
            "operatorChartVersion": specs.OPERATOR_CHART_VERSION,
            "image": s.image,
            "endpoints": {key: ep.outputs() for key, ep in public.items()},
        })

    def _custom(self, resource_name: str, obj: dict, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(resource_name, api_version=obj["apiVersion"], kind=obj["kind"],
                                                metadata=obj["metadata"], spec=obj["spec"], opts=opts)

    @staticmethod
    def _endpoints(ctx: DataContext, s: specs.PostgresSettings) -> dict[str, DatabaseEndpoint]:
        first = s.databases[0]
        owner_secret = s.secret_name(first.owner)
        per_database = {"databases": {db.name: s.secret_name(db.owner) for db in s.databases}}
        out = {"postgres": DatabaseEndpoint(
            engine="postgres", host=ctx.host(f"{s.name}-rw"), port=specs.POSTGRES_PORT, secret_name=owner_secret,
            secret_namespace=ctx.namespace, secret_keys=SECRET_KEYS, database=first.name,
            read_host=ctx.host(f"{s.name}-ro"), extra=per_database,
        )}
        if s.pooler.enabled:
            out["postgres-pooler"] = DatabaseEndpoint(
                engine="postgres", host=ctx.host(s.pooler_name), port=specs.POSTGRES_PORT, secret_name=owner_secret,
                secret_namespace=ctx.namespace, secret_keys=SECRET_KEYS, database=first.name,
                extra={**per_database, "poolMode": s.pooler.pool_mode},
            )
        return out

