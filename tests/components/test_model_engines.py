"""Engines: images per GPU, command lines, environment, metrics and queue queries."""

from __future__ import annotations

import re

import pytest

from components.models import engines
from components.models.placement import Architecture, ModelRequest, ModelSource, Placement

ARCH = Architecture(params_b=8.0, dtype="bfloat16", layers=32, attention_heads=32, kv_heads=8, head_dim=128,
                    max_context=131072)
REV = "0e9e39f249a16976918f6564b8830bc894c89659"


def request(name="llama", engine="vllm", task="generate", **kw) -> ModelRequest:
    return ModelRequest(name=name, task=task, engine=engine, source=ModelSource("hf://org/model", REV),
                        architecture=kw.pop("architecture", ARCH), **kw)


def gpu(model="llama", gpu_model="A100-80GB", tp=1, **kw) -> Placement:
    return Placement(model=model, pool="a100", gpu_model=gpu_model, gpu_memory_gib=80, tensor_parallel=tp,
                     gpus_per_replica=tp, max_model_len=8192, gpu_memory_utilization=0.9, needed_gib=30.0,
                     allocated_gib=72.0 * tp, weights_gib=14.96, cpu_request=str(2 * tp), cpu_limit=str(4 * tp),
                     memory_request="6Gi", memory_limit="19Gi", shm_size=f"{max(2, tp)}Gi" if tp > 1 else None,
                     node_selector={"genai-platform.io/gpu-pool": "a100"},
                     tolerations=({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                   "effect": "NoSchedule"},), **kw)


def cpu(model="embed", **kw) -> Placement:
    return Placement(model=model, pool=None, gpu_model=None, gpu_memory_gib=0, tensor_parallel=1, gpus_per_replica=0,
                     max_model_len=512, gpu_memory_utilization=0.0, needed_gib=1.2, allocated_gib=2.0,
                     weights_gib=0.4, cpu_request="1", cpu_limit="2", memory_request="2Gi", memory_limit="2Gi",
                     shm_size=None, **kw)


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_vllm_openai_server_args():
    argv = engines.args(request(extra_args=("--enable-chunked-prefill",)), gpu(tp=2), "/models/llama/0e9e39f249a1")
    assert flag(argv, "--model") == "/models/llama/0e9e39f249a1"
    assert flag(argv, "--served-model-name") == "llama"
    assert flag(argv, "--tensor-parallel-size") == "2"
    assert flag(argv, "--max-model-len") == "8192"
    assert flag(argv, "--gpu-memory-utilization") == "0.9"
    assert flag(argv, "--port") == "8000"
    assert "--enable-prefix-caching" in argv
    assert argv[-1] == "--enable-chunked-prefill", "extra args come last so they can override"
    assert "--quantization" not in argv


def test_fp8_quantizes_on_load_only_for_16_bit_checkpoints():
    assert flag(engines.args(request(quantization="fp8"), gpu(), "/m"), "--quantization") == "fp8"
    prequantized = request(quantization="fp8", architecture=Architecture(8.0, "fp8", 32, 32, 8, 128, 131072))
    assert "--quantization" not in engines.args(prequantized, gpu(), "/m")
    assert "--quantization" not in engines.args(request(quantization="awq"), gpu(), "/m")
    assert flag(engines.args(request(engine="tgi", quantization="fp8"), gpu(), "/m"), "--quantize") == "fp8"


def test_tgi_launcher_args():
    argv = engines.args(request(engine="tgi"), gpu(tp=4), "/models/llama/x")
    assert flag(argv, "--model-id") == "/models/llama/x"
    assert flag(argv, "--num-shard") == "4"
    assert flag(argv, "--max-input-tokens") == "8191"
    assert flag(argv, "--max-total-tokens") == "8192"
    assert flag(argv, "--cuda-memory-fraction") == "0.9"
    assert flag(argv, "--port") == "8080"


def test_triton_runs_tritonserver_on_the_model_repository():
    argv = engines.args(request(engine="triton-trtllm"), gpu(), "/models/llama/x")
    assert engines.uses_command("triton-trtllm")
    assert argv[:2] == ["tritonserver", "--model-repository=/models/llama/x"]
    assert {"--http-port=8000", "--grpc-port=8001", "--metrics-port=8002"} <= set(argv)
    spec = engines.ENGINES["triton-trtllm"]
    assert [(p.name, p.number) for p in spec.ports] == [("http", 8000), ("grpc", 8001), ("metrics", 8002)]
    assert (spec.readiness_path, spec.liveness_path) == ("/v2/health/ready", "/v2/health/live")
    env1 = {e["name"] for e in engines.env(request(engine="triton-trtllm"), gpu(tp=1))}
    env2 = {e["name"]: e["value"] for e in engines.env(request(engine="triton-trtllm"), gpu(tp=2))}
    assert "TRTLLM_ORCHESTRATOR" not in env1 and env2["TRTLLM_ORCHESTRATOR"] == "1"


@pytest.mark.parametrize(("gpu_model", "tag"), [
    ("A100-80GB", "1.9.3"), ("A30", "1.9.3"), ("A10G", "86-1.9.3"), ("A40", "86-1.9.3"),
    ("L4", "89-1.9.3"), ("L40S", "89-1.9.3"), ("H100-80GB", "hopper-1.9.3"), ("H200-141GB", "hopper-1.9.3"),
    ("T4", "turing-1.9.3"), ("B200-180GB", "100-1.9.3"),
])
def test_tei_image_follows_the_pool_compute_capability(gpu_model, tag):
    req = request(name="embed", engine="tei", task="embed")
    assert engines.image(req, gpu("embed", gpu_model)) == f"ghcr.io/huggingface/text-embeddings-inference:{tag}"


def test_tei_cpu_image_and_rerank_on_the_same_image():
    embed = request(name="embed", engine="tei", task="embed")
    rerank = request(name="rerank", engine="tei", task="rerank")
    assert engines.image(embed, cpu()) == "ghcr.io/huggingface/text-embeddings-inference:cpu-1.9.3"
    assert engines.image(rerank, cpu("rerank")) == engines.image(embed, cpu())
    argv = engines.args(embed, cpu(), "/models/embed/abc")
    assert flag(argv, "--model-id") == "/models/embed/abc"
    assert flag(argv, "--served-model-name") == "embed"
    assert flag(argv, "--port") == "8080"
    assert engines.openai_base_path("tei", "embed") == "/v1"
    assert engines.openai_base_path("tei", "rerank") is None and engines.api("tei", "rerank") == "tei-rerank"


def test_tei_refuses_a_gpu_it_has_no_image_for():
    with pytest.raises(ValueError, match="no TEI image"):
        engines.image(request(name="embed", engine="tei", task="embed"), gpu("embed", "MI300X"))


def test_llamacpp_server_args():
    req = request(name="small", engine="llamacpp", concurrent_sequences=4, weights_file="m-q4_k_m.gguf")
    argv = engines.args(req, cpu("small"), "/models/small/abc/m-q4_k_m.gguf")
    assert flag(argv, "-m") == "/models/small/abc/m-q4_k_m.gguf"
    assert flag(argv, "--parallel") == "4"
    assert flag(argv, "--ctx-size") == str(512 * 4), "each of the slots gets the full context"
    assert flag(argv, "--host") == "0.0.0.0" and flag(argv, "--port") == "8080"
    assert "--metrics" in argv
    assert flag(argv, "--alias") == "small"
    assert flag(argv, "--cache-ram") == "0", "the host-RAM prompt cache (8 GiB by default) is not in the pod's memory"


@pytest.mark.parametrize("engine", sorted(engines.ENGINES))
def test_every_engine_is_offline_and_pinned(engine):
    task = {"tei": "embed"}.get(engine, "generate")
    placement = cpu("m") if engine == "llamacpp" else gpu("m")
    req = request(name="m", engine=engine, task=task)
    env = {e["name"]: e["value"] for e in engines.env(req, placement)}
    assert env["HF_HUB_OFFLINE"] == "1"
    image = engines.image(req, placement)
    assert re.fullmatch(r"[a-z0-9./-]+:[A-Za-z0-9._-]+", image) and not image.endswith(":latest")
    if engines.ENGINES[engine].read_only_root:
        assert env["HOME"] == "/tmp", "a read-only root filesystem needs a writable home for caches"


@pytest.mark.parametrize(("engine", "metric"), [
    ("vllm", "vllm:num_requests_waiting"), ("tgi", "tgi_queue_size"), ("tei", "te_queue_size"),
    ("llamacpp", "llamacpp:requests_deferred"), ("triton-trtllm", "nv_trt_llm_request_metrics"),
])
def test_queue_query_sums_the_engine_metric_over_the_model_service(engine, metric):
    query = engines.queue_query(engine, "models", "llama")
    assert query.startswith(f"sum({metric}{{")
    assert 'namespace="models"' in query and 'service="llama"' in query
    assert query.endswith(" or vector(0)")
    assert query.count("{") == query.count("}") == 1


def test_triton_queue_query_keeps_the_waiting_selector():
    query = engines.queue_query("triton-trtllm", "models", "llama")
    assert query == ('sum(nv_trt_llm_request_metrics{request_type="waiting",namespace="models",service="llama"})'
                     " or vector(0)")


def test_startup_budget_grows_with_weights():
    assert engines.startup_budget_seconds(gpu()) == 60 + 15 * 10
    assert engines.startup_budget_seconds(cpu()) == 70
