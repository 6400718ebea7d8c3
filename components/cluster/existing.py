"""ExistingCluster: adopts a cluster someone else runs (on-prem, kind, k3d, minikube).

Creates:
- the explicit Kubernetes provider every Kubernetes resource of the stack uses, from a
  kubeconfig given as secret content, as a path, or (neither) the ambient kubeconfig and
  its current context.

Exposes ``info`` (ClusterInfo) with the declared GPU pools and storage class names; nothing
about the cluster itself is created or changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo, GpuPool, ObjectStore, StorageClasses


@dataclass(frozen=True)
class ExistingClusterArgs:
    kubernetes_version: str
    gpu_pools: tuple[GpuPool, ...]
    storage: StorageClasses
    kubeconfig: Optional[pulumi.Input[str]] = None
    kubeconfig_path: Optional[str] = None
    context: Optional[str] = None
    protect: bool = False
    zones: tuple[str, ...] = ()
    # An S3-compatible bucket (with static keys) for backups; None: backups have nowhere to go.
    object_store: Optional[ObjectStore] = None


class ExistingCluster(pulumi.ComponentResource):
    info: ClusterInfo

    def __init__(self, name: str, args: ExistingClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:ExistingCluster", name, None, opts)
        kubeconfig = args.kubeconfig if args.kubeconfig is not None else args.kubeconfig_path
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            context=args.context,
            # Server-side apply lets co-owned objects (e.g. labels on shared namespaces) merge
            # instead of fighting over whole objects.
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.info = ClusterInfo(
            kind="existing",
            name=name,
            provider=self.provider,
            kubernetes_version=args.kubernetes_version,
            gpu_pools=args.gpu_pools,
            storage=args.storage,
            protect=args.protect,
            zones=args.zones,
            object_store=args.object_store,
        )
        self.register_outputs({
            "kind": "existing",
            "kubernetesVersion": args.kubernetes_version,
            "gpuPools": [p.name for p in args.gpu_pools],
        })
