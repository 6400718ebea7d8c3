"""MysqlCluster: MySQL InnoDB Cluster (Group Replication + MySQL Router) run by Oracle's MySQL Operator.

Creates:
- the operator's namespace (PSA ``baseline``, see below) with the baseline policies plus egress to
  the API server and the servers, and a LimitRange giving the operator's pod requests and limits
  (its chart offers neither a resources nor a seccomp setting);
- the Helm release of the operator (chart ``mysql-operator``, pinned, CRDs included);
- in the data namespace: the root credentials Secret and one Secret per application database
  (generated passwords; none when ``credentials.existingSecret`` names a Secret), the servers'
  ServiceAccount (annotated for the cloud identity bound to the bucket), and with backups the
  S3 config Secret MySQL Shell reads;
- the ``InnoDBCluster`` (servers spread across nodes/zones, resources, storage, metrics
  sidecar, backup profile + schedule); the operator adds the servers' PodDisruptionBudget;
- a PodDisruptionBudget for the routers when there are several, the engine's NetworkPolicies,
  a ServiceMonitor for the exporter when the stack has the Prometheus Operator;
- the Job creating each application database and its user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.data import mysql_specs as specs
from components.data.common import DatabaseEndpoint, DataContext, generated_password
from components.data.mysql_specs import MysqlSettings
from components.platform.namespace import NamespaceArgs, PlatformNamespace


@dataclass(frozen=True)
class MysqlClusterArgs:
    ctx: DataContext
    settings: MysqlSettings



class MysqlCluster(pulumi.ComponentResource):
    endpoints: dict[str, DatabaseEndpoint]

    def __init__(self, name: str, args: MysqlClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:data:MysqlCluster", name, None, opts)
        ctx, s = args.ctx, args.settings
        provider, ns = ctx.cluster.provider, ctx.namespace
        labels = standard_labels("mysql", name, "database")
        metrics = ctx.service_monitors
        after = list(ctx.depends_on)

        release = self._operator(name, ctx, s)

        secrets: list[pulumi.Resource] = []
        if not s.existing_secret:
            # Every server pod mounts the root Secret: without it none could restart, hence protected.
            secrets.append(opaque_secret(f"{name}-root", {"name": specs.root_secret(name, s), "namespace": ns,
                                                          "labels": labels},
                                         {"rootUser": "root", "rootHost": "%",
                                          "rootPassword": generated_password(f"{name}-root-password", self)},
                                         child_opts(self, provider, depends_on=after, protect=ctx.protect)))
            for db in s.databases:
                secret, _ = specs.app_secret(name, s, db)
                secrets.append(opaque_secret(f"{name}-user-{db}", {"name": secret, "namespace": ns, "labels": labels},
                                             {"username": db, "password": generated_password(f"{name}-{db}-password", self),
                                              "database": db},
                                             child_opts(self, provider, depends_on=after)))

        identity = s.backup.target.identity if s.backup is not None else None
        sa = specs.service_account_manifest(name, ns, labels, identity.annotations if identity else {})
        account = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=sa["metadata"],
                                             opts=child_opts(self, provider, depends_on=after))
        before_cluster: list[pulumi.Resource] = [release, account, *secrets]
        if s.backup is not None:
            before_cluster.append(self._backup_config(name, s, labels, ctx))

        ic = specs.innodb_cluster(name, ns, labels, s, zone_spread=ctx.zone_spread, metrics=metrics,
                                  backup_labels=specs.backup_pod_labels(name, identity.pod_labels if identity else {}))
        # The operator deletes the servers with the object; the data volumes stay (StatefulSet
        # claims are retained), but a protected stack never lets Pulumi delete it at all.
        self.cluster = k8s.apiextensions.CustomResource(
            name, api_version=ic["apiVersion"], kind=ic["kind"], metadata=ic["metadata"], spec=ic["spec"],
            opts=child_opts(self, provider, depends_on=after + before_cluster, protect=ctx.protect,
                            retain_on_delete=ctx.protect))

        for policy in specs.network_policies(name, ctx, labels, s, metrics=metrics):
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"],
                                            spec=policy["spec"], opts=child_opts(self, provider, depends_on=after))
        if s.router_instances > 1:
            pdb = specs.router_pdb(name, ns, labels)
            k8s.policy.v1.PodDisruptionBudget(f"{name}-router-pdb", metadata=pdb["metadata"], spec=pdb["spec"],
                                              opts=child_opts(self, provider, depends_on=after))
        if metrics:
            sm = specs.service_monitor(name, ns, labels, ctx.service_monitor_labels)
            k8s.apiextensions.CustomResource(f"{name}-service-monitor", api_version=sm["apiVersion"], kind=sm["kind"],
                                             metadata=sm["metadata"], spec=sm["spec"],
                                             opts=child_opts(self, provider, depends_on=after))

        # Routers when there are any, else the single server through its headless Service.
        service = name if s.router_instances else f"{name}-instances"
        job = specs.databases_job(name, ns, labels, s, host=ctx.host(service), port=specs.MYSQL_PORT)
        k8s.batch.v1.Job(f"{name}-databases", metadata=job["metadata"], spec=job["spec"],
                         opts=child_opts(self, provider, depends_on=[self.cluster, *secrets],
                                         custom_timeouts=pulumi.CustomTimeouts(create="30m")))

        self.endpoints = self._endpoints(name, ctx, s, ctx.host(service))
        self.register_outputs({"cluster": name, "namespace": ns, "operatorChart": specs.OPERATOR_CHART_VERSION,
                               "serverVersion": specs.MYSQL_VERSION})

    def _operator(self, name: str, ctx: DataContext, s: MysqlSettings) -> k8s.helm.v3.Release:
        cluster, ns = ctx.cluster, s.operator_namespace
        policy_labels = standard_labels("network-policy", ns, "database-operator")
        namespace = PlatformNamespace(f"{name}-operator-ns", NamespaceArgs(
            provider=cluster.provider,
            namespace=ns,
            component="database-operator",
            kubernetes_version=cluster.kubernetes_version,
            # The chart's pod sets no seccomp profile and the chart has no value to add one.
            pod_security="baseline",
            extra_policies=tuple(specs.operator_namespace_policies(s, ctx.namespace, policy_labels)),
            protect=cluster.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        lr = specs.operator_limit_range(ns, standard_labels("mysql-operator", ns, "database-operator"))
        limits = k8s.core.v1.LimitRange(f"{name}-operator-limits", metadata=lr["metadata"], spec=lr["spec"],
                                        opts=child_opts(self, cluster.provider, depends_on=[namespace.resource]))
        # Uninstalling the chart would stop every cluster's management: protected with the data.
        return k8s.helm.v3.Release(
            f"{name}-operator",
            name="mysql-operator",
            chart=specs.OPERATOR_CHART,
            version=specs.OPERATOR_CHART_VERSION,
            repository_opts={"repo": specs.OPERATOR_REPOSITORY},
            namespace=ns,
            values=specs.operator_values(),
            opts=child_opts(self, cluster.provider, depends_on=[namespace.resource, limits], protect=ctx.protect),
        )

    def _backup_config(self, name: str, s: MysqlSettings, labels: dict, ctx: DataContext) -> pulumi.Resource:
        """MySQL Shell's ``~/.aws``: the region, plus the access keys on a store reached with static keys."""
        assert s.backup is not None
        store = s.backup.target.store
        files: dict[str, pulumi.Input[str]] = {"config": specs.aws_config_file(store.region)}
        if s.backup.target.static_keys:
            files["credentials"] = pulumi.Output.all(store.access_key_id, store.secret_access_key).apply(
                lambda keys: specs.aws_credentials_file(keys[0], keys[1]))
        return opaque_secret(f"{name}-backup-s3", {"name": specs.backup_config_secret(name), "namespace": ctx.namespace,
                                                   "labels": labels},
                             files, child_opts(self, ctx.cluster.provider, depends_on=list(ctx.depends_on)))

    @staticmethod
    def _endpoints(name: str, ctx: DataContext, s: MysqlSettings, host: str) -> dict[str, DatabaseEndpoint]:
        out: dict[str, DatabaseEndpoint] = {}
        for i, db in enumerate(s.databases):
            secret, keys = specs.app_secret(name, s, db)
            routed = s.router_instances > 0
            out[name if i == 0 else f"{name}-{db}"] = DatabaseEndpoint(
                engine="mysql", host=host, port=specs.MYSQL_PORT, secret_name=secret, secret_namespace=ctx.namespace,
                secret_keys=keys, database=db,
                # The router's read-only port balances over the secondaries.
                read_host=host if routed else None,
                extra={"readPort": specs.ROUTER_RO_PORT} if routed else {},
            )
        return out
