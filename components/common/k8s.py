"""Kubernetes helpers shared by components: resource options and objects without ``spec``."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes import _utilities as k8s_utilities


def child_opts(parent: pulumi.Resource, provider: k8s.Provider, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a Kubernetes resource: explicit provider, explicit parent."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, **kwargs)


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
