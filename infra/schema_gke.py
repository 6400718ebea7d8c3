"""Stack settings of the gke cluster target (`cluster.gke`).

Field-level rules only (formats, enums); rules that relate fields (zones and region, location
type and zone, overlapping CIDRs, the control-plane range of private clusters, names derived
from other settings, pool zones and initial sizes) live in ``infra/checks_gke.py`` so every
problem is reported at once. No cloud SDK is imported here.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator

from infra.schema_base import Cidr, Section, matches

_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")
_ZONE = re.compile(r"^[a-z]+-[a-z]+\d+-[a-z]$")
# GKE cluster and node pool names: a letter first, at most 40 characters.
_GKE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
_REPOSITORY = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")






def _bucket(value: str) -> str:
    if not _BUCKET.match(value) or value.startswith("goog") or "google" in value:
        raise ValueError("must be a Cloud Storage bucket name: 3-63 lowercase letters, digits, '-', '_' or '.', "
                         f"starting and ending with a letter or digit, not starting with 'goog'; got {value!r}")
    return value


ProjectId = Annotated[str, AfterValidator(matches(
    _PROJECT, "a Google Cloud project id: 6-30 lowercase letters, digits or '-', starting with a letter "
    "and not ending with '-'"))]
Region = Annotated[str, AfterValidator(matches(_REGION, "a Google Cloud region such as 'us-central1'"))]
Zone = Annotated[str, AfterValidator(matches(_ZONE, "a Google Cloud zone such as 'us-central1-a'"))]
GkeName = Annotated[str, AfterValidator(matches(
    _GKE_NAME, "1-40 lowercase letters, digits or '-', starting with a letter and ending with a letter or digit"))]
RepositoryId = Annotated[str, AfterValidator(matches(
    _REPOSITORY, "an Artifact Registry repository id: lowercase letters, digits or '-', starting with a letter"))]
BucketName = Annotated[str, AfterValidator(_bucket)]

ReleaseChannel = Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"]
GpuDriverVersion = Literal["DEFAULT", "LATEST"]
FilestoreTier = Literal["standard", "premium", "zonal", "regional", "enterprise"]


class AuthorizedNetwork(Section):
    cidr_block: Cidr
    display_name: str = ""


class GkeNetworkConfig(Section):
    """The VPC created for the cluster: one subnet with secondary ranges for pods and services."""

    subnet_cidr: Cidr = "10.0.0.0/20"
    pods_cidr: Cidr = "10.4.0.0/14"
    services_cidr: Cidr = "10.8.0.0/20"
    # The control plane's range; only used with private nodes, and GKE requires a /28.
    master_cidr: Cidr = "172.16.0.0/28"
    private_nodes: bool = True
    private_endpoint: bool = False
    master_authorized_networks: list[AuthorizedNetwork] = []


class GkeConfig(Section):
    # Required; empty defaults let a misplaced `gke: {}` be reported as such (the checks
    # report a missing value with the other cross-field problems).
    project: ProjectId = ""
    region: Region = ""
    name: GkeName = ""
    location_type: Literal["regional", "zonal"] = "regional"
    zone: Optional[Zone] = None
    zones: list[Zone] = []
    release_channel: ReleaseChannel = "REGULAR"
    network: GkeNetworkConfig = GkeNetworkConfig()
    gpu_driver_version: GpuDriverVersion = "DEFAULT"
    enable_apis: bool = True
    secrets_encryption: bool = True
    filestore_tier: FilestoreTier = "standard"
    bucket_name: Optional[BucketName] = None
    registry_name: Optional[RepositoryId] = None
