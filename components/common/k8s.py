"""Kubernetes helpers shared by components: resource options, StorageClasses from their
manifests, objects without ``spec``, Secrets whose values stay secret, and topology spread."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as k8s_utilities

ZONE_KEY = "topology.kubernetes.io/zone"
HOSTNAME_KEY = "kubernetes.io/hostname"


def topology_spread(selector: Mapping[str, str], zone_spread: bool) -> list[dict]:
    """Across nodes always (soft: a small cluster still schedules), across zones when asked (hard)."""
    out = [{"maxSkew": 1, "topologyKey": HOSTNAME_KEY, "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)}}]
    if zone_spread:
        out.append({"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": dict(selector)}})
    return out


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


def opaque_secret(resource_name: str, metadata: dict, string_data: dict, opts: pulumi.ResourceOptions,
                  secret_type: str = "Opaque") -> pulumi.CustomResource:
    """A Secret whose values, not its whole ``stringData``, are marked secret.

    ``k8s.core.v1.Secret`` wraps the entire map as one secret, which hides the object's shape
    from the offline schema check; registering the same type with secret values keeps
    passwords and tokens out of state and plans while the keys stay reviewable.
    """
    opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
        version=k8s_utilities.get_version(), additional_secret_outputs=["data", "stringData"]))
    props = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": secret_type,
             "stringData": {k: pulumi.Output.secret(v) for k, v in string_data.items()}}
    return pulumi.CustomResource("kubernetes:core/v1:Secret", resource_name, props, opts)
