"""Cassandra: Apache Cassandra run by K8ssandra, backed up by Medusa.

Creates:
- the operator namespace (PSA ``baseline``, see below) with the baseline policies plus the
  operators' own: API server egress, egress to the Cassandra pods' management API, CQL and
  Medusa ports, ingress to both operators' admission webhooks;
- the k8ssandra-operator Helm release (bundles cass-operator; needs cert-manager for its
  webhook certificates, so it waits for the cert-manager release it is given);
- in the data namespace: the Cassandra pods' ServiceAccount (annotated for the backup
  identity), the superuser Secret (generated unless an existing one is named), the Medusa
  bucket-keys Secret on an S3-compatible store, the K8ssandraCluster, the MedusaBackupSchedule,
  and the NetworkPolicies admitting clients, operators and Prometheus (plus, on EKS and GKE,
  egress to the node-local identity endpoint).
cass-operator itself creates the StatefulSets (one per rack), the PodDisruptionBudget of the
datacenter (minAvailable size-1), the Services and the probes on the management API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.data import cassandra_specs as specs
from components.data.common import Backup, DatabaseEndpoint, DataContext, generated_password, operator_policies
from components.platform.namespace import NamespaceArgs, PlatformNamespace

CQL_KEYS = {"username": "username", "password": "password"}


@dataclass(frozen=True)
class CassandraArgs:
    ctx: DataContext
    settings: specs.CassandraSettings
    operator_namespace: str
    allow_from: tuple[str, ...] = ()
    # Set: the superuser Secret exists already under settings.superuser_secret.
    existing_secret: bool = False
    backup: Optional[Backup] = None
    chart_version: str = specs.OPERATOR_VERSION
    # The cert-manager release the operator's webhook certificates come from.
    cert_manager: Optional[pulumi.Resource] = None


class Cassandra(pulumi.ComponentResource):
    endpoint: DatabaseEndpoint

    def __init__(self, name: str, args: CassandraArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:data:Cassandra", name, None, opts)
        ctx, s = args.ctx, args.settings
        provider, ns, op_ns = ctx.cluster.provider, ctx.namespace, args.operator_namespace
        self._k8s_provider = provider
        labels = standard_labels("cassandra", name, "database")

        self.release = self._operator(name, args)
        in_ns = list(ctx.depends_on)
        identity = args.backup.target.identity if args.backup else None
        sa = specs.service_account(s.service_account, ns, labels)
        if identity is not None and identity.annotations:
            sa["metadata"]["annotations"] = dict(identity.annotations)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=sa["metadata"], automount_service_account_token=sa["automountServiceAccountToken"],
            opts=child_opts(self, provider, depends_on=in_ns))
        prereqs: list[pulumi.Resource] = [self.release, account, *in_ns]
        if not args.existing_secret:
            prereqs.append(self._superuser(name, s, ns, labels, in_ns))

        medusa_spec = None
        if args.backup is not None:
            storage, secret = self._storage(name, args.backup, ns, labels, in_ns)
            if secret is not None:
                prereqs.append(secret)
            medusa_spec = specs.medusa(storage)
        manifest = specs.k8ssandra_cluster(s, ns, labels, medusa_spec)
        # Deleting the K8ssandraCluster makes cass-operator delete the data volumes with it.
        self.cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster", api_version=manifest["apiVersion"], kind=manifest["kind"],
            metadata=manifest["metadata"], spec=manifest["spec"],
            opts=child_opts(self, provider, depends_on=prereqs, protect=ctx.protect, retain_on_delete=ctx.protect))

        if args.backup is not None:
            schedule = specs.backup_schedule(f"{name}-{s.datacenter}-backup", ns, labels, s.datacenter,
                                             args.backup.schedule)
            k8s.apiextensions.CustomResource(
                f"{name}-backup-schedule", api_version=schedule["apiVersion"], kind=schedule["kind"],
                metadata=schedule["metadata"], spec=schedule["spec"],
                opts=child_opts(self, provider, depends_on=[self.cluster]))

        policy_labels = standard_labels("network-policy", name, "database")
        policies = [specs.cassandra_ingress(name, ctx, policy_labels, s.cluster_name, allow_from=args.allow_from,
                                            operator_namespace=op_ns, backups=args.backup is not None)]
        if args.backup is not None and not args.backup.target.static_keys:
            egress = specs.identity_egress(name, ns, policy_labels, s.cluster_name, ctx.cluster.kind)
            if egress is not None:
                policies.append(egress)
        for policy in policies:
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"],
                                            spec=policy["spec"], opts=child_opts(self, provider, depends_on=in_ns))

        self.endpoint = DatabaseEndpoint(
            engine="cassandra", host=ctx.host(f"{s.cluster_name}-{s.datacenter}-service"), port=specs.CQL_PORT,
            secret_name=s.superuser_secret, secret_namespace=ns, secret_keys=CQL_KEYS,
            extra={"datacenter": s.datacenter})
        self.register_outputs({"host": self.endpoint.host, "port": self.endpoint.port,
                               "secretName": s.superuser_secret, "datacenter": s.datacenter})

    def _operator(self, name: str, args: CassandraArgs) -> k8s.helm.v3.Release:
        ctx, op_ns = args.ctx, args.operator_namespace
        policy_labels = standard_labels("network-policy", op_ns, "database-operator")
        namespace = PlatformNamespace(f"{name}-operator-ns", NamespaceArgs(
            provider=ctx.cluster.provider,
            namespace=op_ns,
            component="database-operator",
            kubernetes_version=ctx.cluster.kubernetes_version,
            # The chart's CRD-upgrader Job (a pre-upgrade hook keeping the CRDs in step with
            # the operator) has no securityContext and no values key to give it one, so
            # ``restricted`` would reject it and fail every upgrade. The operators themselves
            # run with a restricted-compliant context (operator_values).
            pod_security="baseline",
            extra_policies=tuple(operator_policies(
                op_ns, policy_labels, data_namespace=ctx.namespace,
                instance_ports=specs.operator_ports(args.backup is not None), webhook_ports=[specs.WEBHOOK_PORT])),
            protect=ctx.protect,
        ), opts=pulumi.ResourceOptions(parent=self))
        depends: list[Any] = [namespace.resource, *([args.cert_manager] if args.cert_manager is not None else [])]
        self.values = specs.operator_values()
        # The chart carries the CRDs: uninstalling it would delete every K8ssandraCluster.
        return k8s.helm.v3.Release(
            f"{name}-operator",
            name="k8ssandra-operator",
            chart=specs.OPERATOR_CHART,
            version=args.chart_version,
            repository_opts={"repo": specs.OPERATOR_REPOSITORY},
            namespace=op_ns,
            values=self.values,
            opts=child_opts(self, ctx.cluster.provider, depends_on=depends, protect=ctx.protect),
        )

    def _superuser(self, name: str, s: specs.CassandraSettings, ns: str, labels: dict,
                   depends: list) -> pulumi.Resource:
        password = generated_password(f"{name}-superuser-password", self)
        return opaque_secret(
            f"{name}-superuser",
            {"name": s.superuser_secret, "namespace": ns, "labels": labels},
            {"username": f"{s.cluster_name}-superuser", "password": password},
            child_opts(self, self._k8s_provider, depends_on=depends))

    def _storage(self, name: str, backup: Backup, ns: str, labels: dict,
                 depends: list) -> tuple[dict, Optional[pulumi.Resource]]:
        target = backup.target
        if not target.static_keys:
            return specs.medusa_storage(target, backup.retention_days), None
        store = target.store
        secret_name = f"{name}-medusa-bucket"
        body = pulumi.Output.all(store.access_key_id, store.secret_access_key).apply(
            lambda keys: specs.credentials_file(keys[0], keys[1]))
        secret = opaque_secret(secret_name, {"name": secret_name, "namespace": ns, "labels": labels},
                               {"credentials": body}, child_opts(self, self._k8s_provider, depends_on=depends))
        endpoint: Any = store.endpoint
        if isinstance(endpoint, str):
            parts: tuple[Any, Any, Any] = specs.s3_endpoint(endpoint)
        else:
            parsed = pulumi.Output.from_input(endpoint).apply(specs.s3_endpoint)
            parts = (parsed[0], parsed[1], parsed[2])
        return specs.medusa_storage(target, backup.retention_days, secret_name, parts), secret
