"""Qdrant: the default vector database, from its official Helm chart.

Creates, in the data namespace:
- the API key (``RandomPassword``) in a Secret (key ``api-key``), unless an existing Secret is
  named; Qdrant reads it from the environment, the ServiceMonitor as its bearer token;
- with snapshots on an S3-compatible store, a Secret with its access keys;
- the Helm release of the ``qdrant`` chart (pinned): StatefulSet, Services, PDB,
  ServiceMonitor, snapshot storage in the bucket;
- with snapshots on, the script ConfigMap and the CronJob that snapshots every collection on
  every peer and deletes snapshots older than the retention;
- the NetworkPolicy admitting clients on 6333/6334 and Prometheus on 6333;
- per tenant with a collection size, the Job that creates its collection ``tenant-<name>``
  with the API key (a tenant's collection-scoped token cannot create it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ObjectStore
from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.data import qdrant_collections_specs as qc
from components.data import qdrant_specs as qs
from components.data.common import DatabaseEndpoint, DataContext, generated_password

API_KEY_LENGTH = 40


@dataclass(frozen=True)
class QdrantArgs:
    ctx: DataContext
    settings: qs.QdrantSettings
    create_api_key: bool = True
    # The on-prem store whose static keys the snapshot storage uses (None: workload identity).
    static_key_store: Optional[ObjectStore] = None
    allow_from: tuple[str, ...] = ()
    # Tenants, each given a token for its own collection; tokens are signed with the API key,
    # so an existing (unknown) key gives none.
    tenants: tuple[str, ...] = ()
    # The collections the platform creates for those tenants (tenants without one create none).
    collections: tuple[qc.TenantCollection, ...] = ()


def tenant_collection(tenant: str) -> str:
    return qc.collection_name(tenant)


def tenant_endpoint_key(tenant: str) -> str:
    """Where a tenant's share appears among the engine's endpoints (never exported)."""
    return f"vector@{tenant}"


def api_key_secret_name(existing_secret: Optional[str]) -> str:
    return existing_secret or f"{qs.RELEASE}-api-key"


def s3_keys_secret_name() -> str:
    return f"{qs.RELEASE}-snapshots-s3"


class Qdrant(pulumi.ComponentResource):
    endpoint: DatabaseEndpoint

    def __init__(self, name: str, args: QdrantArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:data:Qdrant", name, None, opts)
        ctx = args.ctx
        tenants = args.tenants if args.create_api_key else ()
        settings = replace(args.settings, jwt_rbac=bool(tenants))
        provider = ctx.cluster.provider
        labels = standard_labels(qs.CHART, qs.RELEASE, "vector-database")
        after_ns = list(ctx.depends_on)
        waits_for: list[pulumi.Resource] = list(after_ns)

        key: Optional[pulumi.Output[str]] = None
        if args.create_api_key:
            key = generated_password(f"{name}-api-key", self, length=API_KEY_LENGTH)
            waits_for.append(opaque_secret(
                f"{name}-api-key",
                {"name": settings.api_key_secret, "namespace": settings.namespace, "labels": labels},
                {qs.API_KEY_KEY: key},
                child_opts(self, provider, depends_on=after_ns),
            ))
        store = args.static_key_store
        if settings.snapshots is not None and store is not None and settings.snapshots.keys_secret:
            waits_for.append(opaque_secret(
                f"{name}-snapshots-s3",
                qs.s3_keys_secret(settings, settings.snapshots.keys_secret),
                {qs.S3_KEY_ID: store.access_key_id, qs.S3_SECRET: store.secret_access_key},
                child_opts(self, provider, depends_on=after_ns),
            ))

        self.values = qs.qdrant_values(settings)
        # The StatefulSet's claims outlive the release (no PVC retention policy: Retain), but
        # the release is what runs the data: it follows `protect`.
        self.release = k8s.helm.v3.Release(
            name,
            name=qs.RELEASE,
            chart=qs.CHART,
            version=qs.CHART_VERSION,
            repository_opts={"repo": qs.REPOSITORY},
            namespace=settings.namespace,
            values=self.values,
            opts=child_opts(self, provider, depends_on=waits_for, protect=ctx.protect),
        )

        if settings.snapshots is not None:
            script_name = f"{qs.RELEASE}-snapshot-script"
            script = qs.snapshot_configmap(settings, script_name)
            configmap = k8s.core.v1.ConfigMap(f"{name}-snapshot-script", metadata=script["metadata"],
                                              data=script["data"], opts=child_opts(self, provider, depends_on=after_ns))
            job = qs.snapshot_cronjob(settings, f"{qs.RELEASE}-snapshots", script_name)
            k8s.batch.v1.CronJob(f"{name}-snapshots", metadata=job["metadata"], spec=job["spec"],
                                 opts=child_opts(self, provider, depends_on=[configmap, self.release]))

        policy = qs.network_policy(ctx, standard_labels("network-policy", qs.RELEASE, "vector-database"),
                                   args.allow_from, settings.service_monitors)
        ingress = k8s.networking.v1.NetworkPolicy(f"{name}-ingress", metadata=policy["metadata"], spec=policy["spec"],
                                                  opts=child_opts(self, provider, depends_on=after_ns))

        self.endpoint = DatabaseEndpoint(
            engine="qdrant",
            host=qs.service_host(settings.namespace),
            port=qs.HTTP_PORT,
            secret_name=settings.api_key_secret,
            secret_namespace=settings.namespace,
            secret_keys={"apiKey": qs.API_KEY_KEY},
            extra={"grpcPort": qs.GRPC_PORT},
        )
        jobs: dict[str, pulumi.Resource] = {}
        for c in args.collections:
            if c.tenant not in tenants:
                continue
            job = qc.collection_job(settings, c)
            jobs[c.tenant] = k8s.batch.v1.Job(f"{name}-collection-{c.tenant}", metadata=job["metadata"],
                                              spec=job["spec"],
                                              opts=child_opts(self, provider, depends_on=[self.release, ingress]))

        self.tenant_endpoints: dict[str, DatabaseEndpoint] = {}
        for t in tenants:
            collection = tenant_collection(t)
            token = pulumi.Output.secret(key.apply(lambda k, c=collection: None if k is None else qs.collection_token(k, c)))  # type: ignore[union-attr]
            self.tenant_endpoints[tenant_endpoint_key(t)] = DatabaseEndpoint(
                engine="qdrant", host=self.endpoint.host, port=qs.HTTP_PORT, secret_name=settings.api_key_secret,
                secret_namespace=settings.namespace, secret_keys={},
                extra={"collection": collection, "token": token, "selector": qs.selector(),
                       "resources": (self.release, *([jobs[t]] if t in jobs else []))})
        self.register_outputs({"host": self.endpoint.host, "secretName": settings.api_key_secret})
