"""Kubernetes helpers shared by components: resource options, StorageClasses from their
manifests, and objects without ``spec``."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as k8s_utilities


def child_opts(parent: pulumi.Resource, provider: k8s.Provider, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a Kubernetes resource: explicit provider, explicit parent."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, **kwargs)


def storage_class(resource_name: str, manifest: dict, opts: pulumi.ResourceOptions) -> k8s.storage.v1.StorageClass:
    """A StorageClass from the manifest a pure builder wrote (every field the builders set)."""
    return k8s.storage.v1.StorageClass(
        resource_name,
        metadata=manifest["metadata"],
        provisioner=manifest["provisioner"],
        parameters=manifest.get("parameters"),
        reclaim_policy=manifest.get("reclaimPolicy"),
        volume_binding_mode=manifest.get("volumeBindingMode"),
        allow_volume_expansion=manifest.get("allowVolumeExpansion"),
        mount_options=manifest.get("mountOptions"),
        opts=opts,
    )


class ClusterObject(pulumi.CustomResource):
    """A custom-resource object whose fields sit beside ``metadata`` instead of under ``spec``.

    ``apiextensions.CustomResource`` in the Python SDK only carries ``spec``; kinds such as
    VolumeSnapshotClass put ``driver`` and ``deletionPolicy`` at the top level. The Kubernetes
    provider accepts any object body under the ``kubernetes:<apiVersion>:<Kind>`` type token.
    """

    def __init__(self, resource_name: str, api_version: str, kind: str, metadata: dict,
                 fields: dict[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=k8s_utilities.get_version()))
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}
        super().__init__(f"kubernetes:{api_version}:{kind}", resource_name, props, opts)
