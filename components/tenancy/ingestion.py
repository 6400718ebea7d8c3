"""TenantIngestion: the jobs that put a tenant's documents into its vector store.

Creates, in the tenant namespace:
- the CronJob ``ingestion`` (the tenant's image on its schedule, one run at a time, bounded
  retries and run time, finished runs cleaned up);
- with a preprocess image, the Job ``ingestion-preprocess``, run once (again only when its
  spec changes, which replaces it). Neither ``pulumi up`` nor the CronJob waits for it.
Pods carry ``app.kubernetes.io/component: ingestion``, which the tenancy NetworkPolicies
select, and read the tenant ConfigMap and Secret as their environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts
from components.tenancy import ingestion_specs as specs
from components.tenancy.contracts import TENANT_SECRET, IngestionSettings


@dataclass(frozen=True)
class TenantIngestionArgs:
    provider: k8s.Provider
    tenant: str
    namespace: str
    settings: IngestionSettings
    secret_name: str = TENANT_SECRET          # created by the tenancy layer
    depends_on: tuple[pulumi.Resource, ...] = ()


class TenantIngestion(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantIngestionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:tenancy:Ingestion", name, None, opts)
        ns, tenant, provider = args.namespace, args.tenant, args.provider
        after = list(args.depends_on)
        job = specs.cronjob(ns, tenant, args.settings, args.secret_name)
        k8s.batch.v1.CronJob(f"{name}-cronjob", metadata=job["metadata"], spec=job["spec"],
                             opts=child_opts(self, provider, depends_on=after))
        pre = specs.preprocess_job(ns, tenant, args.settings, args.secret_name)
        if pre is not None:
            # A Job's pod template is immutable: a changed one replaces the Job under the same name.
            k8s.batch.v1.Job(f"{name}-preprocess", metadata=pre["metadata"], spec=pre["spec"],
                             opts=child_opts(self, provider, depends_on=after, delete_before_replace=True))
        self.register_outputs({"schedule": args.settings.schedule, "preprocess": pre is not None})
