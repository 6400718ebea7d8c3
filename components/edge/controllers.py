"""EdgeCrds: the custom resource definitions the gateway and its routes need, cluster-wide.

Creates:
- Helm release ``gateway-crds-helm`` (Gateway API standard channel + Envoy Gateway's CRDs);
- Helm release ``ai-gateway-crds-helm`` (Envoy AI Gateway's CRDs);
- the Inference Extension's CRDs (InferencePool v1 and its alpha kinds) from its release
  manifests.

A component of its own because cert-manager, run with Gateway API support for HTTP-01
challenges, refuses to start until the Gateway API CRDs exist: the program creates this
first, hands it to cert-manager's release as a dependency and to ``EdgeGateway``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.cluster.info import ClusterInfo
from components.common.k8s import child_opts
from components.edge import controllers_specs as specs


@dataclass(frozen=True)
class EdgeCrdsArgs:
    cluster: ClusterInfo


class EdgeCrds(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeCrdsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:edge:Crds", name, None, opts)
        cluster = args.cluster
        # Uninstalling a CRD deletes every object of its kind, so these follow `protect`.
        self.gateway_api = k8s.helm.v3.Release(
            f"{name}-gateway",
            name="eg-crds",
            chart=specs.EG_CRDS_CHART,
            version=specs.EG_VERSION,
            namespace=specs.CRDS_RELEASE_NAMESPACE,
            values=specs.crds_values(),
            opts=child_opts(self, cluster.provider, protect=cluster.protect),
        )
        self.ai_gateway = k8s.helm.v3.Release(
            f"{name}-ai-gateway",
            name="aieg-crds",
            chart=specs.AI_CRDS_CHART,
            version=specs.AI_GATEWAY_VERSION,
            namespace=specs.CRDS_RELEASE_NAMESPACE,
            opts=child_opts(self, cluster.provider, protect=cluster.protect),
        )
        self.inference = k8s.yaml.v2.ConfigFile(
            f"{name}-inference",
            file=specs.INFERENCE_CRDS_URL,
            opts=child_opts(self, cluster.provider, protect=cluster.protect),
        )
        self.resources: tuple[pulumi.Resource, ...] = (self.gateway_api, self.ai_gateway, self.inference)
        self.register_outputs({"gatewayApiChannel": "standard", "envoyGateway": specs.EG_VERSION,
                               "aiGateway": specs.AI_GATEWAY_VERSION,
                               "inferenceExtension": specs.INFERENCE_EXTENSION_VERSION})
