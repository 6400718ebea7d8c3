"""The models layer as the program wires it: stack ``models`` -> placements -> serving objects.

Runs real stack files under the recording mocks and checks what reaches the cluster and the
stack outputs; the planner, engines and specs have their own unit tests.
"""

from __future__ import annotations

import json

import pytest

from infra.plan.render import build
from infra.plan.runner import load_stack_config, run_program
from infra.plan.summary import render_summary

K8S = "kubernetes:"


def objects(result, kind: str) -> list[dict]:
    return [r.inputs for r in result.monitor.registrations if r.type.startswith(K8S) and r.type.endswith(f":{kind}")]


def deployment(result, model: str) -> dict:
    deps = [d for d in objects(result, "Deployment") if d["metadata"]["name"] == model]
    assert len(deps) == 1, [d["metadata"]["name"] for d in objects(result, "Deployment")]
    return deps[0]


def container(dep: dict) -> dict:
    return dep["spec"]["template"]["spec"]["containers"][0]


def test_local_serves_every_model_on_cpu(run):
    result = run("local")
    assert result.error is None, result.error
    placements = {m["name"]: m for m in result.monitor.stack_outputs["models"]}
    assert {m["engine"] for m in placements.values()} == {"llamacpp", "tei"}
    assert all(m["pool"] == "cpu" and m["gpusPerReplica"] == 0 for m in placements.values())
    for name in placements:
        limits = container(deployment(result, name))["resources"]["limits"]
        assert "nvidia.com/gpu" not in limits
    # A laptop has no Prometheus Operator: no ServiceMonitor and no KEDA when the stack says so.
    assert objects(result, "ServiceMonitor") == [] and objects(result, "PodMonitor") == []
    assert not [r for r in result.monitor.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "keda"]


def test_onprem_places_the_70b_model_with_tensor_parallelism(run):
    result = run("onprem")
    assert result.error is None, result.error
    big = next(m for m in result.monitor.stack_outputs["models"] if m["name"] == "llama-3-3-70b")
    assert big["pool"] == "a100" and big["tensorParallel"] > 1
    assert big["neededGiB"] <= big["allocatedGiB"]
    dep = deployment(result, "llama-3-3-70b")
    c = container(dep)
    tp = str(big["tensorParallel"])
    assert c["resources"]["limits"]["nvidia.com/gpu"] == tp
    args = c["args"]
    assert args[args.index("--tensor-parallel-size") + 1] == tp
    assert args[args.index("--served-model-name") + 1] == "llama-3-3-70b"
    pod = dep["spec"]["template"]["spec"]
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in pod["tolerations"]
    assert any(v.get("emptyDir", {}).get("medium") == "Memory" for v in pod["volumes"])


@pytest.mark.parametrize("stack", ["local", "onprem", "dev", "staging", "prod-aws", "prod-gcp", "prod-azure"])
def test_every_stack_reports_placements_in_outputs_and_summary(stack):
    cfg = load_stack_config(stack)
    plan = build(cfg, run_program(cfg))
    assert plan.errors == []
    models = plan.run.monitor.stack_outputs["models"]
    assert models
    summary = render_summary(plan)
    assert "## Model placements" in summary
    for m in models:
        assert f"| {m['name']} | {m['task']} | {m['engine']} | {m['pool']} |" in summary
        assert m["endpoint"]["url"].startswith(f"http://{m['name']}.genai-models.svc:")


def test_every_engine_is_exercised_somewhere():
    engines = set()
    for stack in ["local", "onprem", "dev", "staging", "prod-aws", "prod-gcp", "prod-azure"]:
        result = run_program(load_stack_config(stack))
        engines |= {m["engine"] for m in result.monitor.stack_outputs["models"]}
    assert engines == {"vllm", "tgi", "triton-trtllm", "tei", "llamacpp"}


def test_infeasible_model_fails_before_anything_is_registered(run):
    models = [{"name": "huge", "wellKnown": "llama-3.1-70b-instruct",
               "revision": "0123456789abcdef0123456789abcdef01234567", "pool": "l40s",
               "serving": {"maxModelLen": 131072, "concurrentSequences": 4}}]
    result = run("onprem", overrides={"models": models})
    assert result.error is not None and "Traceback" not in result.error
    assert "genai-platform:models[0].pool: huge does not fit pool 'l40s'" in result.error
    assert "GiB" in result.error
    assert result.monitor.registrations == []


def test_hugging_face_token_reaches_a_secret_and_never_the_plan(tmp_path):
    marker = "hf_PLANSECRET_91d2"
    cfg = load_stack_config("onprem", secrets={"genai-platform:huggingFaceToken": marker})
    plan = build(cfg, run_program(cfg))
    assert plan.errors == []
    assert marker not in json.dumps([r.to_json() for r in plan.registrations])
    assert marker not in json.dumps(plan.run.monitor.stack_outputs)
    secrets = objects(plan.run, "Secret")
    assert secrets, "the token Secret is created"


def test_hugging_face_token_must_be_secret(run):
    result = run("onprem", overrides={"huggingFaceToken": "hf_plain"})
    assert result.error is not None
    assert "genai-platform:huggingFaceToken: must be stored as a secret" in result.error


def test_service_monitors_follow_the_setting(run):
    on = run("onprem")
    assert len(objects(on, "ServiceMonitor")) >= len(on.monitor.stack_outputs["models"])
    off = run("onprem", overrides={"modelServing": {"serviceMonitors": False}})
    assert objects(off, "ServiceMonitor") == []


def test_models_namespace_is_exported(run):
    result = run("prod-aws")
    assert result.monitor.stack_outputs["namespaces"]["models"] == "genai-models"


def test_service_monitors_carry_the_labels_prometheus_selects_on(run):
    result = run("onprem", overrides={"modelServing": {"serviceMonitorLabels": {"release": "kube-prometheus-stack"}}})
    monitors = objects(result, "ServiceMonitor")
    models = {m["name"] for m in result.monitor.stack_outputs["models"]}
    labelled = {m["metadata"]["name"] for m in monitors
                if m["metadata"]["labels"].get("release") == "kube-prometheus-stack"}
    assert models <= labelled


# --- pool capacity: what the models on a pool ask for against the pool's most nodes ---

def _azure_pools(a100_max: int) -> tuple[list[dict], list[dict]]:
    import yaml

    from infra.plan.runner import ROOT

    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod-azure.yaml").read_text())["config"]
    pools = config["genai-platform:gpuPools"]
    pools[1]["maxSize"] = a100_max
    return pools, config["genai-platform:models"]


def test_minimum_replicas_beyond_a_pools_most_nodes_fail_the_plan(run):
    pools, models = _azure_pools(3)   # a100: 1 GPU per node; the models' minimum is 4 GPUs
    result = run("prod-azure", overrides={"gpuPools": pools, "models": models})
    assert result.error is not None and result.monitor.registrations == []
    assert ("genai-platform:gpuPools[1].maxSize: the models on pool 'a100' (llama-3-1-8b, bge-base, bge-reranker) "
            "need 4 GPUs at their minimum replicas, but 3 nodes × 1 GPUs hold 3") in result.error


def test_maximum_replicas_beyond_a_pool_are_a_warning_not_an_error(run):
    pools, models = _azure_pools(8)   # the maximum is 12 GPUs, the minimum 4
    result = run("prod-azure", overrides={"gpuPools": pools, "models": models})
    assert result.error is None, result.error
    assert any("pool a100" in line and "need 12 GPUs at their maximum replicas but the pool holds 8" in line
               for line in result.log)


def test_pool_demand_counts_shared_gpus_and_skips_unknown_node_counts():
    from components.cluster.info import GpuPool, GpuSharing, Taint
    from components.models.placement import Placement
    from components.models.planner import pool_demand

    taint = (Taint("nvidia.com/gpu", "present", "NoSchedule"),)
    sliced = GpuPool("l4", "L4", 24, 1, {}, taint, GpuSharing("time-slicing", 4), max_size=2)
    mig = GpuPool("a100", "A100-80GB", 80, 8, {}, taint, GpuSharing("mig", None, "1g.10gb"), max_size=1)
    onprem = GpuPool("h100", "H100-80GB", 80, 8, {}, taint)

    def placed(model, pool, gpus, lo, hi):
        return Placement(model, pool, "x", 24, 1, gpus, 512, 0.9, 1, 1, 1, "1", "1", "1Gi", "1Gi", None,
                         min_replicas=lo, max_replicas=hi)

    demand = {d.pool: d for d in pool_demand(
        [placed("a", "l4", 1, 2, 5), placed("b", "a100", 1, 1, 3), placed("c", "h100", 4, 1, 2)],
        [sliced, mig, onprem])}
    assert (demand["l4"].min_gpus, demand["l4"].max_gpus, demand["l4"].capacity) == (2, 5, 8)   # 2 nodes x 4 slices
    assert demand["a100"].capacity == 56                                                       # 8 GPUs x 7 slices
    assert demand["h100"].capacity is None and demand["h100"].max_gpus == 8
