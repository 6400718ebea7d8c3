"""Milvus: the vector database by setting, from its official Helm chart.

Creates, in the data namespace:
- the root user's password (``RandomPassword``) in a Secret (keys ``username``/``password``),
  unless an existing Secret is named; Milvus takes it from the environment on first start;
- on an S3-compatible store, a Secret with its access keys (also read from the environment);
- the Helm release of the ``milvus`` chart (pinned): standalone or distributed Milvus on the
  cluster's bucket, the bundled etcd, ServiceMonitor;
- a PodDisruptionBudget per multi-pod component (the chart has none);
- the NetworkPolicy admitting clients on 19530 and Prometheus on 9091.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ObjectStore
from components.common.k8s import child_opts, opaque_secret
from components.common.labels import standard_labels
from components.data import milvus_specs as ms
from components.data.common import DatabaseEndpoint, DataContext, generated_password


@dataclass(frozen=True)
class MilvusArgs:
    ctx: DataContext
    settings: ms.MilvusSettings
    create_root_secret: bool = True
    static_key_store: Optional[ObjectStore] = None    # on-prem store whose keys Milvus uses
    allow_from: tuple[str, ...] = ()


def root_secret_name(existing_secret: Optional[str]) -> str:
    return existing_secret or f"{ms.RELEASE}-root"


def s3_keys_secret_name() -> str:
    return f"{ms.RELEASE}-s3"


class Milvus(pulumi.ComponentResource):
    endpoint: DatabaseEndpoint

    def __init__(self, name: str, args: MilvusArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:data:Milvus", name, None, opts)
        ctx, settings = args.ctx, args.settings
        provider = ctx.cluster.provider
        labels = standard_labels(ms.CHART, ms.RELEASE, "vector-database")
        after_ns = list(ctx.depends_on)
        waits_for: list[pulumi.Resource] = list(after_ns)

        if args.create_root_secret:
            password = generated_password(f"{name}-root", self)
            waits_for.append(opaque_secret(
                f"{name}-root",
                {"name": settings.root_secret, "namespace": settings.namespace, "labels": labels},
                {ms.USERNAME_KEY: ms.ROOT_USER, ms.PASSWORD_KEY: password},
                child_opts(self, provider, depends_on=after_ns),
            ))
        store, keys_secret = args.static_key_store, settings.storage.keys_secret
        if store is not None and keys_secret:
            waits_for.append(opaque_secret(
                f"{name}-s3",
                ms.s3_keys_secret(settings, keys_secret, labels),
                {ms.S3_KEY_ID: store.access_key_id, ms.S3_SECRET: store.secret_access_key},
                child_opts(self, provider, depends_on=after_ns),
            ))

        self.values = ms.milvus_values(settings)
        # Segments live in the bucket and etcd's claims outlive the release (its StatefulSet
        # keeps them), but the release runs the metadata store: it follows `protect`.
        self.release = k8s.helm.v3.Release(
            name,
            name=ms.RELEASE,
            chart=ms.CHART,
            version=ms.CHART_VERSION,
            repository_opts={"repo": ms.REPOSITORY},
            namespace=settings.namespace,
            values=self.values,
            opts=child_opts(self, provider, depends_on=waits_for, protect=ctx.protect),
        )
        for budget in ms.component_pdbs(settings, labels):
            k8s.policy.v1.PodDisruptionBudget(f"{name}-{budget['metadata']['name']}", metadata=budget["metadata"],
                                              spec=budget["spec"], opts=child_opts(self, provider, depends_on=after_ns))
        policy = ms.network_policy(ctx, standard_labels("network-policy", ms.RELEASE, "vector-database"),
                                   args.allow_from, settings.service_monitors)
        k8s.networking.v1.NetworkPolicy(f"{name}-ingress", metadata=policy["metadata"], spec=policy["spec"],
                                        opts=child_opts(self, provider, depends_on=after_ns))

        self.endpoint = DatabaseEndpoint(
            engine="milvus",
            host=ms.service_host(settings.namespace),
            port=ms.PORT,
            secret_name=settings.root_secret,
            secret_namespace=settings.namespace,
            secret_keys={"username": ms.USERNAME_KEY, "password": ms.PASSWORD_KEY},
        )
        self.register_outputs({"host": self.endpoint.host, "secretName": settings.root_secret})
