"""GkeStorageClasses: the platform's storage classes on GKE.

Creates:
- ``genai-rwo``: pd-balanced persistent disks through GKE's PD CSI driver, the cluster's
  default class, bound where the pod lands, expandable;
- ``genai-rwx``: Filestore shares through GKE's Filestore CSI driver on the cluster's VPC
  (the model catalog's ReadWriteMany volume).

Both keep their volumes when ``protect`` is on. The names are the platform's own, beside the
classes GKE installs and reconciles itself (``standard-rwo``, ``premium-rwo``,
``standard-rwx``...), so neither side overwrites the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.gke_specs import rwo_storage_class, rwx_storage_class
from components.common.k8s import child_opts, storage_class


@dataclass(frozen=True)
class GkeStorageClassesArgs:
    provider: k8s.Provider
    network_name: str
    filestore_tier: str
    protect: bool = False


class GkeStorageClasses(pulumi.ComponentResource):
    def __init__(self, name: str, args: GkeStorageClassesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:GkeStorageClasses", name, None, opts)
        specs = {"rwo": rwo_storage_class(args.protect),
                 "rwx": rwx_storage_class(args.filestore_tier, args.network_name, args.protect)}
        for key, sc in specs.items():
            storage_class(f"{name}-{key}", sc, child_opts(self, args.provider))
        self.rwo = specs["rwo"]["metadata"]["name"]
        self.rwx = specs["rwx"]["metadata"]["name"]
        self.register_outputs({"rwo": self.rwo, "rwx": self.rwx})
