"""AksStorageClasses: the storage classes the platform's layers use on AKS.

Creates (through the cluster's Kubernetes provider, with AKS's built-in CSI drivers):
- ``genai-disk-premium`` (RWO): Premium SSD managed disks (disk.csi.azure.com), bound when the
  pod is scheduled so the disk lands in the pod's zone;
- ``genai-files-nfs`` (RWX): Azure Files premium NFS shares (file.csi.azure.com) for the
  model catalog, mounted with Azure Files' recommended NFS options.
Neither is marked default: AKS keeps ``default`` (managed-csi) as the cluster default, and
the platform names its classes explicitly. Volumes are retained when ``protect`` is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.aks_specs import StorageClassSpec, storage_classes
from components.common.k8s import child_opts, storage_class


@dataclass(frozen=True)
class AksStorageClassesArgs:
    provider: k8s.Provider
    protect: bool


class AksStorageClasses(pulumi.ComponentResource):
    rwo: str
    rwx: str

    def __init__(self, name: str, args: AksStorageClassesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:AksStorageClasses", name, None, opts)
        rwo, rwx = storage_classes(args.protect)
        for key, spec in (("rwo", rwo), ("rwx", rwx)):
            self._create(f"{name}-{key}", spec, args.provider)
        self.rwo, self.rwx = rwo.name, rwx.name
        self.register_outputs({"rwo": self.rwo, "rwx": self.rwx})

    def _create(self, name: str, spec: StorageClassSpec, provider: k8s.Provider) -> k8s.storage.v1.StorageClass:
        return storage_class(name, spec.manifest(), child_opts(self, provider))
