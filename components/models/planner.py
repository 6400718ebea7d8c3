"""Capacity planner: where each model runs, on how many GPUs, with what memory. Pure.

Sizing (GiB = 2**30 bytes; parameters in billions of 1e9):

- weights  = params × bytes per parameter of the quantization, or of the dtype when
  unquantized: float32 4, bfloat16/float16 2, fp8/int8 1, int4 0.5, awq/gptq 4.5 bits / 8
  (group scales and 16-bit embeddings and head on top of the 4-bit weights),
  gguf-q4_k_m 4.85 bits / 8, gguf-q8_0 8.5 bits / 8.
- KV cache = 2 (K and V) × layers × KV heads × head dim × 2 bytes × max_model_len ×
  concurrent sequences, for generate models; the encoders TEI serves keep no KV cache.
  The cache is sized at 16 bits even for fp8 weights: the servers keep a 16-bit cache
  unless told otherwise (``--kv-cache-dtype``), which the platform does not do.
- overhead, per GPU = CUDA context (0.5) + the engine's activations / CUDA graphs /
  workspace + NCCL buffers when TP > 1 (see ``ENGINES``).
- usable per GPU = GPU memory × the engine's memory utilization (× the time-slice share).
- fits(TP) ⇔ (weights + KV) / TP + overhead ≤ usable per GPU
          ⇔ weights + KV + TP × overhead ≤ TP × usable per GPU   (``needed`` ≤ ``allocated``).

Legal tensor-parallel sizes are powers of two that divide both the attention heads and the
KV heads (vLLM could replicate KV heads beyond that; we do not rely on it), at most the GPUs
of one node (no multi-node serving) and at most what the engine shards to (TEI: 1).

GPU sharing: a MIG pool offers slices of its profile's memory (``1g.10gb`` -> 10 GiB, the
profile's GB read as GiB) and TP 1, since a replica cannot span slices. A time-sliced GPU
gives no memory isolation: its ``replicas`` pods may share one GPU, so each gets
1/replicas of the engine's utilization (vLLM's documented way of co-locating instances)
and TP 1.

Choice: a pinned ``pool`` is the only candidate; otherwise every pool is. For each, the
smallest legal TP that fits; among those, the one claiming the least GPU memory
(TP × per-GPU memory, time-slice share applied), ties to smaller per-GPU memory, then
pool order. Hence a placement never uses TP/2 that would fit, and no pool with smaller
per-GPU memory fits at the chosen TP (it would claim less and have been chosen).

CPU: llama.cpp always runs on CPU; TEI runs on CPU when the stack has no GPU pools or
``pool`` is ``cpu``. Memory = ceil(weights × 1.5 + KV + 1) GiB (the runtime, tokenizer and
page cache of the mapped file), request = limit.

Host resources of a GPU replica: 2 vCPU per GPU requested (one busy process per
tensor-parallel rank plus the API server), 4 per GPU as the limit. Memory request
4 GiB + 2 GiB per GPU + /dev/shm: small enough to schedule on 16 GiB single-GPU nodes,
because the loaders map safetensors files (page cache, reclaimable) rather than copy them;
limit = weights + 4 GiB + /dev/shm, so a loader that does buffer the weights is not killed.
When TP > 1, /dev/shm (memory-backed, counted in the pod's memory) gets 1 GiB per GPU,
at least 2 GiB (NCCL's intra-node transport and the engines' worker queues use it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional, Protocol, Union

from components.models.placement import Architecture, ModelRequest, Placement, Quantization

GIB = 2**30
KV_BYTES_PER_ELEMENT = 2
CUDA_CONTEXT_GIB = 0.5
CPU_WEIGHTS_FACTOR = 1.5
CPU_RUNTIME_GIB = 1.0
HOST_BASE_GIB = 4
HOST_PER_GPU_GIB = 2
SHM_PER_GPU_GIB = 1
SHM_MIN_GIB = 2

DTYPE_BYTES: Mapping[str, float] = {
    "float32": 4.0, "bfloat16": 2.0, "float16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5,
}
QUANTIZATION_BYTES: Mapping[str, float] = {
    # 4-bit AWQ/GPTQ files carry a 16-bit scale and zero per group of 128 weights and keep the
    # embeddings and output head in 16 bits: published 4-bit builds weigh ~0.56 bytes/param.
    "fp8": 1.0, "int8": 1.0, "awq": 4.5 / 8, "gptq": 4.5 / 8, "gguf-q4_k_m": 4.85 / 8, "gguf-q8_0": 8.5 / 8,
}


@dataclass(frozen=True)
class EngineProfile:
    """What the planner needs to know about a serving engine."""

    tasks: frozenset[str]
    gpu: bool                       # can run on GPU pools
    cpu: bool                       # can run on CPU nodes
    memory_utilization: float       # fraction of each GPU the engine is allowed to use
    overhead_gib: float             # activations, CUDA graphs, workspace per GPU (besides the CUDA context)
    nccl_gib: float = 0.5           # extra per GPU when TP > 1 (NCCL / custom all-reduce buffers)
    max_tp: int = 16


# One place for the per-engine numbers. vLLM: --gpu-memory-utilization (default 0.9 there too);
# its profiling run peaks at ~1-2 GiB of activations and CUDA graphs capture ~0.5-1 GiB more.
# TGI: --cuda-memory-fraction (default 1.0; 0.9 leaves the same margin), prefill warm-up
# buffers. TensorRT-LLM: kv_cache_free_gpu_mem_fraction applies to memory left after the
# engine, whose activation buffers are larger. TEI has no memory flag; 0.9 is our margin and
# it never shards. llama.cpp is served on CPU only here.
ENGINES: Mapping[str, EngineProfile] = {
    "vllm": EngineProfile(frozenset({"generate"}), gpu=True, cpu=False, memory_utilization=0.90, overhead_gib=2.0),
    "tgi": EngineProfile(frozenset({"generate"}), gpu=True, cpu=False, memory_utilization=0.90, overhead_gib=2.0),
    "triton-trtllm": EngineProfile(frozenset({"generate"}), gpu=True, cpu=False, memory_utilization=0.90,
                                   overhead_gib=2.5),
    "tei": EngineProfile(frozenset({"embed", "rerank"}), gpu=True, cpu=True, memory_utilization=0.90,
                         overhead_gib=1.0, nccl_gib=0.0, max_tp=1),
    "llamacpp": EngineProfile(frozenset({"generate"}), gpu=False, cpu=True, memory_utilization=0.0,
                              overhead_gib=0.0, nccl_gib=0.0, max_tp=1),
}

_MIG_PROFILE = re.compile(r"^(\d+)g\.(\d+)gb$")


class SharingLike(Protocol):
    @property
    def mode(self) -> str: ...
    @property
    def replicas(self) -> Optional[int]: ...
    @property
    def mig_profile(self) -> Optional[str]: ...


class PoolLike(Protocol):
    """What the planner reads of a GPU pool; ``components.cluster.info.GpuPool`` has it all."""

    @property
    def name(self) -> str: ...
    @property
    def gpu_model(self) -> str: ...
    @property
    def gpu_memory_gib(self) -> int: ...
    @property
    def gpus_per_node(self) -> int: ...
    @property
    def node_selector(self) -> Mapping[str, str]: ...
    @property
    def sharing(self) -> SharingLike: ...
    @property
    def tolerations(self) -> Sequence[Mapping[str, str]]: ...


@dataclass(frozen=True)
class PlanProblem:
    model: str
    message: str
    key: Optional[str] = None       # the model's config key the problem is about ("pool", "engine", ...)


@dataclass(frozen=True)
class PlanResult:
    placements: tuple[Placement, ...]
    problems: tuple[PlanProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def placement(self, model: str) -> Optional[Placement]:
        return next((p for p in self.placements if p.model == model), None)


# --- sizing -------------------------------------------------------------------------------

def bytes_per_param(arch: Architecture, quantization: Quantization) -> float:
    return QUANTIZATION_BYTES[quantization] if quantization != "none" else DTYPE_BYTES[arch.dtype]


def weights_gib(req: ModelRequest) -> float:
    return req.architecture.params_b * 1e9 * bytes_per_param(req.architecture, req.quantization) / GIB


def max_model_len(req: ModelRequest) -> int:
    return req.max_model_len or req.architecture.max_context


def kv_cache_gib(req: ModelRequest) -> float:
    if req.task != "generate":
        return 0.0
    a = req.architecture
    per_token = 2 * a.layers * a.kv_heads * a.head_dim * KV_BYTES_PER_ELEMENT
    return per_token * max_model_len(req) * req.concurrent_sequences / GIB


def overhead_gib(engine: str, tp: int) -> float:
    """Per-GPU memory the engine needs besides weights and KV cache."""
    p = ENGINES[engine]
    return CUDA_CONTEXT_GIB + p.overhead_gib + (p.nccl_gib if tp > 1 else 0.0)


def needed_gib(req: ModelRequest, tp: int) -> float:
    return weights_gib(req) + kv_cache_gib(req) + tp * overhead_gib(req.engine, tp)


# --- pools --------------------------------------------------------------------------------

def mig_memory_gib(profile: str) -> int:
    m = _MIG_PROFILE.match(profile)
    if not m:
        raise ValueError(f"not a MIG profile: {profile!r} (expected e.g. '1g.10gb')")
    return int(m.group(2))


def gpu_memory_gib(pool: PoolLike) -> int:
    """Memory of one schedulable GPU: a MIG slice's, or the whole GPU's."""
    if pool.sharing.mode == "mig":
        return mig_memory_gib(pool.sharing.mig_profile or "")
    return pool.gpu_memory_gib


def memory_share(pool: PoolLike) -> float:
    return 1.0 / (pool.sharing.replicas or 1) if pool.sharing.mode == "time-slicing" else 1.0


def effective_gpu_memory_gib(pool: PoolLike) -> float:
    """GPU memory one replica may claim per GPU, before the engine's utilization."""
    return gpu_memory_gib(pool) * memory_share(pool)


def memory_utilization(pool: PoolLike, engine: str) -> float:
    return round(ENGINES[engine].memory_utilization * memory_share(pool), 4)


def allocated_gib(pool: PoolLike, engine: str, tp: int) -> float:
    return tp * gpu_memory_gib(pool) * memory_utilization(pool, engine)


def max_tp(pool: PoolLike, engine: str) -> int:
    if pool.sharing.mode != "none":
        return 1
    return min(pool.gpus_per_node, ENGINES[engine].max_tp)


def legal_tps(req: ModelRequest, pool: PoolLike) -> tuple[int, ...]:
    """Tensor-parallel sizes ``req`` may use on ``pool``, ascending; always starts with 1."""
    a, out, tp = req.architecture, [], 1
    while tp <= max_tp(pool, req.engine):
        if a.attention_heads % tp == 0 and a.kv_heads % tp == 0:
            out.append(tp)
        tp *= 2
    return tuple(out)


def fits(req: ModelRequest, pool: PoolLike, tp: int) -> bool:
    if tp not in legal_tps(req, pool):
        return False
    per_gpu = (weights_gib(req) + kv_cache_gib(req)) / tp + overhead_gib(req.engine, tp)
    usable = gpu_memory_gib(pool) * memory_utilization(pool, req.engine)
    return per_gpu <= usable and needed_gib(req, tp) <= allocated_gib(pool, req.engine, tp)


# --- placements ---------------------------------------------------------------------------

def shm_gib(tp: int) -> int:
    return max(SHM_MIN_GIB, SHM_PER_GPU_GIB * tp) if tp > 1 else 0


def _cpu_cores(params_b: float) -> int:
    for limit, cores in ((0.2, 1), (3.0, 2), (14.0, 4)):
        if params_b <= limit:
            return cores
    return 8


def _gpu_placement(req: ModelRequest, pool: PoolLike, tp: int) -> Placement:
    weights, shm = weights_gib(req), shm_gib(tp)
    memory_request = HOST_BASE_GIB + HOST_PER_GPU_GIB * tp + shm
    memory_limit = max(memory_request, math.ceil(weights) + HOST_BASE_GIB + shm)
    return Placement(
        model=req.name, pool=pool.name, gpu_model=pool.gpu_model, gpu_memory_gib=gpu_memory_gib(pool),
        tensor_parallel=tp, gpus_per_replica=tp, max_model_len=max_model_len(req),
        gpu_memory_utilization=memory_utilization(pool, req.engine),
        needed_gib=needed_gib(req, tp), allocated_gib=allocated_gib(pool, req.engine, tp), weights_gib=weights,
        cpu_request=str(2 * tp), cpu_limit=str(4 * tp),
        memory_request=f"{memory_request}Gi", memory_limit=f"{memory_limit}Gi",
        shm_size=f"{shm}Gi" if tp > 1 else None,
        node_selector=dict(pool.node_selector), tolerations=tuple(dict(t) for t in pool.tolerations),
        min_replicas=req.min_replicas, max_replicas=req.max_replicas,
    )


def _cpu_placement(req: ModelRequest) -> Placement:
    weights = weights_gib(req)
    needed = weights * CPU_WEIGHTS_FACTOR + kv_cache_gib(req) + CPU_RUNTIME_GIB
    memory, cores = math.ceil(needed), _cpu_cores(req.architecture.params_b)
    return Placement(
        model=req.name, pool=None, gpu_model=None, gpu_memory_gib=0, tensor_parallel=1, gpus_per_replica=0,
        max_model_len=max_model_len(req), gpu_memory_utilization=0.0, needed_gib=needed,
        allocated_gib=float(memory), weights_gib=weights, cpu_request=str(cores), cpu_limit=str(2 * cores),
        memory_request=f"{memory}Gi", memory_limit=f"{memory}Gi", shm_size=None,
        min_replicas=req.min_replicas, max_replicas=req.max_replicas,
    )


def _fmt(x: float) -> str:
    return f"{x:.2f}" if round(x, 2) == x else f"{x:.4g}"


def _describe(pool: PoolLike, engine: str, tp: int) -> str:
    sharing = pool.sharing
    if sharing.mode == "mig":
        gpu = f"{pool.gpu_model} MIG {sharing.mig_profile} {gpu_memory_gib(pool)} GiB"
    elif sharing.mode == "time-slicing":
        gpu = f"{pool.gpu_model} {gpu_memory_gib(pool)} GiB time-sliced {sharing.replicas} ways"
    else:
        gpu = f"{pool.gpu_model} {gpu_memory_gib(pool)} GiB"
    util = memory_utilization(pool, engine)
    return f"{tp} × {gpu} at {_fmt(util)} = {allocated_gib(pool, engine, tp):.1f} GiB"


def _tp_limit(req: ModelRequest, pool: PoolLike, tp: int) -> str:
    """Why ``tp`` is the largest tensor-parallel size on ``pool``."""
    a, nxt = req.architecture, tp * 2
    if ENGINES[req.engine].max_tp <= tp:
        return f"; engine {req.engine!r} runs each replica on one GPU"
    if pool.sharing.mode != "none":
        return f"; a {pool.sharing.mode} pool runs each replica on one GPU"
    if nxt <= pool.gpus_per_node and (a.attention_heads % nxt or a.kv_heads % nxt):
        return (f"; tensor-parallel {nxt} would not divide its {a.attention_heads} attention heads "
                f"and {a.kv_heads} KV heads")
    return f"; tensor-parallel stops at the {pool.gpus_per_node} GPUs of one node"


def _infeasible(req: ModelRequest, candidates: Sequence[PoolLike]) -> str:
    best = max(candidates, key=lambda p: allocated_gib(p, req.engine, legal_tps(req, p)[-1]))
    tp = legal_tps(req, best)[-1]
    w, kv, ov = weights_gib(req), kv_cache_gib(req), tp * overhead_gib(req.engine, tp)
    kv_load = f"{req.concurrent_sequences} × {max_model_len(req)} tokens"
    where = f"pool {best.name!r} (requested)" if req.pool else f"the largest option, pool {best.name!r}"
    scope = f"pool {best.name!r}" if req.pool else "any GPU pool"
    return (f"{req.name} does not fit {scope}: it needs {w + kv + ov:.1f} GiB at tensor-parallel {tp} "
            f"(weights {w:.1f} + KV cache {kv:.1f} for {kv_load} + overhead {ov:.1f}) but {where} offers "
            f"{_describe(best, req.engine, tp)}{_tp_limit(req, best, tp)}; lower serving.maxModelLen or "
            "serving.concurrentSequences, quantize, or add a pool with more or larger GPUs")


def place(req: ModelRequest, pools: Sequence[PoolLike]) -> Union[Placement, PlanProblem]:
    """The placement of one model, or why it has none."""
    engine = ENGINES[req.engine]
    if req.task not in engine.tasks:
        return PlanProblem(req.name, f"{req.name}: engine {req.engine!r} does not serve {req.task!r} models "
                           f"(it serves {', '.join(sorted(engine.tasks))})", "engine")
    if max_model_len(req) > req.architecture.max_context:
        return PlanProblem(req.name, f"{req.name}: max_model_len {max_model_len(req)} exceeds the model's context "
                           f"of {req.architecture.max_context} tokens", "serving.maxModelLen")
    on_cpu = req.pool == "cpu" or (req.pool is None and (not engine.gpu or not pools))
    if on_cpu:
        if not engine.cpu:
            where = "pool 'cpu' was requested" if req.pool == "cpu" else "this stack has no GPU pools"
            return PlanProblem(req.name, f"{req.name}: engine {req.engine!r} runs on GPUs only and {where}; serve it "
                               "on CPU with engine 'llamacpp' and a GGUF weightsFile, or add a GPU pool",
                               "pool" if req.pool else "engine")
        return _cpu_placement(req)
    if not engine.gpu:
        return PlanProblem(req.name, f"{req.name}: engine {req.engine!r} runs on CPU nodes only; set pool to 'cpu' "
                           "or leave it out", "pool")
    candidates = [p for p in pools if req.pool is None or p.name == req.pool]
    if not candidates:
        names = ", ".join(repr(p.name) for p in pools)
        return PlanProblem(req.name, f"{req.name}: unknown GPU pool {req.pool!r} (pools: {names}, or 'cpu')", "pool")
    options = []
    for order, pool in enumerate(candidates):
        tp = next((t for t in legal_tps(req, pool) if fits(req, pool, t)), None)
        if tp is not None:
            per_gpu = effective_gpu_memory_gib(pool)
            options.append((tp * per_gpu, per_gpu, order, tp, pool))
    if not options:
        return PlanProblem(req.name, _infeasible(req, candidates), "pool" if req.pool else None)
    _, _, _, tp, pool = min(options, key=lambda o: o[:3])
    return _gpu_placement(req, pool, tp)


def plan(requests: Sequence[ModelRequest], pools: Sequence[PoolLike]) -> PlanResult:
    """Place every request; models that cannot be placed come back as problems, not exceptions."""
    placements: list[Placement] = []
    problems: list[PlanProblem] = []
    for req in requests:
        result = place(req, pools)
        if isinstance(result, Placement):
            placements.append(result)
        else:
            problems.append(result)
    return PlanResult(tuple(placements), tuple(problems))


@dataclass(frozen=True)
class PoolDemand:
    """GPUs the models placed on one pool ask for, against what the pool can hold at most."""

    pool: str
    min_gpus: int                   # at every model's minimum replicas
    max_gpus: int                   # at every model's maximum replicas
    capacity: Optional[int]         # max nodes × advertised GPUs per node; None: node count unknown
    models: tuple[str, ...]


def pool_demand(placements: Sequence[Placement], pools: Sequence[PoolLike]) -> tuple[PoolDemand, ...]:
    """Per GPU pool with models: their GPU demand at min and max replicas, and its capacity.

    Capacity is known on cloud pools (``max_size`` > 0): ``max_size`` nodes × the
    ``nvidia.com/gpu`` a node advertises (GPUs, time-sliced replicas or MIG slices).
    """
    out = []
    for pool in pools:
        mine = [p for p in placements if p.pool == pool.name]
        if not mine:
            continue
        max_size = getattr(pool, "max_size", 0)
        per_node = getattr(pool, "advertised_gpus_per_node", pool.gpus_per_node)
        out.append(PoolDemand(
            pool=pool.name,
            min_gpus=sum(p.min_replicas * p.gpus_per_replica for p in mine),
            max_gpus=sum(p.max_replicas * p.gpus_per_replica for p in mine),
            capacity=max_size * per_node if max_size else None,
            models=tuple(p.model for p in mine),
        ))
    return tuple(out)
