"""Serving engines: pinned images, command lines, ports, probes, metrics and queue signals.

Pure data and builders, tested without Pulumi. Every model is loaded from the read-only
catalog mount (``model_path``), never from a hub at start-up; the offline switches below make
an engine fail fast instead of reaching out when a file is missing.

Images (each tag checked against the project's release tooling):

- vLLM ``vllm/vllm-openai:v0.28.0``: entrypoint ``vllm serve``; OpenAI API, ``/health``,
  Prometheus ``/metrics`` on the API port; queue gauge ``vllm:num_requests_waiting``.
- TGI ``ghcr.io/huggingface/text-generation-inference:3.3.4`` (the project is in maintenance
  mode; later release tags are not all published as CUDA images on GHCR): launcher flags ``--model-id --num-shard
  --max-input-tokens --max-total-tokens --cuda-memory-fraction``; ``/health`` and ``/metrics``
  on the API port; queue gauge ``tgi_queue_size``.
- Triton ``nvcr.io/nvidia/tritonserver:26.07-trtllm-python-py3``: HTTP 8000, gRPC 8001,
  metrics 8002; ``/v2/health/ready`` and ``/v2/health/live``; the TensorRT-LLM backend reports
  its queue as ``nv_trt_llm_request_metrics{request_type="waiting"}`` (Triton's own
  ``nv_inference_pending_request_count`` stays near zero because the decoupled backend takes
  requests immediately). The catalog entry must be a ready model repository whose engines
  were built for the pool's GPU and tensor-parallel size.
- TEI ``ghcr.io/huggingface/text-embeddings-inference:<variant>-1.9.3``: one image per compute
  capability (see ``TEI_VARIANTS``); ``/health`` and ``/metrics`` on the API port (the
  ``--prometheus-port`` listener is not started by the HTTP server); queue gauge
  ``te_queue_size``. The same image serves embeddings and rerankers (a sequence-classification
  checkpoint is served as a reranker).
- llama.cpp ``ghcr.io/ggml-org/llama.cpp:server-b11176`` (CPU build; images are published
  daily, not per build): ``-m --ctx-size --parallel --host --port --metrics --alias
  --cache-ram``;
  ``/health``; queue gauge ``llamacpp:requests_deferred``.

Who runs as whom: TGI installs its Python under ``/root`` (mode 0700), so it must run as root;
its container still drops every capability and forbids privilege escalation. vLLM, Triton
(its image ships the uid 1000 ``triton-server`` user), TEI and llama.cpp run as non-root with a
read-only root filesystem; their caches go to a writable ``/tmp`` emptyDir (``HOME`` points
there, ``USER`` is set so libraries that look up the user name work without a passwd entry).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from components.models.placement import ModelRequest, Placement

TEI_VERSION = "1.9.3"
TEI_REPOSITORY = "ghcr.io/huggingface/text-embeddings-inference"
VLLM_IMAGE = "vllm/vllm-openai:v0.28.0"
TGI_IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.4"
TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:26.07-trtllm-python-py3"
LLAMACPP_IMAGE = "ghcr.io/ggml-org/llama.cpp:server-b11176"

# TEI publishes one CUDA image per compute capability; a kernel built for another one fails.
# GPU model -> tag prefix (TEI's build matrix: turing 7.5, "" Ampere 8.0, 86, 89, hopper 9.0, 100).
TEI_VARIANTS: Mapping[str, str] = {
    "T4": "turing-",            # experimental upstream: no flash attention on Turing
    "A100-40GB": "", "A100-80GB": "", "A30": "",
    "A10": "86-", "A10G": "86-", "A40": "86-",
    "L4": "89-", "L40S": "89-", "RTX-6000-ADA": "89-",
    "H100-80GB": "hopper-", "H100-NVL-94GB": "hopper-", "H200-141GB": "hopper-",
    "B200-180GB": "100-",       # experimental upstream
}
TEI_CPU_VARIANT = "cpu-"

WRITABLE_DIR = "/tmp"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


@dataclass(frozen=True)
class Port:
    name: str
    number: int


@dataclass(frozen=True)
class EngineSpec:
    """What the platform needs to know to run one engine."""

    name: str
    ports: tuple[Port, ...]                 # the first is the API port, named "http"
    readiness_path: str
    liveness_path: str
    metrics_port: str                       # port name scraped for /metrics
    metrics_path: str
    queue_metric: str                       # PromQL selector of the engine's waiting requests
    queue_target: int                       # waiting requests per replica the autoscaler aims for
    api: str                                # "openai", "tei-rerank" or "kserve-v2"
    run_as_user: Optional[int]              # None: the image needs root
    read_only_root: bool

    @property
    def http_port(self) -> int:
        return self.ports[0].number

    def port(self, name: str) -> int:
        return next(p.number for p in self.ports if p.name == name)


HTTP = "http"

# Queue targets: the continuous-batching LLM engines are saturated once a few requests wait per
# replica; TEI batches many short inputs at once, so a few dozen waiting is one or two batches;
# llama.cpp on CPU has only its few slots.
ENGINES: Mapping[str, EngineSpec] = {
    "vllm": EngineSpec("vllm", (Port(HTTP, 8000),), "/health", "/health", HTTP, "/metrics",
                       "vllm:num_requests_waiting", 4, "openai", 65532, True),
    "tgi": EngineSpec("tgi", (Port(HTTP, 8080),), "/health", "/health", HTTP, "/metrics",
                      "tgi_queue_size", 4, "openai", None, False),
    "triton-trtllm": EngineSpec("triton-trtllm", (Port(HTTP, 8000), Port("grpc", 8001), Port("metrics", 8002)),
                                "/v2/health/ready", "/v2/health/live", "metrics", "/metrics",
                                'nv_trt_llm_request_metrics{request_type="waiting"}', 4, "kserve-v2", 1000, True),
    "tei": EngineSpec("tei", (Port(HTTP, 8080),), "/health", "/health", HTTP, "/metrics",
                      "te_queue_size", 32, "openai", 65532, True),
    "llamacpp": EngineSpec("llamacpp", (Port(HTTP, 8080),), "/health", "/health", HTTP, "/metrics",
                           "llamacpp:requests_deferred", 2, "openai", 65532, True),
}


def engine(name: str) -> EngineSpec:
    return ENGINES[name]


def image(req: ModelRequest, placement: Placement) -> str:
    """The pinned image for this model on this placement (TEI: by the pool's GPU)."""
    if req.engine == "vllm":
        return VLLM_IMAGE
    if req.engine == "tgi":
        return TGI_IMAGE
    if req.engine == "triton-trtllm":
        return TRITON_IMAGE
    if req.engine == "llamacpp":
        return LLAMACPP_IMAGE
    if not placement.on_gpu:
        return f"{TEI_REPOSITORY}:{TEI_CPU_VARIANT}{TEI_VERSION}"
    variant = TEI_VARIANTS.get(placement.gpu_model or "")
    if variant is None:
        raise ValueError(f"{req.name}: no TEI image for GPU model {placement.gpu_model!r} "
                         f"(known: {', '.join(sorted(TEI_VARIANTS))})")
    return f"{TEI_REPOSITORY}:{variant}{TEI_VERSION}"


def _fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


def _on_the_fly_fp8(req: ModelRequest) -> bool:
    # fp8 asked for on a 16/32-bit checkpoint: the engine quantizes while loading. Pre-quantized
    # checkpoints (AWQ, GPTQ, fp8 weights) describe themselves in config.json.
    return req.quantization == "fp8" and req.architecture.dtype != "fp8"


def args(req: ModelRequest, placement: Placement, model_path: str) -> list[str]:
    """Container arguments (after the image's entrypoint, or the command for Triton)."""
    spec = ENGINES[req.engine]
    if req.engine == "vllm":
        out = [
            "--model", model_path,
            "--served-model-name", req.name,
            "--tensor-parallel-size", str(placement.tensor_parallel),
            "--max-model-len", str(placement.max_model_len),
            "--gpu-memory-utilization", _fmt(placement.gpu_memory_utilization),
            "--enable-prefix-caching",
            "--host", "0.0.0.0",
            "--port", str(spec.http_port),
        ]
        if _on_the_fly_fp8(req):
            out += ["--quantization", "fp8"]
    elif req.engine == "tgi":
        out = [
            "--model-id", model_path,
            "--num-shard", str(placement.tensor_parallel),
            # TGI counts the prompt inside the total, so the prompt leaves room for one token.
            "--max-input-tokens", str(placement.max_model_len - 1),
            "--max-total-tokens", str(placement.max_model_len),
            "--cuda-memory-fraction", _fmt(placement.gpu_memory_utilization),
            "--hostname", "0.0.0.0",
            "--port", str(spec.http_port),
        ]
        if _on_the_fly_fp8(req):
            out += ["--quantize", "fp8"]
    elif req.engine == "triton-trtllm":
        out = [
            "tritonserver",
            f"--model-repository={model_path}",
            f"--http-port={spec.port(HTTP)}",
            f"--grpc-port={spec.port('grpc')}",
            f"--metrics-port={spec.port('metrics')}",
        ]
    elif req.engine == "tei":
        out = [
            "--model-id", model_path,
            "--served-model-name", req.name,
            "--hostname", "0.0.0.0",
            "--port", str(spec.http_port),
            "--json-output",
        ]
    else:  # llamacpp
        parallel = max(1, req.concurrent_sequences)
        out = [
            "-m", model_path,
            "--alias", req.name,
            # Without a unified KV buffer the context is split evenly between the slots.
            "--ctx-size", str(placement.max_model_len * parallel),
            "--parallel", str(parallel),
            "--host", "0.0.0.0",
            "--port", str(spec.http_port),
            "--metrics",
            # The server keeps finished prompts' KV state in host RAM, up to 8 GiB by default,
            # beyond what the pod's memory (weights + KV + runtime) allows: the kernel would
            # OOM-kill the pod once enough distinct prompts were cached.
            "--cache-ram", "0",
        ]
    return [*out, *req.extra_args]


def env(req: ModelRequest, placement: Placement) -> list[dict]:
    """Environment of the server container: offline switches, writable caches, engine knobs."""
    spec = ENGINES[req.engine]
    values: dict[str, str] = dict(OFFLINE_ENV)
    if spec.read_only_root:
        values.update({"HOME": WRITABLE_DIR, "XDG_CACHE_HOME": f"{WRITABLE_DIR}/.cache", "USER": req.engine})
    if req.engine == "vllm":
        values.update({"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"})
    elif req.engine == "tgi":
        values["USAGE_STATS"] = "off"
    elif req.engine == "triton-trtllm" and placement.tensor_parallel > 1:
        # Orchestrator mode: tritonserver spawns one worker per rank itself (no mpirun wrapper).
        values["TRTLLM_ORCHESTRATOR"] = "1"
    return [{"name": k, "value": v} for k, v in values.items()]


def uses_command(engine_name: str) -> bool:
    """Whether ``args`` replaces the image's command (Triton) rather than following its entrypoint."""
    return engine_name == "triton-trtllm"


def startup_budget_seconds(placement: Placement) -> int:
    """How long a replica may take to load: 60 s plus 10 s per GiB of weights."""
    return int(60 + math.ceil(placement.weights_gib) * 10)


def queue_query(engine_name: str, namespace: str, service: str) -> str:
    """PromQL: the engine's waiting requests summed over the model's pods (0 when none report)."""
    metric = ENGINES[engine_name].queue_metric
    scope = f'namespace="{namespace}",service="{service}"'
    if metric.endswith("}"):
        selector = f"{metric[:-1]},{scope}}}"
    else:
        selector = f"{metric}{{{scope}}}"
    return f"sum({selector}) or vector(0)"


def openai_base_path(engine_name: str, task: str) -> Optional[str]:
    """Path prefix of the OpenAI-compatible API, or None when the engine doesn't speak it."""
    spec = ENGINES[engine_name]
    if spec.api != "openai" or (engine_name == "tei" and task == "rerank"):
        return None
    return "/v1"


def api(engine_name: str, task: str) -> str:
    if engine_name == "tei" and task == "rerank":
        return "tei-rerank"
    return ENGINES[engine_name].api
