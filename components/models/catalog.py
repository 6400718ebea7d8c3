"""ModelCatalog: the cluster's shared volume of model weights, filled once.

Creates, in the models namespace:
- the ``model-catalog`` claim on the RWX class (RWO when the cluster has none: the single-node
  case), sized from the weights it will hold × headroom, protected and retained when the stack
  protects stateful resources;
- the ``model-downloader`` ServiceAccount (annotated for the cloud's workload identity when the
  cluster layer bound one), the Hub token Secret when a token is given, and the ConfigMap
  carrying ``download.sh``;
- one download Job per model on CPU nodes (see ``catalog_specs.download_job``);
- the ``model-catalog-index`` ConfigMap: model, source, revision, path and size of each entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts, opaque_secret
from components.models import catalog_specs as specs
from components.models.catalog_specs import CatalogEntry, CatalogSettings, ModelVolume


@dataclass(frozen=True)
class ModelCatalogArgs:
    cluster: ClusterInfo
    namespace: str
    entries: tuple[CatalogEntry, ...]
    headroom: float = 1.3
    settings: CatalogSettings = field(default_factory=CatalogSettings)
    hf_token: Optional[pulumi.Input[str]] = None
    depends_on: tuple[pulumi.Resource, ...] = ()


class ModelCatalog(pulumi.ComponentResource):
    claim: Optional[k8s.core.v1.PersistentVolumeClaim]
    jobs: dict[str, k8s.batch.v1.Job]
    volumes: dict[str, ModelVolume]

    def __init__(self, name: str, args: ModelCatalogArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:models:ModelCatalog", name, None, opts)
        cluster, ns, settings = args.cluster, args.namespace, args.settings
        provider = cluster.provider
        after = list(args.depends_on)
        self.size_gib = specs.catalog_size_gib(args.entries, args.headroom, settings.min_size_gib)
        self.volumes = {e.model: specs.server_volume(e, settings) for e in args.entries}
        self.claim = None
        deps: list[pulumi.Resource] = []
        if any(e.needs_download for e in args.entries):
            pvc = specs.catalog_claim(ns, name, cluster.storage.rwx or cluster.storage.rwo,
                                      cluster.storage.rwx is not None, self.size_gib, settings.backup_excluded)
            # The weights take hours to fetch again: a protected stack neither deletes the claim
            # nor lets Pulumi's delete reach the cluster.
            self.claim = k8s.core.v1.PersistentVolumeClaim(
                f"{name}-claim", metadata=pvc["metadata"], spec=pvc["spec"],
                opts=child_opts(self, provider, depends_on=after, protect=cluster.protect,
                                retain_on_delete=cluster.protect),
            )
            deps.append(self.claim)

        identity = cluster.identities.get(specs.IDENTITY_NAME)
        sa = specs.service_account(ns, name, identity)
        deps.append(k8s.core.v1.ServiceAccount(
            f"{name}-downloader", metadata=sa["metadata"],
            automount_service_account_token=sa["automountServiceAccountToken"],
            opts=child_opts(self, provider, depends_on=after),
        ))
        script = specs.script_configmap(ns, name)
        deps.append(k8s.core.v1.ConfigMap(f"{name}-script", metadata=script["metadata"], data=script["data"],
                                          opts=child_opts(self, provider, depends_on=after)))
        if args.hf_token is not None:
            deps.append(opaque_secret(f"{name}-hf-token", specs.hf_token_secret(ns, name), {"token": args.hf_token},
                                child_opts(self, provider, depends_on=after)))

        self.jobs = {}
        for e in args.entries:
            job = specs.download_job(e, ns, name, settings, pools=cluster.gpu_pools, identity=identity,
                                     store=cluster.object_store, hf_token=args.hf_token is not None)
            self.jobs[e.model] = k8s.batch.v1.Job(
                f"{name}-download-{e.model}", metadata=job["metadata"], spec=job["spec"],
                opts=child_opts(self, provider, depends_on=after + deps),
            )

        index = specs.index_configmap(ns, name, args.entries)
        k8s.core.v1.ConfigMap(f"{name}-index", metadata=index["metadata"], data=index["data"],
                              opts=child_opts(self, provider, depends_on=after))
        self.register_outputs({
            "claim": specs.CATALOG_CLAIM if self.claim is not None else None,
            "sizeGiB": self.size_gib,
            "models": sorted(e.model for e in args.entries),
        })
