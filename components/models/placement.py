"""The contract between the capacity planner and the model-serving components.

``ModelRequest`` is what a stack asks for (after config validation and well-known model
lookup); ``Placement`` is what the planner decided. Model servers, the catalog and the
autoscaler read only these, never the stack config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

Task = Literal["generate", "embed", "rerank"]
Engine = Literal["vllm", "tgi", "triton-trtllm", "tei", "llamacpp"]
Dtype = Literal["float32", "bfloat16", "float16", "fp8", "int8", "int4"]
Quantization = Literal["none", "fp8", "awq", "gptq", "int8", "gguf-q4_k_m", "gguf-q8_0"]


@dataclass(frozen=True)
class Architecture:
    """What sizing needs to know about a model."""

    params_b: float                 # parameters, billions
    dtype: Dtype                    # weight dtype before quantization
    layers: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_context: int


@dataclass(frozen=True)
class ModelSource:
    uri: str                        # "hf://org/name", "s3://b/p", "gs://b/p", "az://acct/container/p", "pvc://claim/p"
    revision: Optional[str] = None  # pinned revision (commit sha) for hub sources

    @property
    def scheme(self) -> str:
        return self.uri.split("://", 1)[0]


@dataclass(frozen=True)
class ModelRequest:
    name: str
    task: Task
    engine: Engine
    source: ModelSource
    architecture: Architecture
    quantization: Quantization = "none"
    max_model_len: Optional[int] = None       # None: the architecture's max_context
    concurrent_sequences: int = 1             # full-length sequences the KV cache must hold
    min_replicas: int = 1
    max_replicas: int = 1
    pool: Optional[str] = None                # preferred GPU pool name, or "cpu"
    extra_args: tuple[str, ...] = ()
    weights_file: Optional[str] = None        # GGUF file name inside the repo (llamacpp)


@dataclass(frozen=True)
class Placement:
    """Where and how one model runs. ``pool is None`` means CPU nodes."""

    model: str
    pool: Optional[str]
    gpu_model: Optional[str]
    gpu_memory_gib: int                       # per GPU; 0 on CPU
    tensor_parallel: int                      # 1 on CPU
    gpus_per_replica: int                     # 0 on CPU
    max_model_len: int
    gpu_memory_utilization: float             # 0.0 on CPU
    needed_gib: float                         # weights + KV cache + overhead
    allocated_gib: float                      # GPUs x memory x utilization (GPU) or memory limit (CPU)
    weights_gib: float
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    shm_size: Optional[str]                   # /dev/shm size when TP > 1
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, str], ...] = ()
    min_replicas: int = 1
    max_replicas: int = 1

    @property
    def on_gpu(self) -> bool:
        return self.pool is not None
