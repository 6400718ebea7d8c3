"""TenantApp: a tenant's chat/RAG application, reached at https://<hostname><path>.

Creates, in the tenant namespace:
- for Open WebUI, the ConfigMap ``chat-app-env`` with Open WebUI's own variables, mapped
  from the tenant ConfigMap's values (secrets come straight from the tenant Secret by
  ``secretKeyRef``); a custom image instead reads the tenant ConfigMap and Secret whole
  (``envFrom``) plus its extra ``env``;
- the Deployment ``chat-app`` (secure defaults, read-only root filesystem with emptyDir
  scratch, probes, spread across nodes, pod label ``app.kubernetes.io/component: chat-app``);
- the ClusterIP Service ``chat-app`` (port ``http``);
- the HorizontalPodAutoscaler on CPU, which owns the replica count after the first rollout;
- the PodDisruptionBudget;
- the HTTPRoute attaching the app to the public Gateway's HTTPS listener.

The tenant ConfigMap (``tenant-config``) and Secret (``tenant-env``) belong to the tenancy
layer, which creates them before this component and passes the ConfigMap's data as
``config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts
from components.edge.contracts import GatewayEndpoints
from components.tenancy import app_specs as specs
from components.tenancy.contracts import TENANT_SECRET, AppSettings, ModelChoice


@dataclass(frozen=True)
class TenantAppArgs:
    provider: k8s.Provider
    tenant: str
    namespace: str
    settings: AppSettings
    gateway: GatewayEndpoints
    models: ModelChoice
    config: Mapping[str, str]                 # the tenant ConfigMap's data (contract keys), already complete
    secret_name: str = TENANT_SECRET          # created by the tenancy layer
    depends_on: tuple[pulumi.Resource, ...] = ()
    protect: bool = False


class TenantApp(pulumi.ComponentResource):
    url: str

    def __init__(self, name: str, args: TenantAppArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:tenancy:App", name, None, opts)
        settings, ns, tenant, provider = args.settings, args.namespace, args.tenant, args.provider
        problem = specs.validate(settings)
        if problem is not None:
            raise ValueError(f"tenant {tenant!r} app: {problem}")
        after = list(args.depends_on)

        app_env: dict[str, str] = {}
        if settings.kind == specs.OPEN_WEBUI:
            app_env = specs.open_webui_config(args.config, settings, args.models)
            cm = specs.config_map(ns, tenant, settings, app_env)
            after.append(k8s.core.v1.ConfigMap(f"{name}-env", metadata=cm["metadata"], data=cm["data"],
                                               opts=child_opts(self, provider, depends_on=list(args.depends_on))))

        dep = specs.deployment(ns, tenant, settings, args.models, args.config, args.secret_name,
                               specs.checksum(args.config, app_env))
        # The HPA owns the replica count after the first rollout. ``protect`` guards the
        # Deployment: nothing here holds data, but removing it takes the tenant's app away.
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=dep["metadata"], spec=dep["spec"],
            opts=child_opts(self, provider, depends_on=after, ignore_changes=["spec.replicas"],
                            protect=args.protect))
        svc = specs.service(ns, tenant, settings)
        self.service = k8s.core.v1.Service(f"{name}-service", metadata=svc["metadata"], spec=svc["spec"],
                                           opts=child_opts(self, provider, depends_on=list(args.depends_on)))
        hpa = specs.autoscaler(ns, tenant, settings)
        k8s.autoscaling.v2.HorizontalPodAutoscaler(f"{name}-hpa", metadata=hpa["metadata"], spec=hpa["spec"],
                                                   opts=child_opts(self, provider, depends_on=[self.deployment]))
        pdb = specs.disruption_budget(ns, tenant, settings)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=pdb["metadata"], spec=pdb["spec"],
                                          opts=child_opts(self, provider, depends_on=list(args.depends_on)))
        route = specs.http_route(ns, tenant, settings, args.gateway)
        k8s.apiextensions.CustomResource(
            f"{name}-route", api_version=route["apiVersion"], kind=route["kind"],
            metadata=route["metadata"], spec=route["spec"],
            opts=child_opts(self, provider, depends_on=[self.service]))

        self.url = specs.public_url(settings)
        self.register_outputs({"url": self.url, "service": f"{specs.NAME}.{ns}.svc.cluster.local",
                               "image": specs.image(settings)})
