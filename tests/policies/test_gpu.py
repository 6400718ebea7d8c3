"""gpu-pods-placed."""

from __future__ import annotations

import pytest

from policies.genai_policies import PolicyContext

CTX = PolicyContext()
TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
SELECTOR = {"genai-platform.io/gpu-pool": "l40s"}


def _gpu_container(make, where: str = "limits") -> dict:
    c = make.container(image="vllm/vllm-openai:v0.11.0")
    c["resources"][where]["nvidia.com/gpu"] = "1"
    return c


def test_placed_gpu_pod_passes(check, make):
    obj = make.deployment(containers=[_gpu_container(make)], tolerations=[TOLERATION], nodeSelector=SELECTOR)
    make.assert_valid(obj)
    assert check("gpu-pods-placed", make.k8s(obj), CTX) == []


def test_cpu_pod_needs_nothing(check, make):
    assert check("gpu-pods-placed", make.k8s(make.deployment()), CTX) == []


@pytest.mark.parametrize("where", ["limits", "requests"])
def test_gpu_pod_without_toleration_or_selector_fails_twice(check, make, where):
    msgs = check("gpu-pods-placed", make.k8s(make.deployment(containers=[_gpu_container(make, where)])), CTX)
    assert len(msgs) == 2
    assert "toleration" in msgs[0] and "nvidia.com/gpu=present:NoSchedule" in msgs[0]
    assert "nodeSelector" in msgs[1]


def test_gpu_in_an_init_container_counts(check, make):
    obj = make.deployment(initContainers=[_gpu_container(make)], nodeSelector=SELECTOR)
    msgs = check("gpu-pods-placed", make.k8s(obj), CTX)
    assert len(msgs) == 1 and "toleration" in msgs[0]


def test_zero_gpus_is_not_a_gpu_pod(check, make):
    c = make.container()
    c["resources"]["limits"]["nvidia.com/gpu"] = "0"
    assert check("gpu-pods-placed", make.k8s(make.deployment(containers=[c])), CTX) == []


@pytest.mark.parametrize("toleration,ok", [
    ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),                     # any effect
    ({"operator": "Exists"}, True),                                              # tolerates every taint
    ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}, True),
    ({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}, True),  # Equal is the default
    ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}, False),
    ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
    ({"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}, False),
])
def test_toleration_forms(check, make, toleration, ok):
    obj = make.deployment(containers=[_gpu_container(make)], tolerations=[toleration], nodeSelector=SELECTOR)
    assert (check("gpu-pods-placed", make.k8s(obj), CTX) == []) is ok


@pytest.mark.parametrize("affinity,ok", [
    ({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-L40S"]}]}]}}}, True),
    ({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {
        "matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-L40S"]}]}}]}}, False),
])
def test_required_node_affinity_selects_nodes(check, make, affinity, ok):
    obj = make.deployment(containers=[_gpu_container(make)], tolerations=[TOLERATION], affinity=affinity)
    make.assert_valid(obj)
    assert (check("gpu-pods-placed", make.k8s(obj), CTX) == []) is ok
