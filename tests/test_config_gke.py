"""Bad `cluster.gke` settings (and GPU pools as GKE sees them) are clear errors before anything exists.

Each case runs the real program on a GKE stack file with one top-level key replaced, and
expects one problem naming the key path and saying what is wrong.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_config_errors import assert_config_error

NS = "genai-platform"
STACKS = Path(__file__).resolve().parents[1] / "stacks"


def _config(stack: str) -> dict:
    return yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())["config"]


STAGING, PROD = _config("staging"), _config("prod-gcp")


def gke(stack: dict = STAGING, drop: tuple[str, ...] = (), network: dict | None = None, **changes: Any) -> dict:
    """The stack's `cluster` value with `cluster.gke` changed."""
    cluster = copy.deepcopy(stack[f"{NS}:cluster"])
    for key in drop:
        cluster["gke"].pop(key, None)
    cluster["gke"].update(changes)
    if network is not None:
        cluster["gke"].setdefault("network", {}).update(network)
    return {"cluster": cluster}


def system(stack: dict = STAGING, **changes: Any) -> dict:
    cluster = copy.deepcopy(stack[f"{NS}:cluster"])
    cluster["systemPool"].update(changes)
    return {"cluster": cluster}


def pools(stack: dict = PROD, index: int = 0, **changes: Any) -> dict:
    out = copy.deepcopy(stack[f"{NS}:gpuPools"])
    out[index].update(changes)
    return {"gpuPools": out}


# (id, stack, overrides, key path, message parts)
CASES = [
    ("project-id-format", "staging", gke(project="Acme_Staging"),
     "cluster.gke.project", ["must be a Google Cloud project id", "'Acme_Staging'"]),
    ("project-missing", "staging", gke(drop=("project",)),
     "cluster.gke.project", ["required: the Google Cloud project id"]),
    ("region-missing", "staging", gke(drop=("region",)),
     "cluster.gke.region", ["required: the region of the cluster"]),
    ("region-not-a-region", "staging", gke(region="uscentral1"),
     "cluster.gke.region", ["must be a Google Cloud region", "'uscentral1'"]),
    ("zone-outside-region", "staging", gke(zone="us-east1-b"),
     "cluster.gke.zone", ["'us-east1-b' is not in region 'us-central1'", "'us-central1-'"]),
    ("zonal-without-zone", "staging", gke(drop=("zone",)),
     "cluster.gke.zone", ["required when locationType is 'zonal'"]),
    ("regional-with-zone", "prod-gcp", gke(PROD, zone="us-central1-a"),
     "cluster.gke.zone", ["only applies when locationType is 'zonal'"]),
    ("regional-without-zones", "prod-gcp", gke(PROD, drop=("zones",)),
     "cluster.gke.zones", ["required for a regional cluster", "only in some zones"]),
    ("node-zone-outside-region", "prod-gcp", gke(PROD, zones=["us-central1-a", "europe-west4-b", "us-central1-c"]),
     "cluster.gke.zones[1]", ["'europe-west4-b' is not in region 'us-central1'"]),
    ("pods-overlap-subnet", "prod-gcp", gke(PROD, network={"podsCidr": "10.0.0.0/14"}),
     "cluster.gke.network.podsCidr", ["10.0.0.0/14 overlaps network.subnetCidr 10.0.0.0/20"]),
    ("services-overlap-pods", "prod-gcp", gke(PROD, network={"servicesCidr": "10.5.0.0/20"}),
     "cluster.gke.network.servicesCidr", ["overlaps network.podsCidr 10.4.0.0/14"]),
    ("master-overlaps-subnet", "prod-gcp", gke(PROD, network={"masterCidr": "10.0.15.240/28"}),
     "cluster.gke.network.masterCidr", ["overlaps network.subnetCidr"]),
    ("master-not-a-28", "prod-gcp", gke(PROD, network={"masterCidr": "172.16.0.0/24"}),
     "cluster.gke.network.masterCidr", ["must be a /28", "private nodes"]),
    ("cidr-with-host-bits", "prod-gcp", gke(PROD, network={"subnetCidr": "10.0.0.1/20"}),
     "cluster.gke.network.subnetCidr", ["must be an IPv4 CIDR block", "'10.0.0.1/20'"]),
    ("private-endpoint-public-nodes", "staging", gke(network={"privateEndpoint": True}),
     "cluster.gke.network.privateEndpoint", ["needs network.privateNodes: true"]),
    ("unknown-release-channel", "staging", gke(releaseChannel="BETA"),
     "cluster.gke.releaseChannel", ["must be one of", "'STABLE'", "got 'BETA'"]),
    ("cluster-name-too-long", "staging", gke(name="genai-staging-cluster-for-the-research-team"),
     "cluster.gke.name", ["1-40 lowercase letters"]),
    ("default-bucket-name-too-long", "staging",
     gke(project="acme-genai-staging-research", name="genai-staging-cluster-for-research-team1"),
     "cluster.gke.bucketName", ["required here", "Cloud Storage allows 63"]),
    ("gpu-machine-as-system-pool", "staging", system(instanceType="g2-standard-8"),
     "cluster.systemPool.instanceType", ["g2-standard-8 is a GPU machine type"]),
    ("pool-zone-not-a-cluster-zone", "prod-gcp", pools(zones=["us-central1-f"]),
     "gpuPools[0].zones[0]", ["'us-central1-f' is not a node zone of the cluster", "cluster.gke.zones"]),
    ("initial-nodes-above-max", "prod-gcp", pools(index=1, desiredSize=1, maxSize=1),
     "gpuPools[1].desiredSize", ["same number of nodes in every zone", "starts 2 nodes, above maxSize 1"]),
    ("system-initial-nodes-above-max", "prod-gcp", system(PROD, minSize=2, maxSize=2),
     "cluster.systemPool.minSize", ["minSize 2 over 3 zones starts 3 nodes, above maxSize 2"]),
    ("machine-type-outside-the-catalog", "prod-gcp",
     pools(instanceType="a4-highgpu-8g", gpuModel="B200-180GB", gpusPerNode=8, gpuMemoryGiB=180),
     "gpuPools[0].instanceType", ["not in the GPU instance catalog", "accelerator type"]),
    ("pool-named-system", "prod-gcp", pools(name="system"),
     "gpuPools[0].name", ["'system' is the name of the CPU system pool"]),
    ("operator-driver-on-gke", "staging", {"gpuOperator": {"driver": "managed"}},
     "gpuOperator.driver", ["decided by the gke target"]),
    ("storage-section-on-gke", "staging", {"storage": {"rwo": {"className": "standard"}}},
     "storage", ["creates its own storage classes"]),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "messages"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_gke_input_is_one_clear_error(run, stack, overrides, path, messages):
    assert_config_error(run(stack, overrides), path, *messages, count=1)


def test_cases_are_distinct():
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("stack", ["staging", "prod-gcp"])
def test_gke_stacks_are_valid(run, stack):
    result = run(stack)
    assert result.error is None, result.error
    assert result.monitor.by_type("genai:cluster:GkeCluster")


def test_several_gke_problems_are_reported_together(run):
    result = run("prod-gcp", gke(PROD, network={"podsCidr": "10.0.0.0/14", "masterCidr": "172.16.0.0/27"},
                                 zones=["us-central1-a", "us-east1-b", "us-central1-c"]))
    assert_config_error(result, "cluster.gke.network.podsCidr", "overlaps network.subnetCidr", count=3)
    assert_config_error(result, "cluster.gke.network.masterCidr", "must be a /28")
    assert_config_error(result, "cluster.gke.zones[1]", "not in region 'us-central1'")


def test_public_nodes_do_not_need_a_master_range(run):
    # Without private nodes the control-plane range is unused, so neither its size nor overlaps matter.
    result = run("staging", gke(network={"masterCidr": "10.0.0.0/24"}))
    assert result.error is None, result.error
