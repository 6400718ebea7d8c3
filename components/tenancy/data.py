"""DedicatedPostgres: a tenant's own PostgreSQL cluster (CloudNativePG) in its namespace.

Creates, in the tenant namespace:
- the owner role's generated password in a ``kubernetes.io/basic-auth`` Secret;
- the ``Cluster`` (instances and storage from the tenant's settings, the platform's pinned
  pgvector image), bootstrapped with the tenant's database and owner, and the ``Database``
  object that keeps the ``vector`` extension present;
- the NetworkPolicies its instances need (operator in, API server out, replication).

No backups: the tenant namespace has no bucket identity; the shared cluster's backups cover
shared-mode tenants only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts, opaque_secret
from components.data import postgres_specs as ps
from components.data.common import generated_password
from components.tenancy import data_specs as ds


@dataclass(frozen=True)
class DedicatedPostgresArgs:
    cluster: ClusterInfo
    settings: ps.PostgresSettings
    # The tenant namespace and the operator's release: both must exist first.
    depends_on: tuple[pulumi.Resource, ...] = ()


class DedicatedPostgres(pulumi.ComponentResource):
    password: pulumi.Output[str]

    def __init__(self, name: str, args: DedicatedPostgresArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:tenancy:DedicatedPostgres", name, None, opts)
        s, provider, protect = args.settings, args.cluster.provider, args.cluster.protect
        owner = s.databases[0].owner
        after = list(args.depends_on)
        self.password = generated_password(f"{name}-password", self)
        secret = opaque_secret(f"{name}-credentials", ps.owner_secret(s, owner),
                               {"username": owner, "password": self.password},
                               child_opts(self, provider, depends_on=after), secret_type="kubernetes.io/basic-auth")
        obj = ps.cluster(s)
        self.cluster = k8s.apiextensions.CustomResource(
            f"{name}-cluster", api_version=obj["apiVersion"], kind=obj["kind"], metadata=obj["metadata"],
            spec=obj["spec"], opts=child_opts(self, provider, depends_on=[*after, secret], protect=protect,
                                              retain_on_delete=protect))
        db = ps.database(s, s.databases[0])
        self.database = k8s.apiextensions.CustomResource(
            f"{name}-db", api_version=db["apiVersion"], kind=db["kind"], metadata=db["metadata"], spec=db["spec"],
            opts=child_opts(self, provider, depends_on=[self.cluster], protect=protect))
        for policy in ds.dedicated_policies(s):
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"],
                                            spec=policy["spec"], opts=child_opts(self, provider, depends_on=after))
        self.resources: tuple[pulumi.Resource, ...] = (secret, self.cluster, self.database)
        self.register_outputs({"cluster": s.name, "namespace": s.namespace, "image": s.image})
