"""Bad `cluster.aks` settings (and GPU pools as AKS sees them) are one clear error each.

Every case runs the real program on the prod-azure stack with some keys replaced; the error
must name the key path and say what is wrong, and nothing may have been registered.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.plan.runner import RunResult

NS = "genai-platform"
STACK = "prod-azure"
CONFIG = yaml.safe_load((Path(__file__).resolve().parents[1] / "stacks" / f"Pulumi.{STACK}.yaml").read_text())["config"]
CLUSTER, POOLS = CONFIG[f"{NS}:cluster"], CONFIG[f"{NS}:gpuPools"]
HEADER = re.compile(r"^invalid stack configuration \((\d+) problems?\):")


def aks(drop: tuple[str, ...] = (), **changes: Any) -> dict:
    """The stack's `cluster` section with `cluster.aks` keys changed (`drop` removes keys)."""
    out = copy.deepcopy(CLUSTER)
    for key in drop:
        out["aks"].pop(key)
    out["aks"].update(changes)
    return {"cluster": out}


def network(**changes: Any) -> dict:
    return aks(network={**CLUSTER["aks"]["network"], **changes})


def system_pool(**changes: Any) -> dict:
    out = copy.deepcopy(CLUSTER)
    out["systemPool"].update(changes)
    return {"cluster": out}


def pools(index: int, **changes: Any) -> dict:
    out = copy.deepcopy(POOLS)
    out[index].update(changes)
    return {"gpuPools": out}


def assert_one_problem(result: RunResult, path: str, *messages: str) -> None:
    error = result.error
    assert error is not None, "expected a configuration error, the program ran"
    assert "Traceback" not in error
    assert result.monitor.registrations == [], "resources were registered before the config was rejected"
    header = HEADER.match(error)
    assert header and header.group(1) == "1", error
    (line,) = [ln.strip() for ln in error.splitlines()[1:] if ln.strip()]
    assert line.startswith(f"{NS}:{path}: "), error
    for m in messages:
        assert m in line, f"{m!r} not in {line!r}"


CASES = [
    ("location-display-name", aks(location="East US"), "cluster.aks.location",
     ["must be an Azure region's programmatic name", "got 'East US'", "did you mean 'eastus'?"]),
    ("location-missing", aks(drop=("location",)), "cluster.aks.location", ["required"]),
    ("spot-system-pool", system_pool(spot=True), "cluster.systemPool.spot",
     ["AKS system pools cannot run on spot VMs"]),
    ("pool-name-with-dash", pools(0, name="h100-nd"), "gpuPools[0].name",
     ["AKS agent pool names are 1-12 lowercase letters and digits", "'h100-nd'"]),
    ("pool-name-too-long", pools(1, name="a100inference"), "gpuPools[1].name",
     ["1-12 lowercase letters and digits", "'a100inference'"]),
    ("pool-name-is-the-user-pool", pools(1, name="user"), "gpuPools[1].name",
     ["'user' is the platform's own CPU pool"]),
    ("pod-cidr-overlaps-vnet", network(podCidr="10.40.128.0/17"), "cluster.aks.network.podCidr",
     ["10.40.128.0/17 overlaps vnetCidr 10.40.0.0/16"]),
    ("service-cidr-overlaps-vnet", network(serviceCidr="10.40.0.0/16", dnsServiceIp="10.40.0.10"),
     "cluster.aks.network.serviceCidr", ["overlaps vnetCidr 10.40.0.0/16"]),
    ("service-cidr-overlaps-pods", network(serviceCidr="10.244.0.0/20", dnsServiceIp="10.244.0.10"),
     "cluster.aks.network.serviceCidr", ["10.244.0.0/20 overlaps podCidr 10.244.0.0/16"]),
    ("node-subnet-outside-vnet", network(nodeSubnetCidr="10.41.0.0/20"), "cluster.aks.network.nodeSubnetCidr",
     ["10.41.0.0/20 is not inside vnetCidr 10.40.0.0/16"]),
    ("dns-ip-outside-service-cidr", network(dnsServiceIp="10.1.0.10"), "cluster.aks.network.dnsServiceIp",
     ["10.1.0.10 is not inside serviceCidr 10.0.0.0/16"]),
    ("dns-ip-is-the-kubernetes-service", network(dnsServiceIp="10.0.0.1"), "cluster.aks.network.dnsServiceIp",
     ["10.0.0.1 is reserved in serviceCidr 10.0.0.0/16"]),
    ("pod-cidr-aks-reserved", network(podCidr="172.30.0.0/16"), "cluster.aks.network.podCidr",
     ["overlaps 172.30.0.0/16, which AKS reserves"]),
    ("cidr-with-host-bits", network(vnetCidr="10.40.0.1/16"), "cluster.aks.network.vnetCidr",
     ["must be an IPv4 CIDR block", "'10.40.0.1/16'"]),
    ("no-network-policy", network(policy="none"), "cluster.aks.network.policy", ["must be one of", "got 'none'"]),
    ("zone-4", aks(zones=["1", "2", "4"]), "cluster.aks.zones", ["Azure availability zones are \"1\", \"2\" and \"3\"", "'4'"]),
    ("gpu-zone-twice", pools(0, zones=["2", "2"]), "gpuPools[0].zones", ["lists a zone twice"]),
    ("private-with-authorized-ranges", aks(authorizedIpRanges=["203.0.113.0/24"]), "cluster.aks.authorizedIpRanges",
     ["only applies to a public API server"]),
    ("local-accounts-off-without-entra", aks(drop=("entraId", "kubeloginMode")), "cluster.aks.disableLocalAccounts",
     ["needs cluster.aks.entraId"]),
    ("kubelogin-without-entra", aks(drop=("entraId", "disableLocalAccounts")), "cluster.aks.kubeloginMode",
     ["only applies with cluster.aks.entraId"]),
    ("admin-group-not-a-guid", aks(entraId={"adminGroupObjectIds": ["platform-admins"]}),
     "cluster.aks.entraId.adminGroupObjectIds[0]", ["must be a GUID", "'platform-admins'"]),
    ("resource-group-created-and-adopted", aks(existingResourceGroup="shared"), "cluster.aks.existingResourceGroup",
     ["set either resourceGroup (created) or existingResourceGroup (adopted), not both"]),
    ("storage-account-name", aks(objectStore={"accountName": "Genai-Prod"}), "cluster.aks.objectStore.accountName",
     ["3-24 lowercase letters and digits", "'Genai-Prod'"]),
    ("gpu-os-disk-too-big", pools(0, diskSizeGiB=4096), "gpuPools[0].diskSizeGiB", ["AKS OS disks are at most 2048 GiB"]),
    ("operator-driver-preinstalled", {"gpuOperator": {"driver": "preinstalled"}}, "gpuOperator.driver",
     ["AKS GPU pools skip the AKS-installed driver", "only 'managed'"]),
    ("tag-name-with-slash", aks(tags={"app.kubernetes.io/part-of": "genai"}), "cluster.aks.tags.app.kubernetes.io/part-of",
     ["Azure tag names are 1-512 characters without"]),
    ("unknown-aks-key", aks(privateClusterr=True), "cluster.aks.privateClusterr",
     ["unknown key", "did you mean 'privateCluster'"]),
]


@pytest.mark.parametrize(("overrides", "path", "messages"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_aks_input_is_one_clear_error(run, overrides, path, messages):
    assert_one_problem(run(STACK, overrides), path, *messages)


def test_cases_are_distinct():
    assert len({c[0] for c in CASES}) == len(CASES) >= 4


def test_the_stack_itself_is_valid(run):
    result = run(STACK)
    assert result.error is None, result.error
