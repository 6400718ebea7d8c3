"""The ``models`` section: field validation, cross-field rules and capacity-plan problems.

Entries are validated with ``ModelConfig.model_validate`` and checked with the functions the
config loader calls, so each message here is exactly the one a user sees after the key path.
"""

from __future__ import annotations

from typing import Any, Optional

import pytest
from pydantic import ValidationError

from components.models.placement import ModelRequest
from infra.checks_models import check_models, models_problems, plan_problems, planning_pools
from infra.schema import GpuPoolConfig
from infra.schema_models import ModelConfig, to_request

SHA = "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"      # a well-formed commit sha for tests, not a real one
POOLS = [GpuPoolConfig.model_validate(p) for p in (
    {"name": "l4", "gpuModel": "L4", "gpusPerNode": 8},
    {"name": "a100", "gpuModel": "A100-80GB", "gpusPerNode": 8},
)]


def entry(**fields: Any) -> dict:
    """A valid entry for the 8B chat model, with ``fields`` changed (None removes a key)."""
    base = {"name": "chat", "wellKnown": "llama-3.1-8b-instruct", "revision": SHA}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def problems(*raw: dict, pools: Optional[list[GpuPoolConfig]] = None, target: str = "existing") -> list[tuple[str, str]]:
    return check_models([ModelConfig.model_validate(r) for r in raw], POOLS if pools is None else pools, target)


CUSTOM_60B = {"paramsB": 60.0, "layers": 64, "attentionHeads": 28, "kvHeads": 4, "headDim": 128, "maxContext": 32768}

BAD = [
    ("duplicate name", [entry(), entry(wellKnown="qwen2.5-7b-instruct")], None,
     "models[1].name", "duplicate model name 'chat' (also models[0])"),
    ("vllm for embeddings", [entry(name="emb", wellKnown="bge-base-en-v1.5", engine="vllm")], None,
     "models[0].engine", "engine 'vllm' serves generate models, not 'embed' (vLLM's pooling models are not used here"),
    ("tei for chat", [entry(engine="tei")], None,
     "models[0].engine", "engine 'tei' serves embed and rerank models, not 'generate'"),
    ("misspelt well-known model", [entry(wellKnown="llama-3.1-8b-instruc")], None,
     "models[0].wellKnown", "unknown well-known model 'llama-3.1-8b-instruc'; did you mean 'llama-3.1-8b-instruct'?"),
    ("hub source without revision", [entry(revision=None)], None,
     "models[0].revision", "required for Hugging Face sources: the 40-character commit sha of "
     "meta-llama/Llama-3.1-8B-Instruct to serve"),
    ("plain repo id is a hub source", [entry(wellKnown=None, revision=None, source="acme/chat-7b", task="generate",
                                             architecture={**CUSTOM_60B, "paramsB": 7.0})], None,
     "models[0].revision", "required for Hugging Face sources: the 40-character commit sha of acme/chat-7b"),
    ("revision for a bucket", [entry(source="s3://models/llama-3.1-8b")], None,
     "models[0].revision", "only applies to Hugging Face sources; a s3:// source is versioned by its path"),
    ("unknown pool", [entry(pool="l4s")], None,
     "models[0].pool", "unknown pool 'l4s'; did you mean 'l4'? (gpuPools: a100, l4; or 'cpu')"),
    ("min above max", [entry(replicas={"min": 3, "max": 2})], None,
     "models[0].replicas.min", "3 is greater than replicas.max 2"),
    ("max zero", [entry(replicas={"min": 0, "max": 0})], None,
     "models[0].replicas.max", "must be at least 1; set replicas.min to 0 to scale to zero when idle"),
    ("context too long", [entry(wellKnown="qwen2.5-7b-instruct", serving={"maxModelLen": 65536})], None,
     "models[0].serving.maxModelLen",
     "65536 exceeds the model's maximum context of 32768 tokens (well-known model 'qwen2.5-7b-instruct')"),
    ("llamacpp with a non-GGUF file", [entry(wellKnown=None, task="generate", engine="llamacpp", source="pvc://models/m",
                                             revision=None, architecture={**CUSTOM_60B, "paramsB": 1.0},
                                             weightsFile="model.safetensors", pool="cpu")], None,
     "models[0].weightsFile", "must name a GGUF file ending in '.gguf' for engine 'llamacpp'; got 'model.safetensors'"),
    ("llamacpp without a file", [entry(wellKnown="qwen2.5-1.5b-instruct-gguf", source="acme/tiny-gguf")], None,
     "models[0].weightsFile", "required when engine is 'llamacpp': the GGUF file in the source to load"),
    ("weights file for vllm", [entry(weightsFile="model.gguf")], None,
     "models[0].weightsFile", "only applies when engine is 'llamacpp'"),
    ("gguf quantization for vllm", [entry(quantization="gguf-q4_k_m")], None,
     "models[0].quantization", "'gguf-q4_k_m' is a llama.cpp format; use engine 'llamacpp' or another quantization"),
    ("triton on a CPU-only stack", [entry(engine="triton-trtllm")], [],
     "models[0].engine", "engine 'triton-trtllm' runs on GPUs only and this stack has no gpuPools; on CPU, serve "
     "generate models with engine 'llamacpp' and a GGUF weightsFile"),
    ("vllm pinned to cpu", [entry(pool="cpu")], None,
     "models[0].pool", "engine 'vllm' runs on GPUs only and pool is 'cpu'"),
    ("llamacpp pinned to a GPU pool", [entry(name="tiny", wellKnown="qwen2.5-1.5b-instruct-gguf", pool="l4")], None,
     "models[0].pool", "engine 'llamacpp' runs on CPU nodes only; set pool to 'cpu' or leave it out"),
    ("neither wellKnown nor architecture", [entry(wellKnown=None, task="generate", source="acme/chat-7b")], None,
     "models[0].architecture", "required when wellKnown is not set: paramsB, layers, attentionHeads"),
    ("both wellKnown and architecture", [entry(architecture=CUSTOM_60B)], None,
     "models[0].architecture", "set either wellKnown or architecture, not both"),
    ("no task without wellKnown", [entry(wellKnown=None, source="acme/chat-7b", architecture=CUSTOM_60B)], None,
     "models[0].task", "required when wellKnown is not set (generate, embed or rerank)"),
    ("kv heads not dividing heads", [entry(wellKnown=None, task="generate", source="acme/chat-7b",
                                           architecture={**CUSTOM_60B, "attentionHeads": 32, "kvHeads": 6})], None,
     "models[0].architecture.kvHeads", "6 must divide attentionHeads 32 (each KV head serves a whole group"),
    ("plan-owned flag in extraArgs", [entry(extraArgs=["--enable-prefix-caching", "--max-model-len=4096"])], None,
     "models[0].extraArgs[1]", "--max-model-len is set by the platform (use serving.maxModelLen)"),
    ("TP impossible: heads cap the shards below what the model needs",
     [entry(wellKnown=None, task="generate", source="acme/big-60b", architecture=CUSTOM_60B, pool="l4",
            serving={"maxModelLen": 8192})], None,
     "models[0].pool", "tensor-parallel 8 would not divide its 28 attention heads and 4 KV heads"),
    ("fits no pool", [entry(wellKnown="llama-3.1-70b-instruct")], POOLS[:1],
     "models[0]", "chat does not fit any GPU pool: it needs 195.5 GiB at tensor-parallel 8 "
     "(weights 131.5 + KV cache 40.0 for 1 × 131072 tokens + overhead 24.0) but the largest option, pool 'l4' "
     "offers 8 × L4 24 GiB at 0.90 = 172.8 GiB"),
]


@pytest.mark.parametrize("raw, pools, path, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_entry_reports_one_problem_at_its_key(raw, pools, path, message):
    found = problems(*raw, pools=pools)
    assert [p for p, _ in found] == [path], found
    assert message in found[0][1], found


FIELD_ERRORS = [
    ({"name": "Chat_1"}, ("name",), "must be a DNS-1123 label"),
    ({"source": "ftp://mirror/llama"}, ("source",), "must be a Hugging Face repo ('org/name' or 'hf://org/name')"),
    ({"revision": "main"}, ("revision",), "must be a full 40-character commit sha (lowercase hex); branches and tags"),
    ({"engine": "vllm2"}, ("engine",), "Input should be"),
    ({"wellknown": "llama-3.1-8b-instruct"}, ("wellknown",), "Extra inputs are not permitted"),
    ({"replicas": {"min": -1}}, ("replicas", "min"), "greater than or equal to 0"),
    ({"serving": {"maxModelLen": "8192"}}, ("serving", "maxModelLen"), "valid integer"),
    ({"architecture": {**CUSTOM_60B, "layers": 64.0}}, ("architecture", "layers"), "valid integer"),
]


@pytest.mark.parametrize("change, loc, message", FIELD_ERRORS, ids=[f[1][-1] for f in FIELD_ERRORS])
def test_field_errors_name_the_key(change, loc, message):
    with pytest.raises(ValidationError) as info:
        ModelConfig.model_validate(entry(**change))
    (err,) = info.value.errors()
    assert err["loc"] == loc and message in err["msg"], err


def test_sources_of_every_kind_are_accepted():
    for src in ("meta-llama/Llama-3.1-8B-Instruct", "hf://Qwen/Qwen2.5-7B-Instruct", "s3://models/llama/8b",
                "gs://acme-models/llama", "az://acmestore/models/llama", "pvc://model-cache/llama"):
        assert ModelConfig.model_validate(entry(source=src)).source == src


def test_well_known_entry_becomes_a_request():
    req = to_request(ModelConfig.model_validate(entry(replicas={"min": 0, "max": 3}, extraArgs=["--enable-prefix-caching"])))
    assert isinstance(req, ModelRequest)
    assert (req.task, req.engine, req.source.uri, req.source.revision) == (
        "generate", "vllm", "hf://meta-llama/Llama-3.1-8B-Instruct", SHA)
    assert (req.architecture.layers, req.architecture.kv_heads, req.architecture.max_context) == (32, 8, 131072)
    assert (req.min_replicas, req.max_replicas, req.extra_args, req.quantization) == (0, 3, ("--enable-prefix-caching",), "none")


def test_defaults_follow_the_task_and_the_table():
    emb = to_request(ModelConfig.model_validate(entry(name="emb", wellKnown="bge-reranker-base")))
    assert (emb.task, emb.engine) == ("rerank", "tei")
    custom = to_request(ModelConfig.model_validate(entry(wellKnown=None, task="embed", source="acme/embedder",
                                                         architecture={**CUSTOM_60B, "paramsB": 0.3})))
    assert (custom.engine, custom.source.uri) == ("tei", "hf://acme/embedder")
    gguf = to_request(ModelConfig.model_validate(entry(name="tiny", wellKnown="qwen2.5-1.5b-instruct-gguf")))
    assert (gguf.engine, gguf.quantization, gguf.weights_file) == (
        "llamacpp", "gguf-q4_k_m", "qwen2.5-1.5b-instruct-q4_k_m.gguf")
    assert gguf.source.uri == "hf://Qwen/Qwen2.5-1.5B-Instruct-GGUF"


def test_a_realistic_gpu_stack_and_a_laptop_stack_are_clean():
    gpu = [entry(), entry(name="big", wellKnown="llama-3.3-70b-instruct", serving={"maxModelLen": 32768,
                                                                                    "concurrentSequences": 8}),
           entry(name="emb", wellKnown="bge-base-en-v1.5", replicas={"min": 0, "max": 2}),
           entry(name="rerank", wellKnown="bge-reranker-large", pool="cpu"),
           entry(name="mixtral", wellKnown="mixtral-8x7b-instruct", pool="a100", quantization="fp8")]
    assert problems(*gpu) == []
    laptop = [entry(name="tiny", wellKnown="qwen2.5-1.5b-instruct-gguf", serving={"maxModelLen": 8192}),
              entry(name="emb", wellKnown="all-minilm-l6-v2")]
    assert problems(*laptop, pools=[]) == []


def test_entries_with_their_own_problems_are_not_planned_again():
    raw = [ModelConfig.model_validate(entry(pool="nope"))]
    assert models_problems(list(enumerate(raw)), {"l4"}, cpu_only=False)[0][0] == "models[0].pool"
    assert plan_problems(list(enumerate(raw)), planning_pools(POOLS)) == []


def test_invalid_pools_are_left_out_of_the_plan():
    bad = GpuPoolConfig.model_validate({"name": "mystery", "gpuModel": "Z100", "gpusPerNode": 8})
    mig = GpuPoolConfig.model_validate({"name": "mig", "gpuModel": "L4", "gpusPerNode": 8,
                                        "sharing": {"mode": "mig", "migProfile": "1g.10gb"}})
    assert [p.name for p in planning_pools([bad, mig, *POOLS])] == ["l4", "a100"]


def test_cloud_pools_take_their_gpus_from_the_instance_type():
    g6 = GpuPoolConfig.model_validate({"name": "l4", "instanceType": "g6.12xlarge"})
    (pool,) = planning_pools([g6], target="eks")
    assert (pool.gpu_model, pool.gpus_per_node, pool.gpu_memory_gib) == ("L4", 4, 24)
    # 4 x L4 cannot hold the 70B model at 32K tokens x 8 sequences: the check says so before anything exists
    (path, message), = problems(entry(name="big", wellKnown="llama-3.1-70b-instruct",
                                      serving={"maxModelLen": 32768, "concurrentSequences": 8}), pools=[g6], target="eks")
    assert path == "models[0]" and "4 × L4 24 GiB at 0.90 = 86.4 GiB" in message


def test_model_name_must_start_with_a_letter():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="must start with a letter"):
        ModelConfig.model_validate({"name": "8b-chat", "wellKnown": "llama-3.1-8b-instruct"})
