"""Bad stack configuration is reported as one readable error, before anything is registered.

Every case runs the real program (``infra/``) under the recording mocks, starting from a real
stack file with some top-level keys replaced. The error must name the full key path as the
user writes it (``genai-platform:gpuPools[1].gpuMemoryGiB``), say what is wrong, carry no
traceback, and no resource may have been registered.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from infra.plan.runner import RunResult

NS = "genai-platform"
STACKS = Path(__file__).resolve().parents[1] / "stacks"
HEADER = re.compile(r"^invalid stack configuration \((\d+) problems?\):")


def _onprem_pools() -> list[dict]:
    config = yaml.safe_load((STACKS / "Pulumi.onprem.yaml").read_text())["config"]
    return config[f"{NS}:gpuPools"]


ONPREM_POOLS = _onprem_pools()


def pools(index: int, drop: tuple[str, ...] = (), **changes: Any) -> list[dict]:
    """The onprem stack's GPU pools with pool ``index`` changed (``drop`` removes keys)."""
    out = copy.deepcopy(ONPREM_POOLS)
    for key in drop:
        out[index].pop(key, None)
    out[index].update(changes)
    return out


def problem_lines(error: str) -> list[str]:
    return [line.strip() for line in error.splitlines()[1:] if line.strip()]


def assert_config_error(result: RunResult, path: str, *messages: str, count: Optional[int] = None) -> str:
    """``result`` failed on config: a line for ``genai-platform:<path>`` saying all of ``messages``."""
    error = result.error
    assert error is not None, "expected a configuration error, the program ran"
    assert "Traceback" not in error
    assert result.monitor.registrations == [], "resources were registered before the config was rejected"
    header = HEADER.match(error)
    assert header, f"no 'invalid stack configuration (N problems)' header in:\n{error}"
    lines = problem_lines(error)
    assert len(lines) == int(header.group(1)), error
    if count is not None:
        assert len(lines) == count, error
    prefix = f"{NS}:{path}: "
    assert prefix in error, f"no {prefix!r} in:\n{error}"
    matching = [line for line in lines if line.startswith(prefix)]
    assert matching, f"no problem line starts with {prefix!r}:\n{error}"
    assert any(all(m in line for m in messages) for line in matching), (
        f"no line for {path} says {messages!r}:\n{error}")
    return error


# (id, stack, overrides, secrets, key path, message parts)
CASES = [
    ("gpu-memory-zero", "onprem", {"gpuPools": pools(1, gpuMemoryGiB=0)}, None,
     "gpuPools[1].gpuMemoryGiB", ["must be > 0"]),
    ("gpus-per-node-zero", "onprem", {"gpuPools": pools(0, gpusPerNode=0)}, None,
     "gpuPools[0].gpusPerNode", ["must be > 0"]),
    ("gpus-per-node-17", "onprem", {"gpuPools": pools(1, gpusPerNode=17)}, None,
     "gpuPools[1].gpusPerNode", ["must be <= 16"]),
    ("gpus-per-node-fraction", "onprem", {"gpuPools": pools(0, gpusPerNode=8.5)}, None,
     "gpuPools[0].gpusPerNode", ["must be a whole number", "8.5"]),
    ("unknown-pool-key", "onprem", {"gpuPools": pools(1, drop=("gpuMemoryGiB",), gpuMemGiB=48)}, None,
     "gpuPools[1].gpuMemGiB", ["unknown key", "did you mean 'gpuMemoryGiB'"]),
    ("unknown-top-level-key", "local", {"gpuPool": ONPREM_POOLS}, None,
     "gpuPool", ["unknown key", "did you mean 'gpuPools'"]),
    ("unknown-taint-key", "onprem", {"gpuPools": pools(0, taints=[{"key": "nvidia.com/gpu", "efect": "NoSchedule"}])}, None,
     "gpuPools[0].taints[0].efect", ["unknown key", "did you mean 'effect'"]),
    ("time-slicing-one-replica", "onprem", {"gpuPools": pools(1, sharing={"mode": "time-slicing", "replicas": 1})}, None,
     "gpuPools[1].sharing.replicas", ["time-slicing needs replicas >= 2"]),
    ("time-slicing-no-replicas", "onprem", {"gpuPools": pools(1, sharing={"mode": "time-slicing"})}, None,
     "gpuPools[1].sharing.replicas", ["time-slicing needs replicas >= 2"]),
    ("mig-profile-of-other-gpu", "onprem",
     {"gpuPools": pools(0, gpuModel="A100-40GB", gpuMemoryGiB=40, sharing={"mode": "mig", "migProfile": "3g.40gb"})}, None,
     "gpuPools[0].sharing.migProfile", ["'3g.40gb' is not a MIG profile of A100-40GB", "3g.20gb"]),
    ("mig-on-gpu-without-mig", "onprem", {"gpuPools": pools(1, sharing={"mode": "mig", "migProfile": "1g.10gb"})}, None,
     "gpuPools[1].sharing.migProfile", ["not a MIG profile of L40S", "does not support MIG"]),
    ("mig-without-profile", "onprem", {"gpuPools": pools(0, sharing={"mode": "mig"})}, None,
     "gpuPools[0].sharing.migProfile", ["required when sharing.mode is 'mig'"]),
    ("pool-name-not-dns-label", "onprem", {"gpuPools": pools(0, name="GPU_Pool")}, None,
     "gpuPools[0].name", ["must be a DNS-1123 label", "'GPU_Pool'"]),
    ("duplicate-pool-name", "onprem", {"gpuPools": pools(1, name="a100")}, None,
     "gpuPools[1].name", ["duplicate pool name 'a100'", "gpuPools[0]"]),
    ("unknown-gpu-model", "onprem", {"gpuPools": pools(0, gpuModel="A100-80G")}, None,
     "gpuPools[0].gpuModel", ["unknown GPU model 'A100-80G'", "did you mean 'A100-80GB'"]),
    ("gpu-memory-contradicts-model", "onprem", {"gpuPools": pools(0, gpuMemoryGiB=40)}, None,
     "gpuPools[0].gpuMemoryGiB", ["A100-80GB has 80 GiB, not 40"]),
    ("pool-without-gpu-taint", "onprem", {"gpuPools": pools(0, taints=[])}, None,
     "gpuPools[0].taints", ["must include the GPU taint nvidia.com/gpu"]),
    ("pool-missing-gpu-model", "onprem", {"gpuPools": pools(1, drop=("gpuModel", "gpuMemoryGiB"))}, None,
     "gpuPools[1].gpuModel", ["required"]),
    ("gpu-pools-not-a-list", "local", {"gpuPools": {"name": "a100"}}, None,
     "gpuPools", ["must be a list"]),
    ("kubernetes-version-unquoted", "local", {"cluster": {"kubernetesVersion": 1.33}}, None,
     "cluster.kubernetesVersion", ["must be a string", "quote it in YAML", "1.33"]),
    ("kubernetes-version-unsupported", "local", {"cluster": {"kubernetesVersion": "1.20"}}, None,
     "cluster.kubernetesVersion", ["must be a supported Kubernetes minor version", "'1.20'"]),
    ("nfs-provider-without-nfs", "local", {"storage": {"rwx": {"provider": "nfs"}}}, None,
     "storage.rwx.nfs", ["required when storage.rwx.provider is 'nfs'"]),
    ("nfs-share-not-absolute", "local",
     {"storage": {"rwx": {"provider": "nfs", "nfs": {"server": "nfs.internal", "share": "exports/genai"}}}}, None,
     "storage.rwx.nfs.share", ["must be an absolute export path", "'exports/genai'"]),
    ("existing-provider-without-class", "local", {"storage": {"rwx": {"provider": "existing"}}}, None,
     "storage.rwx.className", ["required when storage.rwx.provider is 'existing'"]),
    ("unknown-rwx-provider", "local", {"storage": {"rwx": {"provider": "ceph"}}}, None,
     "storage.rwx.provider", ["must be one of", "'nfs'", "got 'ceph'"]),
    ("snapshots-without-nfs", "local", {"storage": {"rwx": {"provider": "none"}, "volumeSnapshots": "install"}}, None,
     "storage.volumeSnapshots", ["NFS CSI driver only"]),
    ("gpu-operator-driver-auto", "onprem", {"gpuOperator": {"driver": "auto"}}, None,
     "gpuOperator.driver", ["must be one of", "'managed'", "'preinstalled'", "got 'auto'"]),
    ("gpu-operator-on-cpu-only-stack", "local", {"gpuOperator": {"enabled": True}}, None,
     "gpuOperator.enabled", ["needs at least one gpuPools entry"]),
    ("system-namespace-not-dns-label", "local", {"namespaces": {"system": "Genai_System"}}, None,
     "namespaces.system", ["must be a DNS-1123 label", "'Genai_System'"]),
    ("gpu-operator-namespace-is-system", "onprem", {"namespaces": {"system": "genai", "gpuOperator": "genai"}}, None,
     "namespaces.gpuOperator", ["must differ from namespaces.system"]),
    ("protect-not-boolean", "local", {"protect": "yes please"}, None,
     "protect", ["must be true or false", "'yes please'"]),
    ("kubeconfig-not-secret", "local", {"kubeconfig": "apiVersion: v1"}, None,
     "kubeconfig", ["must be stored as a secret"]),
    ("kubeconfig-path-and-secret", "local", {"cluster": {"existing": {"kubeconfigPath": "/home/me/.kube/config"}}},
     {f"{NS}:kubeconfig": "x"},
     "cluster.existing.kubeconfigPath", ["set either this path or the secret", f"{NS}:kubeconfig", "not both"]),
]


@pytest.mark.parametrize(("stack", "overrides", "secrets", "path", "messages"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_is_one_clear_error(run, stack, overrides, secrets, path, messages):
    error = assert_config_error(run(stack, overrides, secrets), path, *messages, count=1)
    assert error.startswith("invalid stack configuration (1 problem):")


def test_cases_are_distinct():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 18


@pytest.mark.parametrize("stack", ["local", "onprem"])
def test_real_stacks_load_and_register_resources(run, stack):
    result = run(stack)
    assert result.error is None, result.error
    assert result.monitor.registrations, "a valid stack registered nothing"
    types = {r.type for r in result.monitor.registrations}
    assert "genai:cluster:ExistingCluster" in types
    assert "kubernetes:core/v1:Namespace" in types
    assert ("genai:platform:GpuOperator" in types) == (stack == "onprem"), "GPU Operator only on the GPU stack"
    assert result.monitor.stack_outputs["cluster"]["cpuOnly"] is (stack == "local")


def test_several_problems_in_different_sections_are_all_reported(run):
    result = run("onprem", {
        "gpuPools": pools(1, gpuMemoryGiB=0),
        "storage": {"rwx": {"provider": "ceph"}},
        "namespaces": {"system": "Genai_System"},
    })
    error = assert_config_error(result, "gpuPools[1].gpuMemoryGiB", "must be > 0", count=3)
    assert error.startswith("invalid stack configuration (3 problems):")
    assert_config_error(result, "storage.rwx.provider", "got 'ceph'")
    assert_config_error(result, "namespaces.system", "DNS-1123 label")


def test_problems_from_every_stage_are_reported_together(run):
    # An unknown key, a field type error and a plain-text secret are found by different steps.
    result = run("local", {"gpuPool": [], "protect": "yes please", "kubeconfig": "apiVersion: v1"})
    error = assert_config_error(result, "gpuPool", "did you mean 'gpuPools'", count=3)
    assert error.startswith("invalid stack configuration (3 problems):")
    assert_config_error(result, "protect", "must be true or false")
    assert_config_error(result, "kubeconfig", "must be stored as a secret")


def test_several_cross_field_problems_are_all_reported(run):
    result = run("onprem", {
        "gpuPools": [*pools(1, name="a100", taints=[])],
        "storage": {"rwx": {"provider": "none"}, "volumeSnapshots": "install"},
    })
    error = assert_config_error(result, "gpuPools[1].name", "duplicate pool name 'a100'", count=3)
    assert error.startswith("invalid stack configuration (3 problems):")
    assert_config_error(result, "gpuPools[1].taints", "must include the GPU taint")
    assert_config_error(result, "storage.volumeSnapshots", "NFS CSI driver only")


def test_error_in_a_late_section_stops_before_any_registration(run):
    # Storage is built last; a problem there must still stop the program before the cluster,
    # namespaces and GPU Operator are registered.
    valid = run("onprem")
    assert valid.error is None and valid.monitor.registrations
    broken_storage = {"rwx": {"provider": "nfs", "className": "nfs-rwx"}, "volumeSnapshots": "install"}
    result = run("onprem", {"storage": broken_storage})
    assert_config_error(result, "storage.rwx.nfs", "required when storage.rwx.provider is 'nfs'", count=1)
    assert result.monitor.registrations == []
    assert result.monitor.stack_outputs == {}


def test_field_and_cross_field_problems_are_reported_together(run):
    result = run("onprem", {
        "gpuPools": pools(1, gpuMemoryGiB=0),
        "namespaces": {"system": "genai", "gpuOperator": "genai"},
    })
    assert_config_error(result, "gpuPools[1].gpuMemoryGiB", "must be > 0", count=2)
    assert_config_error(result, "namespaces.gpuOperator", "must differ from namespaces.system")


def test_boolean_gpus_per_node_is_rejected(run):
    result = run("onprem", {"gpuPools": pools(0, gpusPerNode=True)})
    assert_config_error(result, "gpuPools[0].gpusPerNode", "must be a whole number", count=1)


def test_gpu_taint_must_be_no_schedule(run):
    result = run("onprem", {"gpuPools": pools(0, taints=[{"key": "nvidia.com/gpu", "value": "present",
                                                          "effect": "PreferNoSchedule"}])})
    assert_config_error(result, "gpuPools[0].taints", "nvidia.com/gpu", count=1)


def test_misspelled_project_namespace_is_reported(run):
    result = run("onprem", {"genai-platfrom:gpuPools": []})
    assert result.error is not None and result.monitor.registrations == []
    assert "genai-platfrom:gpuPools: unknown namespace 'genai-platfrom'; did you mean 'genai-platform'?" in result.error


@pytest.mark.parametrize("reserved", ["kube-system", "default"])
def test_platform_namespace_cannot_be_a_kubernetes_one(run, reserved):
    result = run("local", {"namespaces": {"system": reserved}})
    assert_config_error(result, "namespaces.system", "belongs to Kubernetes", count=1)
