"""MongoDB: a Percona Server for MongoDB replica set run by Percona's operator.

Creates:
- the operator's namespace (PSA ``restricted``) with the baseline policies plus egress to the
  API server, to the members' 27017 and, with an on-prem store on another port, to the store;
- the ``psmdb-operator`` Helm release (pinned chart, CRDs included) watching the data namespace;
- in the data namespace: the replica set's service account (annotated with the backup
  identity on a cloud), the system users Secret and one Secret per application user (random
  passwords; none with an existing Secret), the S3 keys Secret of an on-prem store;
- the ``PerconaServerMongoDB`` (replica set ``rs0``, the operator's own PDB and anti-affinity,
  users per database, PBM backups with schedule and retention, the exporter sidecar);
- the engine's NetworkPolicy and, with Prometheus, a PodMonitor.
With ``protect`` the release and the cluster are protected; deleting the cluster object keeps
its volume claims (no ``delete-psmdb-pvc`` finalizer), so the data survives either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import WorkloadIdentity
from components.common.k8s import child_opts, opaque_secret
from components.data import mongodb_specs as specs
from components.data.common import Backup, DataContext, generated_password
from components.platform.namespace import NamespaceArgs, PlatformNamespace


@dataclass(frozen=True)
class MongoDBArgs:
    ctx: DataContext
    settings: specs.MongoSettings
    operator_namespace: str
    allow_from: tuple[str, ...] = ()
    backup: Optional[Backup] = None
    keep: int = 1                                 # scheduled backups kept (the retention)
    # The operator's own bucket identity (it deletes expired backups and checks them before
    # a restore); None on an on-prem store, whose keys the operator reads from PBM's config.
    operator_identity: Optional[WorkloadIdentity] = None



class MongoDB(pulumi.ComponentResource):
    def __init__(self, name: str, args: MongoDBArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:data:MongoDB", name, None, opts)
        ctx, s, backup = args.ctx, args.settings, args.backup
        provider = ctx.cluster.provider
        data_ns = list(ctx.depends_on)

        operator_ns = PlatformNamespace(f"{name}-operator-ns", NamespaceArgs(
            provider=provider,
            namespace=args.operator_namespace,
            component="mongodb-operator",
            kubernetes_version=ctx.cluster.kubernetes_version,
            extra_policies=tuple(specs.operator_network_policies(args.operator_namespace, s.namespace,
                                                                 specs.store_port(backup))),
            protect=ctx.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        identity = args.operator_identity
        self.values = specs.operator_values(s.namespace, identity.annotations if identity else {},
                                            identity.pod_labels if identity else {})
        # Protected in prod: the chart carries the CRDs, and losing them deletes every cluster.
        self.release = k8s.helm.v3.Release(
            f"{name}-operator",
            name=specs.OPERATOR_RELEASE,
            chart=specs.CHART,
            version=specs.CHART_VERSION,
            repository_opts={"repo": specs.CHART_REPOSITORY},
            namespace=args.operator_namespace,
            values=self.values,
            opts=child_opts(self, provider, depends_on=[operator_ns.resource, *data_ns], protect=ctx.protect),
        )

        ns_opts = child_opts(self, provider, depends_on=data_ns)
        target_identity = backup.target.identity if backup is not None else None
        sa = specs.service_account(s, target_identity.annotations if target_identity else {})
        before_cluster: list[pulumi.Resource] = [self.release, *data_ns]
        before_cluster.append(k8s.core.v1.ServiceAccount(
            f"{name}-service-account", metadata=sa["metadata"],
            automount_service_account_token=sa["automountServiceAccountToken"], opts=ns_opts))
        before_cluster += self._secrets(name, ctx, s, backup, ns_opts)

        manifest = specs.cluster(s, backup, args.keep)
        self.cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster", api_version=manifest["apiVersion"], kind=manifest["kind"],
            metadata=manifest["metadata"], spec=manifest["spec"],
            opts=child_opts(self, provider, depends_on=before_cluster, protect=ctx.protect),
        )

        policy = specs.network_policy(s, ctx, args.allow_from, args.operator_namespace)
        k8s.networking.v1.NetworkPolicy(f"{name}-network-policy", metadata=policy["metadata"],
                                        spec=policy["spec"], opts=ns_opts)
        if s.metrics:
            monitor = specs.pod_monitor(s)
            k8s.apiextensions.CustomResource(
                f"{name}-pod-monitor", api_version=monitor["apiVersion"], kind=monitor["kind"],
                metadata=monitor["metadata"], spec=monitor["spec"], opts=ns_opts)

        self.register_outputs({"name": s.name, "namespace": s.namespace, "members": s.members,
                               "chartVersion": specs.CHART_VERSION})

    def _secrets(self, name: str, ctx: DataContext, s: specs.MongoSettings, backup: Optional[Backup],
                 opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        out: list[pulumi.Resource] = []
        if backup is not None and backup.target.static_keys:
            out.append(opaque_secret(f"{name}-backup-s3", specs.secret_metadata(s, s.backup_secret, "backup"),
                                     specs.backup_keys_secret_data(backup), opts))
        if s.existing_secret:
            # The application passwords come from the existing Secret; the operator creates the
            # system users Secret itself, with passwords it generates, when it finds none.
            return out
        passwords: dict[str, Any] = {
            role: generated_password(f"{name}-{role.removeprefix('MONGODB_').lower().replace('_', '-')}", self)
            for role in specs.SYSTEM_USERS}
        out.append(opaque_secret(f"{name}-system-users", specs.secret_metadata(s, s.users_secret, "database"),
                                 specs.users_secret_data(passwords), opts))
        host = ctx.host(s.service)
        for db in s.databases:
            password = generated_password(f"{name}-{db}-user", self)
            uri = pulumi.Output.concat(*specs.connection_uri(db, password, host))
            out.append(opaque_secret(f"{name}-{db}-user", specs.secret_metadata(s, s.app_secret(db), "credentials"),
                                     specs.app_user_secret_data(db, password, uri), opts))
        return out
