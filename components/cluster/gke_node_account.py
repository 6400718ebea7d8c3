"""GkeNodeAccount: the Google service account GKE nodes run as.

Creates:
- the node service account (instead of the Compute Engine default account and its broad
  Editor grant), with only the role Google defines for GKE nodes
  (``roles/container.defaultNodeServiceAccount``: logs, metrics, autoscaler metrics);
- reader on the platform's Artifact Registry repository, so nodes pull its images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.cluster.gke_specs import NODE_ROLES, account_id


@dataclass(frozen=True)
class GkeNodeAccountArgs:
    provider: gcp.Provider
    project: str
    cluster_name: str
    repository: gcp.artifactregistry.Repository
    depends_on: tuple[pulumi.Resource, ...] = ()


class GkeNodeAccount(pulumi.ComponentResource):
    account: gcp.serviceaccount.Account

    def __init__(self, name: str, args: GkeNodeAccountArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("genai:cluster:GkeNodeAccount", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.account = gcp.serviceaccount.Account(
            f"{name}-sa",
            project=args.project,
            account_id=account_id(args.cluster_name, "nodes"),
            display_name=f"GKE nodes of {args.cluster_name}",
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(args.depends_on))),
        )
        self.grants = [
            gcp.projects.IAMMember(
                f"{name}-{role.rsplit('/', 1)[-1].replace('.', '-').lower()}",
                project=args.project,
                role=role,
                member=self.account.member,
                opts=child,
            )
            for role in NODE_ROLES
        ]
        self.grants.append(gcp.artifactregistry.RepositoryIamMember(
            f"{name}-registry-reader",
            project=args.project,
            location=args.repository.location,
            repository=args.repository.name,
            role="roles/artifactregistry.reader",
            member=self.account.member,
            opts=child,
        ))
        self.register_outputs({"email": self.account.email})
