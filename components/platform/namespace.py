"""PlatformNamespace: a namespace the platform owns, with its baseline security.

Creates:
- the Namespace, with the standard labels and Pod Security Admission labels (``restricted``
  unless the caller states a reason for less);
- NetworkPolicies: default deny of all ingress and egress, DNS egress to kube-dns, and any
  extra allowances the caller passes (built by ``network_policies``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import child_opts
from components.common.labels import standard_labels
from components.platform import network_policies

PodSecurity = Literal["restricted", "baseline", "privileged"]


@dataclass(frozen=True)
class NamespaceArgs:
    provider: k8s.Provider
    namespace: str
    component: str
    kubernetes_version: str
    pod_security: PodSecurity = "restricted"
    extra_policies: tuple[dict, ...] = ()
    protect: bool = False
    # Labels other layers select the namespace by (tenant, model clients, gateway routes).
    extra_labels: tuple[tuple[str, str], ...] = ()


def namespace_labels(args: NamespaceArgs) -> dict[str, str]:
    version = f"v{args.kubernetes_version}"
    return {
        **standard_labels(args.namespace, args.namespace, args.component),
        "pod-security.kubernetes.io/enforce": args.pod_security,
        "pod-security.kubernetes.io/enforce-version": version,
        # Audit and warn at restricted everywhere so drift towards privilege stays visible.
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": version,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": version,
        **dict(args.extra_labels),
    }


class PlatformNamespace(pulumi.ComponentResource):
    def __init__(self, name: str, args: NamespaceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:platform:Namespace", name, None, opts)
        labels = namespace_labels(args)
        self.name = args.namespace
        # Deleting a namespace deletes every volume claim in it, so it follows `protect`.
        self.resource = k8s.core.v1.Namespace(
            name,
            metadata={"name": args.namespace, "labels": labels},
            opts=child_opts(self, args.provider, protect=args.protect),
        )
        policy_labels = standard_labels("network-policy", args.namespace, args.component)
        policies = [*network_policies.baseline(args.namespace, policy_labels), *args.extra_policies]
        for policy in policies:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy['metadata']['name']}",
                metadata=policy["metadata"],
                spec=policy["spec"],
                opts=child_opts(self, args.provider, depends_on=[self.resource]),
            )
        self.register_outputs({"name": args.namespace})
