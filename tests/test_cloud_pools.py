"""GPU pools on cloud targets: the instance catalog decides the GPUs; sizes are checked.

Each bad input and the message the user gets, from the cross-field rules alone (the cloud
sections' own rules are tested per cloud).
"""

from __future__ import annotations

import pytest

from components.common.gpus import GPU_MODELS
from components.common.instances import INSTANCE_TYPES, PRICES_AS_OF, lookup
from infra.checks import check_sections
from infra.program import gpu_pool
from infra.schema import GpuPoolConfig


def problems(target: str, *pools: dict) -> dict[str, str]:
    return dict(check_sections({"cluster": {"target": target}, "gpuPools": list(pools)}))


def l4(**kw) -> dict:
    return {"name": "l4", "instanceType": "g6.xlarge", "maxSize": 2, **kw}


def test_catalog_covers_the_families_the_platform_documents():
    names = {c: set(t) for c, t in INSTANCE_TYPES.items()}
    for prefix in ("g5.", "g6.", "g6e.", "p4d.", "p5."):
        assert any(n.startswith(prefix) for n in names["aws"]), prefix
    for prefix in ("g2-", "a2-highgpu", "a2-ultragpu", "a3-"):
        assert any(n.startswith(prefix) for n in names["gcp"]), prefix
    for needle in ("T4_v3", "ads_A100_v4", "ND96amsr_A100_v4", "ND96isr_H100_v5"):
        assert any(needle in n for n in names["azure"]), needle
    assert PRICES_AS_OF


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_every_catalog_entry_is_coherent(cloud):
    for t in INSTANCE_TYPES[cloud].values():
        assert t.gpu_model in GPU_MODELS, t.name
        assert 1 <= t.gpus <= 16 and t.vcpus >= 4 and t.memory_gib >= 16 and t.usd_per_hour > 0, t.name
        assert (t.accelerator is not None) == (cloud == "gcp"), t.name


def test_known_instance_type_fills_in_the_gpus():
    pool = gpu_pool(GpuPoolConfig.model_validate(l4(instanceType="g6e.12xlarge")), "eks")
    assert (pool.gpu_model, pool.gpus_per_node, pool.gpu_memory_gib) == ("L40S", 4, 48)
    assert pool.node_selector == {"genai-platform.io/gpu-pool": "l4"}
    assert (pool.min_size, pool.max_size, pool.instance_type) == (0, 2, "g6e.12xlarge")


def test_clouds_do_not_share_type_names():
    assert lookup("gcp", "g6.xlarge") is None
    assert "gpuPools[0].instanceType" in problems("gke", l4())


def test_unknown_instance_type_is_rejected_with_the_known_ones_and_a_hint():
    msg = problems("eks", l4(instanceType="g6.xlarg"))["gpuPools[0].instanceType"]
    assert "unknown aws GPU instance type 'g6.xlarg'" in msg
    assert "did you mean 'g6.xlarge'?" in msg
    assert "p5.48xlarge" in msg  # the known types are listed


def test_unknown_instance_type_is_accepted_when_the_pool_states_its_gpus():
    explicit = l4(instanceType="g7.xlarge", gpuModel="L4", gpusPerNode=1, gpuMemoryGiB=24)
    assert problems("eks", explicit) == {"cluster.eks": "required when cluster.target is 'eks'"}


def test_pool_must_agree_with_its_instance_type():
    got = problems("eks", l4(gpuModel="A10G", gpusPerNode=4))
    assert got["gpuPools[0].gpuModel"].startswith("g6.xlarge has L4 GPUs, not A10G")
    assert got["gpuPools[0].gpusPerNode"].startswith("g6.xlarge has 1 GPUs, not 4")


def test_cloud_pool_needs_an_instance_type_and_a_max_size():
    got = problems("aks", {"name": "a100"})
    assert got["gpuPools[0].instanceType"].startswith("required on the aks target")
    got = problems("gke", {"name": "l4", "instanceType": "g2-standard-8"})
    assert got["gpuPools[0].maxSize"].startswith("required on cloud targets")


def test_sizes_must_be_ordered():
    got = problems("eks", l4(minSize=3, maxSize=2))
    assert got["gpuPools[0].minSize"] == "3 is above maxSize 2"
    got = problems("eks", l4(minSize=1, maxSize=2, desiredSize=5))
    assert got["gpuPools[0].desiredSize"] == "must lie between minSize 1 and maxSize 2"


def test_zero_max_size_is_a_field_error():
    with pytest.raises(ValueError, match="greater than 0"):
        GpuPoolConfig.model_validate(l4(maxSize=0))


def test_cloud_pools_are_labelled_by_the_platform():
    got = problems("eks", l4(nodeSelector={"pool": "x"}))
    assert "remove this key" in got["gpuPools[0].nodeSelector"]


def test_cloud_keys_are_refused_on_an_existing_cluster():
    got = problems("existing", {"name": "a100", "gpuModel": "A100-80GB", "gpusPerNode": 8,
                                "instanceType": "p4de.24xlarge", "spot": True})
    assert got["gpuPools[0].instanceType"].startswith("only applies to cloud targets")
    assert got["gpuPools[0].spot"].startswith("only applies to cloud targets")


def test_existing_pool_must_state_its_gpus():
    got = problems("existing", {"name": "a100"})
    assert got["gpuPools[0].gpuModel"] == "required for an existing cluster's pool"
    assert got["gpuPools[0].gpusPerNode"] == "required for an existing cluster's pool"


def test_mig_profile_is_checked_against_the_instance_types_gpu():
    got = problems("gke", {"name": "a100", "instanceType": "a2-ultragpu-8g", "maxSize": 1,
                           "sharing": {"mode": "mig", "migProfile": "1g.5gb"}})
    assert "is not a MIG profile of A100-80GB" in got["gpuPools[0].sharing.migProfile"]


def test_a_cloud_section_for_another_target_is_refused():
    got = dict(check_sections({"cluster": {"target": "eks", "gke": {}}}))
    assert got["cluster.gke"] == "only applies when cluster.target is 'gke' (it is 'eks')"
    assert got["cluster.eks"] == "required when cluster.target is 'eks'"


def test_system_pool_only_on_cloud_targets_and_ordered():
    got = dict(check_sections({"cluster": {"target": "existing", "systemPool": {"minSize": 2}}}))
    assert got["cluster.systemPool"].startswith("only applies to cloud targets")
    got = dict(check_sections({"cluster": {"target": "eks", "systemPool": {"minSize": 5, "maxSize": 3}}}))
    assert got["cluster.systemPool.minSize"] == "5 is above maxSize 3"
