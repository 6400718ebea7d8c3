"""Pure builders for storage: the NFS CSI chart values, the RWX StorageClass, the snapshot class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from components.common.labels import standard_labels

NFS_CHART = "csi-driver-nfs"
NFS_CHART_VERSION = "4.13.4"
NFS_REPOSITORY = "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts"
NFS_DRIVER = "nfs.csi.k8s.io"
NFS_NAMESPACE = "kube-system"

Snapshots = Literal["none", "install", "existing"]


@dataclass(frozen=True)
class NfsSettings:
    server: str
    share: str
    class_name: str
    sub_dir: Optional[str] = None
    mount_options: tuple[str, ...] = ("nfsvers=4.1",)


def nfs_chart_values(snapshots: Snapshots, controller_replicas: int) -> dict:
    # The chart's own StorageClass stays off: ours is a Pulumi resource, reviewed and validated.
    return {
        "controller": {"replicas": controller_replicas},
        "externalSnapshotter": {
            "enabled": snapshots == "install",
            "customResourceDefinitions": {"enabled": snapshots == "install"},
        },
        "storageClass": {"create": False},
    }


def nfs_storage_class(nfs: NfsSettings, protect: bool) -> dict:
    parameters = {"server": nfs.server, "share": nfs.share}
    if nfs.sub_dir:
        parameters["subDir"] = nfs.sub_dir
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": nfs.class_name, "labels": standard_labels(nfs.class_name, "storage", "storage")},
        "provisioner": NFS_DRIVER,
        "parameters": parameters,
        # Retain keeps the data on the share when a claim is deleted in a protected stack.
        "reclaimPolicy": "Retain" if protect else "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True,
        "mountOptions": list(nfs.mount_options),
    }


def nfs_snapshot_class(class_name: str, protect: bool) -> dict:
    name = f"{class_name}-snapshots"
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotClass",
        # Velero's CSI snapshots use the class labelled so for the driver.
        "metadata": {"name": name, "labels": {**standard_labels(name, "storage", "storage"),
                                              "velero.io/csi-volumesnapshot-class": "true"}},
        "driver": NFS_DRIVER,
        "deletionPolicy": "Retain" if protect else "Delete",
    }
