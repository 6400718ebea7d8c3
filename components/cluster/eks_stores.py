"""EksArtifactStores: the platform's S3 bucket (backups, model sources) and ECR repository.

Creates:
- an S3 bucket (name prefixed with the cluster's, unique suffix from AWS; protected with the
  stack, never force-destroyed when protected) with versioning, default encryption (SSE-KMS
  with the platform key and S3 Bucket Keys, or SSE-S3 AES256, by setting), all public access
  blocked, object ownership enforced (ACLs off) and a policy refusing plain-HTTP requests;
- an ECR repository for the platform's images: immutable tags, scan on push, KMS encryption
  with the platform key, untagged images expiring after 14 days; protected with the stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, Optional

import pulumi
import pulumi_aws as aws

from components.cluster.eks_iam import child
from components.cluster.eks_specs import bucket_prefix, repository_name, tls_only_bucket_policy, untagged_image_expiry


@dataclass(frozen=True)
class EksArtifactStoresArgs:
    provider: aws.Provider
    cluster_name: str
    kms_key_arn: pulumi.Input[str]
    bucket_encryption: Literal["aws:kms", "AES256"] = "aws:kms"
    protect: bool = False


class EksArtifactStores(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    repository: aws.ecr.Repository

    def __init__(self, name: str, args: EksArtifactStoresArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:EksArtifactStores", name, None, opts)
        provider = args.provider
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=bucket_prefix(args.cluster_name),
            force_destroy=not args.protect,
            tags={"Name": f"{args.cluster_name}-data"},
            opts=child(self, provider, protect=args.protect),
        )
        bucket = self.bucket.id
        # Ownership first: with ACLs disabled, the public access block and policy apply cleanly.
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-bucket-ownership",
            bucket=bucket,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child(self, provider),
        )
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-bucket-public-access",
            bucket=bucket,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child(self, provider, depends_on=[ownership]),
        )
        aws.s3.BucketVersioning(
            f"{name}-bucket-versioning",
            bucket=bucket,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child(self, provider),
        )
        kms = args.bucket_encryption == "aws:kms"
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=bucket,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm=args.bucket_encryption,
                    kms_master_key_id=args.kms_key_arn if kms else None,
                ),
                # Bucket Keys cut KMS requests (and their cost) by orders of magnitude.
                bucket_key_enabled=True if kms else None,
            )],
            opts=child(self, provider),
        )
        aws.s3.BucketPolicy(
            f"{name}-bucket-tls-only",
            bucket=bucket,
            policy=self.bucket.arn.apply(lambda arn: json.dumps(tls_only_bucket_policy(arn))),
            opts=child(self, provider, depends_on=[public_block]),
        )
        self.key_arn: Optional[pulumi.Input[str]] = args.kms_key_arn if kms else None

        self.repository = aws.ecr.Repository(
            f"{name}-registry",
            name=repository_name(args.cluster_name),
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.kms_key_arn)],
            force_delete=not args.protect,
            opts=child(self, provider, protect=args.protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-registry-lifecycle",
            repository=self.repository.name,
            policy=json.dumps(untagged_image_expiry()),
            opts=child(self, provider),
        )
        self.register_outputs({"bucket": self.bucket.bucket, "repositoryUrl": self.repository.repository_url})
