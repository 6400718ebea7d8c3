"""Storage: the storage classes later layers use (RWO for databases, RWX for the model catalog).

Creates, by setting:
- ``nfs``: the NFS CSI driver (Helm chart ``csi-driver-nfs``, pinned) in kube-system, a
  StorageClass pointing at the configured server and share and, when snapshots are on, a
  VolumeSnapshotClass (with the chart's snapshot controller and CRDs when ``install``);
- ``existing``: nothing; the named class (Portworx SharedV4, CephFS, Longhorn, ...) is adopted;
- ``none``: no RWX class (single-node laptops fall back to RWO).
The RWO class is always adopted by name from the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import ClusterObject, child_opts, storage_class
from components.platform.storage_specs import (
    NFS_CHART,
    NFS_CHART_VERSION,
    NFS_NAMESPACE,
    NFS_REPOSITORY,
    NfsSettings,
    Snapshots,
    nfs_chart_values,
    nfs_snapshot_class,
    nfs_storage_class,
)


@dataclass(frozen=True)
class StorageArgs:
    cluster: ClusterInfo
    nfs: Optional[NfsSettings] = None
    snapshots: Snapshots = "none"
    controller_replicas: int = 1


class Storage(pulumi.ComponentResource):
    def __init__(self, name: str, args: StorageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:platform:Storage", name, None, opts)
        provider, protect = args.cluster.provider, args.cluster.protect
        self.rwo_class = args.cluster.storage.rwo
        self.rwx_class = args.cluster.storage.rwx
        if args.nfs is not None:
            driver = k8s.helm.v3.Release(
                f"{name}-nfs-csi",
                name="csi-driver-nfs",
                chart=NFS_CHART,
                version=NFS_CHART_VERSION,
                repository_opts={"repo": NFS_REPOSITORY},
                namespace=NFS_NAMESPACE,
                values=nfs_chart_values(args.snapshots, args.controller_replicas),
                opts=child_opts(self, provider),
            )
            sc = nfs_storage_class(args.nfs, protect)
            storage_class(f"{name}-rwx", sc, child_opts(self, provider, depends_on=[driver]))
            if args.snapshots != "none":
                vsc = nfs_snapshot_class(args.nfs.class_name, protect)
                ClusterObject(
                    f"{name}-rwx-snapshots",
                    api_version=vsc["apiVersion"],
                    kind=vsc["kind"],
                    metadata=vsc["metadata"],
                    fields={"driver": vsc["driver"], "deletionPolicy": vsc["deletionPolicy"]},
                    # With `install`, the chart brings the snapshot CRDs this object needs.
                    opts=child_opts(self, provider, depends_on=[driver]),
                )
        self.register_outputs({"rwoClass": self.rwo_class, "rwxClass": self.rwx_class})
