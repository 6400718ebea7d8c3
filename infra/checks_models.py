"""Rules that span the fields of a ``models`` entry, the entries, and the GPU pools.

Every rule returns ``(key path, message)`` pairs (``models[2].engine``) so that all problems
are reported at once, and the capacity plan runs here too: a model that fits no pool is a
configuration error reported with the others, before any resource is registered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from components.cluster.info import GpuPool
from components.common.gpus import GPU_MODELS
from components.models.engines import api as engine_api
from components.models.known import KNOWN_MODELS
from components.models.planner import ENGINES, PoolLike, plan, pool_demand
from infra.pools import gpu_pool
from infra.problems import Problem, suggest
from infra.schema import GpuPoolConfig
from infra.schema_models import ModelConfig, canary_entry, canary_name, to_request

GPU_ONLY_ENGINES = tuple(name for name, e in ENGINES.items() if not e.cpu)

# Flags the platform sets itself from the plan and the catalog; an extra copy would either be
# ignored or silently override the plan, so they are rejected with the key to use instead.
_PLAN = "the capacity planner sets it"
_SOURCE = "use source, revision and weightsFile"
_PORT = "the platform wires ports to its probes and Service"
RESERVED_ARGS: Mapping[str, Mapping[str, str]] = {
    "vllm": {"--tensor-parallel-size": _PLAN, "-tp": _PLAN, "--gpu-memory-utilization": _PLAN,
             "--max-model-len": "use serving.maxModelLen", "--model": _SOURCE, "--revision": _SOURCE, "--port": _PORT},
    "tgi": {"--num-shard": _PLAN, "--cuda-memory-fraction": _PLAN, "--max-total-tokens": "use serving.maxModelLen",
            "--model-id": _SOURCE, "--revision": _SOURCE, "--port": _PORT},
    "triton-trtllm": {"--model-repository": _SOURCE, "--http-port": _PORT, "--grpc-port": _PORT},
    "tei": {"--model-id": _SOURCE, "--revision": _SOURCE, "--port": _PORT},
    "llamacpp": {"--ctx-size": "use serving.maxModelLen", "-c": "use serving.maxModelLen", "--model": _SOURCE,
                 "-m": _SOURCE, "--port": _PORT},
}


def _identity_problems(at: str, m: ModelConfig) -> list[Problem]:
    out: list[Problem] = []
    if m.well_known and m.known is None:
        out.append((f"{at}.wellKnown", f"unknown well-known model {m.well_known!r}{suggest(m.well_known, KNOWN_MODELS)} "
                    f"(known: {', '.join(KNOWN_MODELS)})"))
    if m.well_known and m.architecture:
        out.append((f"{at}.architecture", "set either wellKnown or architecture, not both "
                    "(a well-known model's architecture is already known)"))
    if not m.well_known:
        if not m.architecture:
            out.append((f"{at}.architecture", "required when wellKnown is not set: paramsB, layers, attentionHeads, "
                        "kvHeads, headDim and maxContext from the model's config.json"))
        if not m.task:
            out.append((f"{at}.task", "required when wellKnown is not set (generate, embed or rerank)"))
        if not m.source:
            out.append((f"{at}.source", "required when wellKnown is not set (e.g. 'org/name' on Hugging Face)"))
    if m.architecture and m.architecture.attention_heads % m.architecture.kv_heads:
        a = m.architecture
        out.append((f"{at}.architecture.kvHeads", f"{a.kv_heads} must divide attentionHeads {a.attention_heads} "
                    "(each KV head serves a whole group of query heads)"))
    return out


def _source_problems(at: str, m: ModelConfig) -> list[Problem]:
    src = m.effective_source
    if src is None:
        return []
    if m.is_hub_source and m.revision is None:
        return [(f"{at}.revision", f"required for Hugging Face sources: the 40-character commit sha of "
                 f"{src.removeprefix('hf://')} to serve, so an upstream push cannot change what runs")]
    if not m.is_hub_source and m.revision is not None:
        scheme = src.split("://", 1)[0]
        return [(f"{at}.revision", f"only applies to Hugging Face sources; a {scheme}:// source is versioned by its path")]
    return []


def _engine_problems(at: str, m: ModelConfig, pool_names: set[str], cpu_only: bool) -> list[Problem]:
    task, engine = m.effective_task, m.effective_engine
    if engine is None:
        return []
    out: list[Problem] = []
    profile = ENGINES[engine]
    if task is not None and task not in profile.tasks:
        note = " (vLLM's pooling models are not used here; serve embeddings and reranking with 'tei')" \
            if engine == "vllm" else ""
        out.append((f"{at}.engine", f"engine {engine!r} serves {' and '.join(sorted(profile.tasks))} models, "
                    f"not {task!r}{note}"))
    if m.pool is not None and m.pool != "cpu" and m.pool not in pool_names:
        known = ", ".join(sorted(pool_names)) if pool_names else "none: this stack has no gpuPools"
        out.append((f"{at}.pool", f"unknown pool {m.pool!r}{suggest(m.pool, pool_names | {'cpu'})} "
                    f"(gpuPools: {known}; or 'cpu')"))
    elif not profile.cpu and (cpu_only or m.pool == "cpu"):
        why = "pool is 'cpu'" if m.pool == "cpu" else "this stack has no gpuPools"
        out.append((f"{at}.pool" if m.pool == "cpu" else f"{at}.engine",
                    f"engine {engine!r} runs on GPUs only and {why}; on CPU, serve generate models with engine "
                    "'llamacpp' and a GGUF weightsFile"))
    elif not profile.gpu and m.pool is not None and m.pool != "cpu":
        out.append((f"{at}.pool", f"engine {engine!r} runs on CPU nodes only; set pool to 'cpu' or leave it out"))
    for k, arg in enumerate(m.extra_args):
        flag = arg.split("=", 1)[0]
        hint = RESERVED_ARGS.get(engine, {}).get(flag)
        if hint:
            out.append((f"{at}.extraArgs[{k}]", f"{flag} is set by the platform ({hint})"))
    return out


def _format_problems(at: str, m: ModelConfig) -> list[Problem]:
    engine, quant, wf = m.effective_engine, m.quantization, m.effective_weights_file
    out: list[Problem] = []
    if engine == "llamacpp":
        if wf is None:
            out.append((f"{at}.weightsFile", "required when engine is 'llamacpp': the GGUF file in the source to load "
                        "(e.g. 'model-q4_k_m.gguf')"))
        elif not wf.endswith(".gguf"):
            out.append((f"{at}.weightsFile", f"must name a GGUF file ending in '.gguf' for engine 'llamacpp'; got {wf!r}"))
        elif wf.startswith("/") or ".." in wf.split("/"):
            out.append((f"{at}.weightsFile", f"must be a path inside the source, without '/' at the start or '..'; "
                        f"got {wf!r}"))
        if quant in ("fp8", "int8", "awq", "gptq"):
            out.append((f"{at}.quantization", f"engine 'llamacpp' loads GGUF files: use 'gguf-q4_k_m', 'gguf-q8_0', "
                        f"or 'none' for a 16-bit GGUF; got {quant!r}"))
    elif m.weights_file is not None:
        out.append((f"{at}.weightsFile", "only applies when engine is 'llamacpp'"))
    if engine and engine != "llamacpp" and quant and quant.startswith("gguf-"):
        out.append((f"{at}.quantization", f"{quant!r} is a llama.cpp format; use engine 'llamacpp' or another quantization"))
    if engine == "tei" and quant not in (None, "none"):
        out.append((f"{at}.quantization", "engine 'tei' serves unquantized weights; leave quantization out"))
    return out


def _size_problems(at: str, m: ModelConfig) -> list[Problem]:
    out: list[Problem] = []
    r = m.replicas
    if r.max_replicas == 0:
        out.append((f"{at}.replicas.max", "must be at least 1; set replicas.min to 0 to scale to zero when idle"))
    elif r.min_replicas > r.max_replicas:
        out.append((f"{at}.replicas.min", f"{r.min_replicas} is greater than replicas.max {r.max_replicas}"))
    arch, mml = m.effective_architecture, m.serving.max_model_len
    if arch is not None and mml is not None and mml > arch.max_context:
        origin = "architecture.maxContext" if m.architecture else f"well-known model {m.well_known!r}"
        out.append((f"{at}.serving.maxModelLen", f"{mml} exceeds the model's maximum context of {arch.max_context} "
                    f"tokens ({origin})"))
    return out


def entry_problems(i: int, m: ModelConfig, pool_names: set[str], cpu_only: bool) -> list[Problem]:
    at = f"models[{i}]"
    return (_identity_problems(at, m) + _source_problems(at, m) + _engine_problems(at, m, pool_names, cpu_only)
            + _format_problems(at, m) + _size_problems(at, m))


def canary_problems(i: int, m: ModelConfig, names: set[str], pool_names: set[str], cpu_only: bool) -> list[Problem]:
    """Problems of ``models[i].canary``: its name, whether it differs, and its own entry's."""
    c = canary_entry(m)
    if c is None:
        return []
    at, out = f"models[{i}].canary", []
    if c.name in names:
        out.append((at, f"the canary is served as {c.name!r}, which is another model's name; rename one of them"))
    if len(c.name) > 63:
        out.append((f"models[{i}].name", f"at most {63 - len(canary_name(''))} characters when a canary is set "
                    f"(it is served as {c.name!r}, which must be a DNS label)"))
    if entry_problems(i, m, pool_names, cpu_only):
        return out
    if (c.effective_source, c.revision, c.effective_engine, list(c.extra_args)) == \
            (m.effective_source, m.revision, m.effective_engine, list(m.extra_args)):
        out.append((at, "serves exactly what the model serves: set the revision, source, engine or extraArgs "
                    "the canary should try"))
    own = [(f"{at}{key.removeprefix(f'models[{i}]')}", msg) for key, msg in entry_problems(i, c, pool_names, cpu_only)]
    task, engine = m.effective_task, c.effective_engine
    if not own and task and engine and m.effective_engine and \
            engine_api(engine, task) != engine_api(m.effective_engine, task):
        own.append((f"{at}.engine", f"engine {engine!r} serves {task!r} through another API than "
                    f"{m.effective_engine!r}, so clients of {m.name!r} could not be split between them"))
    return out + own


def models_problems(models: list[tuple[int, ModelConfig]], pool_names: set[str], cpu_only: bool) -> list[Problem]:
    """Every problem of the entries that parsed; ``i`` is each entry's index in the stack's list."""
    out: list[Problem] = []
    seen: dict[str, int] = {}
    names = {m.name for _, m in models}
    for i, m in models:
        if m.name in seen:
            out.append((f"models[{i}].name", f"duplicate model name {m.name!r} (also models[{seen[m.name]}])"))
        seen.setdefault(m.name, i)
        out += entry_problems(i, m, pool_names, cpu_only)
        out += canary_problems(i, m, names, pool_names, cpu_only)
    return out


def _plannable(models: list[tuple[int, ModelConfig]], pool_names: set[str],
               cpu_only: bool) -> list[tuple[str, ModelConfig]]:
    """``(key, entry)`` of every entry and canary free of problems, canaries after their model."""
    names = {m.name for _, m in models}
    out: list[tuple[str, ModelConfig]] = []
    taken: set[str] = set()
    for i, m in models:
        if m.name in taken or entry_problems(i, m, pool_names, cpu_only):
            continue
        taken.add(m.name)
        out.append((f"models[{i}]", m))
        c = canary_entry(m)
        if c is not None and not canary_problems(i, m, names, pool_names, cpu_only):
            out.append((f"models[{i}].canary", c))
    return out


def plan_problems(models: list[tuple[int, ModelConfig]], pools: Sequence[PoolLike]) -> list[Problem]:
    """Run the capacity planner on the entries that have no problem of their own.

    Entries with problems are skipped: their plan would only repeat those problems.
    """
    entries = _plannable(models, {p.name for p in pools}, not pools)
    index = {m.name: key for key, m in entries}
    result = plan([to_request(m) for _, m in entries], pools)
    return [(index[p.model] + (f".{p.key}" if p.key else ""), p.message) for p in result.problems]


def planning_pools(configs: Sequence[GpuPoolConfig], target: str = "existing") -> tuple[GpuPool, ...]:
    """The pools the planner can use, exactly as the program builds them (``infra.pools``).

    Pools whose GPU cannot be resolved or whose MIG profile does not exist are left out:
    ``infra.checks`` reports them, and a plan on them would only add noise.
    """
    out = []
    for cfg in configs:
        try:
            pool = gpu_pool(cfg, target)
        except (KeyError, ValueError):
            continue
        model = GPU_MODELS.get(pool.gpu_model)
        if model is None or pool.gpus_per_node < 1:
            continue
        if pool.sharing.mode == "mig" and pool.sharing.mig_profile not in model.mig_profiles:
            continue
        out.append(pool)
    return tuple(out)


def check_models(models: Sequence[ModelConfig], gpu_pools: Sequence[GpuPoolConfig],
                 target: str = "existing") -> list[Problem]:
    """Every problem of a stack's ``models`` list: the entries' own, then the capacity plan's.

    ``target`` is the cluster target (``existing``, ``eks``, ...): on a cloud, a pool's
    instance type supplies its GPU model and count.
    """
    entries = list(enumerate(models))
    return (models_problems(entries, {p.name for p in gpu_pools}, cpu_only=not gpu_pools)
            + plan_problems(entries, planning_pools(gpu_pools, target)))


def capacity_problems(models: list[tuple[int, ModelConfig]], configs: Sequence[GpuPoolConfig],
                      target: str = "existing") -> list[Problem]:
    """Models whose minimum replicas alone need more GPUs than their pool can ever have.

    Only cloud pools know their most nodes (``maxSize``); the maximum replicas may exceed the
    pool (the autoscalers then share it), so only the minimum is an error.
    """
    pools = planning_pools(configs, target)
    clean = _plannable(models, {p.name for p in pools}, not pools)
    result = plan([to_request(m) for _, m in clean], pools)
    index = {c.name: i for i, c in enumerate(configs)}
    by_name = {p.name: p for p in pools}
    out: list[Problem] = []
    for d in pool_demand(result.placements, pools):
        if d.capacity is not None and d.min_gpus > d.capacity:
            pool = by_name[d.pool]
            out.append((f"gpuPools[{index[d.pool]}].maxSize",
                        f"the models on pool {d.pool!r} ({', '.join(d.models)}) need {d.min_gpus} GPUs at their "
                        f"minimum replicas, but {pool.max_size} nodes × {pool.advertised_gpus_per_node} GPUs hold "
                        f"{d.capacity}; raise maxSize or lower the models' replicas.min"))
    return out
