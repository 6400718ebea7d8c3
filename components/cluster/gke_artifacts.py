"""GkeArtifacts: where the platform keeps images and objects on Google Cloud.

Creates:
- an Artifact Registry Docker repository in the cluster's region (model-server and app
  images; nodes pull from it with their own service account);
- the platform's Cloud Storage bucket (backups, model sources): regional, uniform
  bucket-level access, public access prevention enforced, object versioning with old
  versions expiring after 30 days.
Both honour ``protect``; the bucket can only be destroyed with its objects when it is off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_gcp as gcp

NONCURRENT_DAYS = 30


@dataclass(frozen=True)
class GkeArtifactsArgs:
    provider: gcp.Provider
    project: str
    region: str
    repository_id: str
    bucket_name: str
    protect: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    depends_on: tuple[pulumi.Resource, ...] = ()


class GkeArtifacts(pulumi.ComponentResource):
    repository: gcp.artifactregistry.Repository
    bucket: gcp.storage.Bucket

    def __init__(self, name: str, args: GkeArtifactsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:GkeArtifacts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, protect=args.protect,
                                       depends_on=list(args.depends_on))
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-registry",
            project=args.project,
            location=args.region,
            repository_id=args.repository_id,
            format="DOCKER",
            description="Images of the generative-AI platform",
            labels=dict(args.labels),
            opts=child,
        )
        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=args.bucket_name,
            project=args.project,
            # In the cluster's region: model downloads and backups stay in-region.
            location=args.region.upper(),
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    days_since_noncurrent_time=NONCURRENT_DAYS, with_state="ARCHIVED"),
            )],
            # Only an unprotected (throw-away) stack may delete a bucket that still holds objects.
            force_destroy=not args.protect,
            labels=dict(args.labels),
            opts=child,
        )
        self.registry_url = self.repository.registry_uri
        self.register_outputs({"registry": self.registry_url, "bucket": self.bucket.name})
