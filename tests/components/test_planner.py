"""The capacity planner: every placement fits, is legal and is minimal; infeasible is explained.

Invariants are checked over every well-known model × several loads × several pool sets,
with the sizing arithmetic recomputed here from the formulas the planner documents, so a
change to a constant or a formula shows up as a failure rather than passing silently.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional

import pytest

from components.cluster.info import GpuPool, GpuSharing, Taint
from components.models.known import KNOWN_MODELS
from components.models.placement import ModelRequest, ModelSource, Placement
from components.models.planner import kv_cache_gib, legal_tps, plan, weights_gib

GIB = 2**30
GPU_TAINT = (Taint("nvidia.com/gpu", "present", "NoSchedule"),)
# Documented figures, restated independently of the planner's constants.
BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "fp8": 1, "int8": 1, "int4": 0.5,
         "awq": 4.5 / 8, "gptq": 4.5 / 8, "gguf-q4_k_m": 4.85 / 8, "gguf-q8_0": 8.5 / 8}
ENGINE_OVERHEAD = {"vllm": 2.0, "tgi": 2.0, "triton-trtllm": 2.5, "tei": 1.0}


def pool(name: str, gpu: str, mem: int, per_node: int, sharing: Optional[GpuSharing] = None) -> GpuPool:
    return GpuPool(name=name, gpu_model=gpu, gpu_memory_gib=mem, gpus_per_node=per_node,
                   node_selector={"genai-platform.io/gpu-pool": name}, taints=GPU_TAINT, sharing=sharing or GpuSharing())


T4 = pool("t4", "T4", 16, 4)
L4 = pool("l4", "L4", 24, 8)
A10G = pool("a10g", "A10G", 24, 4)
L40S = pool("l40s", "L40S", 48, 4)
A100 = pool("a100", "A100-80GB", 80, 8)
H100 = pool("h100", "H100-80GB", 80, 8)
L40S_SLICED = pool("l40s-shared", "L40S", 48, 4, GpuSharing("time-slicing", 4))
A100_MIG = pool("a100-mig", "A100-80GB", 80, 8, GpuSharing("mig", None, "1g.10gb"))

POOL_SETS = {
    "l4": (L4,),
    "t4": (T4,),
    "a10g+a100": (A10G, A100),
    "mixed": (T4, L4, L40S, A100, H100),
    "shared": (L40S_SLICED, A100_MIG, A100),
    "sliced-only": (L40S_SLICED,),
}
LOADS = {"full-context": {}, "8k x 16": {"max_model_len": 8192, "concurrent_sequences": 16},
         "512 x 1": {"max_model_len": 512}}


def request(key: str, **changes) -> ModelRequest:
    m = KNOWN_MODELS[key]
    req = ModelRequest(name=key, task=m.task, engine=m.engine, source=ModelSource(m.source, "0" * 40),
                       architecture=m.architecture, quantization=m.quantization, weights_file=m.weights_file)
    return replace(req, **changes)


def all_requests() -> list[ModelRequest]:
    """Every well-known model under every load (a length beyond a model's context is capped to it)."""
    out = []
    for key, known in KNOWN_MODELS.items():
        for label, load in LOADS.items():
            mml = min(load.get("max_model_len", known.architecture.max_context), known.architecture.max_context)
            out.append(request(key, name=f"{key}@{label}", **{**load, "max_model_len": mml}))
    return out


# --- independent arithmetic --------------------------------------------------------------

def exp_weights(r: ModelRequest) -> float:
    b = BYTES[r.quantization] if r.quantization != "none" else BYTES[r.architecture.dtype]
    return r.architecture.params_b * 1e9 * b / GIB


def exp_kv(r: ModelRequest) -> float:
    a = r.architecture
    if r.task != "generate":
        return 0.0
    return 2 * a.layers * a.kv_heads * a.head_dim * 2 * (r.max_model_len or a.max_context) * r.concurrent_sequences / GIB


def exp_overhead(engine: str, tp: int) -> float:
    return 0.5 + ENGINE_OVERHEAD[engine] + (0.5 if tp > 1 else 0.0)


def slot(p: GpuPool) -> tuple[int, float]:
    """(per-GPU memory, share) of a pool: MIG slices by profile, time slices by replicas."""
    if p.sharing.mode == "mig":
        return int(p.sharing.mig_profile.split(".")[1].removesuffix("gb")), 1.0
    if p.sharing.mode == "time-slicing":
        return p.gpu_memory_gib, 1.0 / p.sharing.replicas
    return p.gpu_memory_gib, 1.0


def is_legal(r: ModelRequest, p: GpuPool, tp: int) -> bool:
    a = r.architecture
    return (tp & (tp - 1) == 0 and a.attention_heads % tp == 0 and a.kv_heads % tp == 0
            and tp <= p.gpus_per_node and (tp == 1 or (p.sharing.mode == "none" and r.engine != "tei")))


def exp_fits(r: ModelRequest, p: GpuPool, tp: int) -> bool:
    mem, share = slot(p)
    usable = mem * round(0.9 * share, 4)
    return is_legal(r, p, tp) and (exp_weights(r) + exp_kv(r)) / tp + exp_overhead(r.engine, tp) <= usable


def options(r: ModelRequest, pools) -> list[tuple[float, GpuPool, int]]:
    """Every (claimed GPU memory, pool, TP) that fits, by brute force over TP 1..16."""
    return [(tp * slot(p)[0] * slot(p)[1], p, tp) for p in pools for tp in range(1, 17) if exp_fits(r, p, tp)]


# --- invariants over every model × load × pool set -------------------------------------

@pytest.mark.parametrize("pool_set", POOL_SETS)
def test_every_request_is_placed_or_explained_and_placements_fit_are_legal_and_minimal(pool_set):
    pools = POOL_SETS[pool_set]
    reqs = [r for r in all_requests() if r.engine != "llamacpp"]
    result = plan(reqs, pools)
    assert len(result.placements) + len(result.problems) == len(reqs)
    assert {p.model for p in result.problems}.isdisjoint({p.model for p in result.placements})
    placed = {p.model: p for p in result.placements}
    checked = 0
    for r in reqs:
        if r.name not in placed:
            assert options(r, pools) == [], f"{r.name} fits somewhere but the plan refused it"
            continue
        p = placed[r.name]
        assert p.max_model_len == (r.max_model_len or r.architecture.max_context)
        chosen = next(x for x in pools if x.name == p.pool)
        tp, (mem, share) = p.tensor_parallel, slot(chosen)
        # fits: per GPU and in total, with the documented arithmetic
        assert (exp_weights(r) + exp_kv(r)) / tp + exp_overhead(r.engine, tp) <= mem * p.gpu_memory_utilization
        assert p.needed_gib == pytest.approx(exp_weights(r) + exp_kv(r) + tp * exp_overhead(r.engine, tp))
        assert p.allocated_gib == pytest.approx(tp * mem * p.gpu_memory_utilization)
        assert p.needed_gib <= p.allocated_gib
        # legal
        assert is_legal(r, chosen, tp), f"{r.name}: TP {tp} is not legal on {chosen.name}"
        # minimal: TP/2 would not fit; no pool with smaller per-GPU memory fits at this TP
        if tp > 1:
            assert not exp_fits(r, chosen, tp // 2), f"{r.name}: TP {tp // 2} would fit on {chosen.name}"
        for other in pools:
            if slot(other)[0] * slot(other)[1] < mem * share:
                assert not exp_fits(r, other, tp), f"{r.name}: smaller pool {other.name} fits at TP {tp}"
        # and nothing claims less GPU memory than the choice
        assert min(o[0] for o in options(r, pools)) == pytest.approx(tp * mem * share)
        # the rest of the placement follows from the pool and the TP
        assert p.gpus_per_replica == tp and p.gpu_memory_gib == mem and p.gpu_model == chosen.gpu_model
        assert p.node_selector == {"genai-platform.io/gpu-pool": chosen.name}
        assert list(p.tolerations) == chosen.tolerations
        assert p.gpu_memory_utilization == pytest.approx(0.9 * share)
        assert (p.shm_size is not None) == (tp > 1)
        checked += 1
    assert checked > 0 or pool_set in ("t4",), "the invariants were never exercised"


def test_invariants_were_exercised_with_tensor_parallelism():
    tps = {p.tensor_parallel for s in POOL_SETS.values() for p in plan(all_requests(), s).placements}
    assert {1, 2, 4, 8} <= tps


# --- sizing pinned to hand-computed numbers ------------------------------------------------

def test_sizing_of_llama_8b_by_hand():
    r = request("llama-3.1-8b-instruct")
    assert weights_gib(r) == pytest.approx(8.03e9 * 2 / 2**30)          # 14.96 GiB
    assert kv_cache_gib(r) == pytest.approx(16.0)                      # 128 KiB per token x 128K tokens
    assert kv_cache_gib(replace(r, max_model_len=8192, concurrent_sequences=4)) == pytest.approx(4.0)


def test_quantized_weights_and_encoders_without_kv_cache():
    assert weights_gib(request("llama-3.1-70b-instruct", quantization="awq")) == pytest.approx(70.6e9 * 0.5625 / 2**30)
    assert weights_gib(request("llama-3.1-70b-instruct", quantization="fp8")) == pytest.approx(70.6e9 / 2**30)
    assert weights_gib(request("qwen2.5-1.5b-instruct-gguf")) == pytest.approx(1.54e9 * 4.85 / 8 / 2**30)
    assert weights_gib(request("bge-base-en-v1.5")) == pytest.approx(0.109e9 * 4 / 2**30)
    assert kv_cache_gib(request("bge-reranker-large")) == 0.0


def test_legal_tensor_parallel_sizes_divide_heads_and_kv_heads():
    assert legal_tps(request("qwen2.5-7b-instruct"), A100) == (1, 2, 4)   # 28 heads, 4 KV heads
    assert legal_tps(request("llama-3.1-70b-instruct"), A100) == (1, 2, 4, 8)
    assert legal_tps(request("llama-3.1-70b-instruct"), L40S) == (1, 2, 4)  # 4 GPUs per node
    assert legal_tps(request("bge-reranker-large"), A100) == (1,)           # TEI never shards
    assert legal_tps(request("llama-3.1-70b-instruct"), A100_MIG) == (1,)
    assert legal_tps(request("llama-3.1-70b-instruct"), L40S_SLICED) == (1,)


def test_known_placements():
    result = plan([request("llama-3.1-8b-instruct"), request("llama-3.1-8b-instruct", name="short", max_model_len=8192),
                   request("llama-3.1-70b-instruct")], (L4, A100))
    full, short, big = result.placements
    assert (full.pool, full.tensor_parallel) == ("l4", 2)     # 14.96 + 16 + 2x3 = 37.0 > 1 x 21.6
    assert (short.pool, short.tensor_parallel) == ("l4", 1)
    assert (big.pool, big.tensor_parallel, big.max_model_len) == ("a100", 4, 131072)
    assert big.needed_gib == pytest.approx(70.6e9 * 2 / 2**30 + 40.0 + 4 * 3.0)
    assert big.allocated_gib == pytest.approx(4 * 80 * 0.9)
    # host side of a TP 4 replica: 2 vCPU per GPU, 4 + 2x4 GiB + 4 GiB shm; limit covers the weights
    assert (big.cpu_request, big.cpu_limit, big.shm_size) == ("8", "16", "4Gi")
    assert (big.memory_request, big.memory_limit) == ("16Gi", f"{math.ceil(70.6e9 * 2 / 2**30) + 4 + 4}Gi")
    assert (short.shm_size, short.memory_request) == (None, "6Gi")


def test_equal_claims_go_to_the_smaller_gpu():
    # 2 x L4 (48 GiB) and 1 x L40S (48 GiB) both fit the 8B model at full context.
    p = plan([request("llama-3.1-8b-instruct")], (L40S, L4)).placements[0]
    assert (p.pool, p.tensor_parallel) == ("l4", 2)


def test_equal_pools_are_taken_in_declared_order():
    assert plan([request("mistral-7b-instruct-v0.3", max_model_len=8192)], (A10G, L4)).placements[0].pool == "a10g"
    assert plan([request("mistral-7b-instruct-v0.3", max_model_len=8192)], (L4, A10G)).placements[0].pool == "l4"


def test_a_pinned_pool_is_used_even_when_another_is_cheaper():
    p = plan([request("llama-3.1-8b-instruct", pool="a100")], (L4, A100)).placements[0]
    assert (p.pool, p.tensor_parallel) == ("a100", 1)


# --- infeasible ---------------------------------------------------------------------------

def test_a_model_that_fits_no_pool_names_the_numbers_and_the_best_option():
    result = plan([request("llama-3.1-70b-instruct")], (T4, L4))
    assert result.placements == () and not result.ok
    (problem,) = result.problems
    assert problem.model == "llama-3.1-70b-instruct" and problem.key is None
    msg = problem.message
    assert msg.startswith("llama-3.1-70b-instruct does not fit any GPU pool: it needs 195.5 GiB at tensor-parallel 8")
    assert "(weights 131.5 + KV cache 40.0 for 1 × 131072 tokens + overhead 24.0)" in msg
    assert "the largest option, pool 'l4' offers 8 × L4 24 GiB at 0.90 = 172.8 GiB" in msg
    assert "tensor-parallel stops at the 8 GPUs of one node" in msg
    assert "lower serving.maxModelLen" in msg


def test_a_pinned_pool_that_is_too_small_says_so():
    (problem,) = plan([request("llama-3.1-70b-instruct", pool="t4")], (T4, A100)).problems
    assert problem.key == "pool"
    assert "does not fit pool 't4'" in problem.message and "pool 't4' (requested) offers 4 × T4 16 GiB" in problem.message


def test_head_count_limits_tensor_parallelism():
    (problem,) = plan([request("qwen2.5-7b-instruct", concurrent_sequences=32)], (pool("t4x8", "T4", 16, 8),)).problems
    assert "at tensor-parallel 4" in problem.message
    assert "tensor-parallel 8 would not divide its 28 attention heads and 4 KV heads" in problem.message


def test_unknown_pinned_pool_and_engine_task_mismatch():
    unknown, mismatch = plan([request("llama-3.1-8b-instruct", pool="h200"),
                              request("bge-base-en-v1.5", engine="vllm")], (L4,)).problems
    assert unknown.key == "pool" and "unknown GPU pool 'h200' (pools: 'l4', or 'cpu')" in unknown.message
    assert mismatch.key == "engine" and "engine 'vllm' does not serve 'embed' models" in mismatch.message


# --- GPU sharing ---------------------------------------------------------------------------

def test_time_sliced_gpus_give_each_replica_a_share_and_no_tensor_parallelism():
    emb = plan([request("bge-base-en-v1.5")], (L40S_SLICED,)).placements[0]
    assert (emb.pool, emb.tensor_parallel, emb.gpu_memory_gib) == ("l40s-shared", 1, 48)
    assert emb.gpu_memory_utilization == pytest.approx(0.225)          # 0.90 / 4 replicas
    assert emb.allocated_gib == pytest.approx(48 * 0.225)
    # needs TP 2 on 48 GiB GPUs; the time-sliced pool cannot give it
    (problem,) = plan([request("llama-3.1-70b-instruct", max_model_len=8192)], (L40S_SLICED,)).problems
    assert "a time-slicing pool runs each replica on one GPU" in problem.message
    assert "1 × L40S 48 GiB time-sliced 4 ways at 0.225 = 10.8 GiB" in problem.message


def test_a_model_too_big_for_a_share_skips_the_time_sliced_pool():
    p = plan([request("mistral-7b-instruct-v0.3", max_model_len=8192)], (L40S_SLICED, A100)).placements[0]
    assert p.pool == "a100" and p.gpu_memory_utilization == 0.9


def test_mig_slices_count_by_profile_memory():
    small = plan([request("bge-reranker-large")], (A100_MIG, A100)).placements[0]
    assert (small.pool, small.gpu_memory_gib, small.tensor_parallel) == ("a100-mig", 10, 1)
    assert small.allocated_gib == pytest.approx(9.0)
    big = plan([request("qwen2.5-7b-instruct", max_model_len=4096)], (A100_MIG, A100)).placements[0]
    assert big.pool == "a100"                                          # 15.3 GiB weights > a 10 GiB slice
    (problem,) = plan([request("qwen2.5-7b-instruct", max_model_len=4096)], (A100_MIG,)).problems
    assert "1 × A100-80GB MIG 1g.10gb 10 GiB at 0.90 = 9.0 GiB" in problem.message


# --- CPU -----------------------------------------------------------------------------------

def test_cpu_only_stack_serves_gguf_and_encoders_on_cpu():
    result = plan([request("qwen2.5-1.5b-instruct-gguf"), request("all-minilm-l6-v2"), request("bge-reranker-large")], ())
    assert result.ok
    gguf, mini, rerank = result.placements
    for p in result.placements:
        assert (p.pool, p.gpu_model, p.gpus_per_replica, p.tensor_parallel, p.shm_size) == (None, None, 0, 1, None)
        assert not p.on_gpu and p.node_selector == {} and p.tolerations == ()
        assert p.memory_request == p.memory_limit == f"{math.ceil(p.needed_gib)}Gi"
    w = 1.54e9 * 4.85 / 8 / 2**30
    kv = 2 * 28 * 2 * 128 * 2 * 32768 / 2**30
    assert gguf.needed_gib == pytest.approx(w * 1.5 + kv + 1)              # 3.18 GiB
    assert (gguf.memory_limit, gguf.cpu_request, gguf.cpu_limit) == ("4Gi", "2", "4")
    assert (mini.memory_limit, mini.cpu_request, mini.cpu_limit) == ("2Gi", "1", "2")
    assert (rerank.memory_limit, rerank.cpu_request) == (f"{math.ceil(0.56e9 * 4 / 2**30 * 1.5 + 1)}Gi", "2")


def test_pool_cpu_keeps_an_encoder_off_the_gpus_and_llamacpp_never_uses_them():
    placed = plan([request("bge-base-en-v1.5", pool="cpu"), request("qwen2.5-1.5b-instruct-gguf"),
                   request("bge-base-en-v1.5", name="on-gpu")], (L4,)).placements
    assert [(p.model, p.pool) for p in placed] == [
        ("bge-base-en-v1.5", None), ("qwen2.5-1.5b-instruct-gguf", None), ("on-gpu", "l4")]


def test_gpu_only_engines_cannot_run_on_cpu():
    no_pools, pinned_cpu, llamacpp_on_gpu = plan([
        request("llama-3.1-8b-instruct"),
        request("mistral-7b-instruct-v0.3", pool="cpu"),
        request("qwen2.5-1.5b-instruct-gguf", pool="l4"),
    ], ()).problems
    assert no_pools.key == "engine" and "runs on GPUs only and this stack has no GPU pools" in no_pools.message
    assert pinned_cpu.key == "pool" and "pool 'cpu' was requested" in pinned_cpu.message
    assert llamacpp_on_gpu.key == "pool" and "runs on CPU nodes only" in llamacpp_on_gpu.message


def test_placement_lookup_by_name():
    result = plan([request("all-minilm-l6-v2")], ())
    assert isinstance(result.placement("all-minilm-l6-v2"), Placement)
    assert result.placement("missing") is None
