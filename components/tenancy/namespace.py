"""TenantNamespace: the namespace one tenant's workloads run in, and the fences around it.

Creates (all in the tenant namespace; nothing cluster-scoped):
- the namespace (PSA ``restricted``), labelled with the tenant's name, as a namespace whose
  routes the Gateways admit and, when the tenant calls models directly, as a model client;
  with the platform's default deny + DNS policies;
- NetworkPolicies: the app's port open to the public and internal Gateway proxies only;
  egress to the internal Gateway, the model servers' API ports, the tenant's data targets and
  (for ingestion from a cloud bucket) HTTPS to public addresses; metrics scrapes from
  Prometheus' namespace (see ``policy_specs``);
- a ResourceQuota (compute, GPUs, storage, object counts; no LoadBalancer or NodePort
  Services) and a LimitRange (container defaults and ceilings, largest volume claim);
- Roles ``tenant-edit`` and ``tenant-view`` and RoleBindings to the identity-provider groups
  given (none for an empty list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.common.labels import standard_labels
from components.edge.contracts import GatewayEndpoints
from components.platform.namespace import NamespaceArgs, PlatformNamespace
from components.tenancy.contracts import Egress
from components.tenancy.namespace_specs import (
    COMPONENT,
    LimitSettings,
    QuotaSettings,
    limit_range,
    resource_quota,
    tenant_labels,
)
from components.tenancy.policy_specs import APP_COMPONENT, PolicyInputs, tenant_policies
from components.tenancy.rbac_specs import rbac_objects

__all__ = ["APP_COMPONENT", "LimitSettings", "QuotaSettings", "TenantNamespace", "TenantNamespaceArgs"]


@dataclass(frozen=True)
class TenantNamespaceArgs:
    cluster: ClusterInfo
    tenant: str
    namespace: str
    quota: QuotaSettings
    limits: LimitSettings
    edit_groups: tuple[str, ...] = ()
    view_groups: tuple[str, ...] = ()
    app_port: int = 8080
    gateway: Optional[GatewayEndpoints] = None
    models_namespace: Optional[str] = None
    model_ports: tuple[int, ...] = ()             # API ports of the model Services
    egress: tuple[Egress, ...] = ()               # its databases, vector store, cache
    object_store_egress: bool = False             # ingestion reads documents from a cloud bucket (HTTPS)
    metrics_namespace: Optional[str] = None
    metrics_ports: tuple[int, ...] = ()           # scraped besides the app port

    def policy_inputs(self) -> PolicyInputs:
        return PolicyInputs(
            tenant=self.tenant, namespace=self.namespace, app_port=self.app_port, gateway=self.gateway,
            models_namespace=self.models_namespace, model_ports=self.model_ports, egress=self.egress,
            object_store_egress=self.object_store_egress, metrics_namespace=self.metrics_namespace,
            metrics_ports=self.metrics_ports)

    @property
    def model_clients(self) -> bool:
        return bool(self.models_namespace and self.model_ports)


class TenantNamespace(pulumi.ComponentResource):
    def __init__(self, name: str, args: TenantNamespaceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:tenancy:Namespace", name, None, opts)
        cluster, ns, tenant = args.cluster, args.namespace, args.tenant
        policy_labels = standard_labels("network-policy", ns, COMPONENT)
        namespace = PlatformNamespace(f"{name}-ns", NamespaceArgs(
            provider=cluster.provider,
            namespace=ns,
            component=COMPONENT,
            kubernetes_version=cluster.kubernetes_version,
            extra_policies=tuple(tenant_policies(args.policy_inputs(), policy_labels)),
            protect=cluster.protect,
            extra_labels=tenant_labels(tenant, args.model_clients),
        ), opts=pulumi.ResourceOptions(parent=self))
        self.resource = namespace.resource
        self.name = ns

        def opts_() -> pulumi.ResourceOptions:
            return child_opts(self, cluster.provider, depends_on=[namespace.resource])

        quota = resource_quota(tenant, ns, args.quota)
        k8s.core.v1.ResourceQuota(f"{name}-quota", metadata=quota["metadata"], spec=quota["spec"], opts=opts_())
        limits = limit_range(tenant, ns, args.limits, args.quota.storage_gib)
        k8s.core.v1.LimitRange(f"{name}-limits", metadata=limits["metadata"], spec=limits["spec"], opts=opts_())
        for obj in rbac_objects(tenant, ns, args.edit_groups, args.view_groups):
            resource_name = f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}"
            if obj["kind"] == "Role":
                k8s.rbac.v1.Role(resource_name, metadata=obj["metadata"], rules=obj["rules"], opts=opts_())
            else:
                k8s.rbac.v1.RoleBinding(resource_name, metadata=obj["metadata"], role_ref=obj["roleRef"],
                                        subjects=obj["subjects"], opts=opts_())
        self.register_outputs({"name": ns, "tenant": tenant})
