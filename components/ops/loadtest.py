"""LoadTest: inference-perf against the internal gateway, for every generate model, with a tenant's key.

Creates, in the monitoring namespace:
- the NetworkPolicy ``allow-load-test-egress``: the load generator reaches the internal
  Gateway's Envoy pods on their listener port, DNS, and HTTPS for the tokenizers (the gateway's
  side must admit the monitoring namespace; see the edge layer's proxy policies);
- the Secret ``load-test-credentials``: the tenant's gateway key (a Secret of the gateway
  namespace can't be mounted here) and, when given, the Hugging Face token;
- the immutable ConfigMap ``load-test-<hash>``: one inference-perf config per model and the
  launcher that runs them in turn, masking the key in logs and reports;
- the PersistentVolumeClaim ``load-test-reports`` (RWO) where every run keeps its report, in
  ``<run start>/<model>/``;
- without a schedule, the Job ``load-test-<hash>``: run once, and again whenever what it measures
  changes (rates, stage length, models, image, tenant), which renames it; ``pulumi up`` doesn't
  wait for it. With a schedule, the CronJob ``load-test`` (one run at a time).
The models run one after another in one pod: each is measured alone, the rates are what the
tenant's limits see, and the single-node report volume is mounted by one pod only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts, opaque_secret
from components.models.catalog_specs import avoid_gpu_nodes
from components.ops import loadtest_specs as specs
from components.ops.loadtest_specs import LoadTestModel, LoadTestSettings

__all__ = ["LoadTest", "LoadTestArgs", "LoadTestModel", "LoadTestSettings"]


@dataclass(frozen=True)
class LoadTestArgs:
    cluster: ClusterInfo
    namespace: str             # monitoring namespace
    models: tuple[LoadTestModel, ...]
    base_url: str              # internal gateway OpenAI base URL (".../v1")
    api_key: pulumi.Input[str]  # secret: the tenant's key
    tenant: str
    # Where the internal Gateway's Envoy pods run (Envoy Gateway's controller namespace).
    gateway_namespace: str
    gateway_proxy_selector: Mapping[str, str]  # pod labels of the internal gateway's proxies
    gateway_port: int          # the proxy container port the internal listener lands on
    hf_token: Optional[pulumi.Input[str]] = None   # secret, for gated tokenizers
    settings: LoadTestSettings = field(default_factory=LoadTestSettings)


class LoadTest(pulumi.ComponentResource):
    def __init__(self, name: str, args: LoadTestArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:ops:LoadTest", name, None, opts)
        ns, settings, provider = args.namespace, args.settings, args.cluster.provider
        specs.check(args.models, args.base_url, settings)

        policies = [
            k8s.networking.v1.NetworkPolicy(f"{name}-{p['metadata']['name']}", metadata=p["metadata"], spec=p["spec"],
                                            opts=child_opts(self, provider))
            for p in specs.network_policies(ns, args.gateway_namespace, args.gateway_proxy_selector, args.gateway_port)
        ]
        secret = specs.credentials_secret(ns, args.api_key, args.hf_token)
        credentials = opaque_secret(f"{name}-credentials", secret["metadata"], secret["stringData"],
                                    child_opts(self, provider))
        self.run_name = specs.run_name(args.models, args.base_url, settings, args.tenant)
        cm = specs.config_map(ns, self.run_name, args.models, args.base_url, settings)
        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata=cm["metadata"], data=cm["data"],
                                       immutable=cm["immutable"], opts=child_opts(self, provider))
        claim = specs.report_claim(ns, args.cluster.storage.rwo, settings.report_storage_gib)
        reports = k8s.core.v1.PersistentVolumeClaim(f"{name}-reports", metadata=claim["metadata"], spec=claim["spec"],
                                                    opts=child_opts(self, provider, protect=args.cluster.protect))

        spec = specs.job_spec(args.models, settings, self.run_name, args.hf_token is not None,
                              avoid_gpu_nodes(args.cluster.gpu_pools))
        after = [*policies, credentials, config, reports]
        # What the caller made this component wait for (the gateway's key policy) holds back the
        # run itself: Pulumi does not pass a component's depends_on on to its children.
        waits = pulumi.ResourceOptions(depends_on=opts.depends_on) if opts is not None and opts.depends_on else None
        if settings.schedule is None:
            manifest = specs.job(ns, self.run_name, args.tenant, spec)
            # The pod template is immutable and the name follows the config: the previous run
            # stops before the next one starts.
            self.workload: pulumi.CustomResource = k8s.batch.v1.Job(
                f"{name}-job", metadata=manifest["metadata"], spec=manifest["spec"],
                opts=pulumi.ResourceOptions.merge(
                    child_opts(self, provider, depends_on=after, delete_before_replace=True), waits))
        else:
            manifest = specs.cronjob(ns, args.tenant, settings.schedule, spec)
            self.workload = k8s.batch.v1.CronJob(
                f"{name}-cronjob", metadata=manifest["metadata"], spec=manifest["spec"],
                opts=pulumi.ResourceOptions.merge(child_opts(self, provider, depends_on=after), waits))
        self.workload_name = manifest["metadata"]["name"]
        self.report_claim = specs.REPORT_CLAIM
        self.register_outputs({
            "namespace": ns,
            "kind": manifest["kind"],
            "name": self.workload_name,
            "schedule": settings.schedule,
            "tenant": args.tenant,
            "models": [m.name for m in args.models],
            "reportClaim": specs.REPORT_CLAIM,
        })
