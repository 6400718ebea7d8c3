"""GkeSecretsKey: the Cloud KMS key GKE encrypts Kubernetes Secrets in etcd with.

Creates:
- a key ring in the cluster's region and a symmetric key rotated every 90 days (protected
  with the stack's ``protect``: losing it makes every Secret of the cluster unreadable);
- encrypter/decrypter on the key for the project's GKE service agent
  (``service-<project number>@container-engine-robot.iam.gserviceaccount.com``), which the
  cluster needs before it can be created with application-layer secrets encryption.

Cloud KMS never deletes key rings: destroying the stack leaves the ring (empty of usable key
versions) and its name taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.cluster.gke_specs import KEY_ROTATION, KMS_ENCRYPTER, gke_service_agent


@dataclass(frozen=True)
class GkeSecretsKeyArgs:
    provider: gcp.Provider
    project: str
    region: str
    key_ring_name: str
    protect: bool = False
    depends_on: tuple[pulumi.Resource, ...] = ()


class GkeSecretsKey(pulumi.ComponentResource):
    key: gcp.kms.CryptoKey
    grant: gcp.kms.CryptoKeyIAMMember

    def __init__(self, name: str, args: GkeSecretsKeyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:GkeSecretsKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        ring = gcp.kms.KeyRing(
            f"{name}-ring",
            name=args.key_ring_name,
            project=args.project,
            location=args.region,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                protect=args.protect, depends_on=list(args.depends_on))),
        )
        self.key = gcp.kms.CryptoKey(
            f"{name}-key",
            name="gke-secrets",
            key_ring=ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=KEY_ROTATION,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        project = gcp.organizations.get_project_output(project_id=args.project, opts=pulumi.InvokeOutputOptions(
            provider=args.provider, parent=self, depends_on=list(args.depends_on)))
        self.grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-gke-agent",
            crypto_key_id=self.key.id,
            role=KMS_ENCRYPTER,
            member=project.number.apply(gke_service_agent),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(args.depends_on))),
        )
        self.register_outputs({"key": self.key.id})
