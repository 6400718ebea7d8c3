"""Well-known models a stack can name instead of spelling out their architecture.

Every figure is copied from the model's ``config.json`` on the Hugging Face Hub (layers =
``num_hidden_layers``, attention heads = ``num_attention_heads``, KV heads =
``num_key_value_heads``, or the attention heads for models without grouped-query attention,
head dim = ``head_dim`` or ``hidden_size / num_attention_heads``, max context =
``max_position_embeddings``, dtype = ``torch_dtype``) and the parameter count from the
model card. Notes on the figures that are not read off directly:

- XLM-RoBERTa based rerankers declare 514 positions, two of which are reserved for the
  padding offset, so they take 512 tokens.
- all-MiniLM-L6-v2 accepts 512 positions but was trained on, and sentence-transformers
  truncates to, 256 tokens; sizing uses the 512 the server accepts.
- Qwen2.5 declares 32768 positions; 128K needs YaRN rope scaling, which is a serving flag
  (``extraArgs``), not the default.
- Mixtral 8x7B counts all experts (46.7B): every expert stays resident even though two run
  per token.

No revision is pinned here: a stack must give the commit it has reviewed (``revision``), so
an upstream push never changes what a deployment serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.models.placement import Architecture, Engine, Quantization, Task


@dataclass(frozen=True)
class KnownModel:
    key: str
    repo: str                       # Hugging Face repo id
    task: Task
    engine: Engine                  # default engine for this model
    architecture: Architecture
    quantization: Quantization = "none"
    weights_file: Optional[str] = None  # the file to load when the repo holds several (GGUF)

    @property
    def source(self) -> str:
        return f"hf://{self.repo}"


def _arch(params_b: float, dtype, layers: int, heads: int, kv_heads: int, head_dim: int, ctx: int) -> Architecture:
    return Architecture(params_b=params_b, dtype=dtype, layers=layers, attention_heads=heads,
                        kv_heads=kv_heads, head_dim=head_dim, max_context=ctx)


_LLAMA_70B = _arch(70.6, "bfloat16", 80, 64, 8, 128, 131072)

KNOWN_MODELS: dict[str, KnownModel] = {
    m.key: m
    for m in (
        KnownModel("llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct", "generate", "vllm",
                   _arch(8.03, "bfloat16", 32, 32, 8, 128, 131072)),
        KnownModel("llama-3.1-70b-instruct", "meta-llama/Llama-3.1-70B-Instruct", "generate", "vllm", _LLAMA_70B),
        KnownModel("llama-3.3-70b-instruct", "meta-llama/Llama-3.3-70B-Instruct", "generate", "vllm", _LLAMA_70B),
        KnownModel("mistral-7b-instruct-v0.3", "mistralai/Mistral-7B-Instruct-v0.3", "generate", "vllm",
                   _arch(7.25, "bfloat16", 32, 32, 8, 128, 32768)),
        KnownModel("mixtral-8x7b-instruct", "mistralai/Mixtral-8x7B-Instruct-v0.1", "generate", "vllm",
                   _arch(46.7, "bfloat16", 32, 32, 8, 128, 32768)),
        KnownModel("qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct", "generate", "vllm",
                   _arch(7.62, "bfloat16", 28, 28, 4, 128, 32768)),
        KnownModel("qwen2.5-72b-instruct", "Qwen/Qwen2.5-72B-Instruct", "generate", "vllm",
                   _arch(72.7, "bfloat16", 80, 64, 8, 128, 32768)),
        KnownModel("qwen2.5-1.5b-instruct-gguf", "Qwen/Qwen2.5-1.5B-Instruct-GGUF", "generate", "llamacpp",
                   _arch(1.54, "bfloat16", 28, 12, 2, 128, 32768),
                   quantization="gguf-q4_k_m", weights_file="qwen2.5-1.5b-instruct-q4_k_m.gguf"),
        KnownModel("all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2", "embed", "tei",
                   _arch(0.0227, "float32", 6, 12, 12, 32, 512)),
        KnownModel("bge-base-en-v1.5", "BAAI/bge-base-en-v1.5", "embed", "tei",
                   _arch(0.109, "float32", 12, 12, 12, 64, 512)),
        KnownModel("bge-reranker-base", "BAAI/bge-reranker-base", "rerank", "tei",
                   _arch(0.278, "float32", 12, 12, 12, 64, 512)),
        KnownModel("bge-reranker-large", "BAAI/bge-reranker-large", "rerank", "tei",
                   _arch(0.560, "float32", 24, 16, 16, 64, 512)),
    )
}
