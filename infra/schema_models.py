"""The stack's ``models`` list: what to serve, from where, and how hard.

Field-level rules live here (types, enums, DNS names, source URIs, commit shas); rules that
span fields, entries or the GPU pools live in ``infra/checks_models.py``. A validated entry
becomes a ``ModelRequest`` (the planner's and the model servers' contract) through
``to_request``, with the well-known model table filling in what the entry leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Optional

from pydantic import AfterValidator, Field

from components.models.known import KNOWN_MODELS, KnownModel
from components.models.placement import (
    Architecture,
    Dtype,
    Engine,
    ModelRequest,
    ModelSource,
    Quantization,
    Task,
)
from infra.schema_base import DnsLabel, Section

DEFAULT_ENGINE: dict[str, Engine] = {"generate": "vllm", "embed": "tei", "rerank": "tei"}
HUB_SCHEME = "hf"

_HF_REPO = r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*"
_BUCKET = r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]"
_PATH = r"(/[^\s]*)?"
_SOURCES = (
    re.compile(rf"^(hf://)?{_HF_REPO}$"),
    re.compile(rf"^(s3|gs)://{_BUCKET}{_PATH}$"),
    re.compile(rf"^az://[a-z0-9]{{3,24}}/[a-z0-9][a-z0-9-]{{1,61}}[a-z0-9]{_PATH}$"),
    re.compile(rf"^pvc://[a-z0-9]([-a-z0-9.]*[a-z0-9])?{_PATH}$"),
)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def _source(value: str) -> str:
    if not any(p.match(value) for p in _SOURCES):
        raise ValueError(
            "must be a Hugging Face repo ('org/name' or 'hf://org/name') or an s3://bucket/prefix, "
            f"gs://bucket/prefix, az://account/container/prefix or pvc://claim/path URI; got {value!r}"
        )
    return value


def _revision(value: str) -> str:
    if not _COMMIT.match(value):
        raise ValueError(
            "must be a full 40-character commit sha (lowercase hex); branches and tags such as 'main' can move, "
            f"so a deployment would change without a config change; got {value!r}"
        )
    return value


def _service_name(value: str) -> str:
    # The name becomes the model's Service name, and Service names must start with a letter.
    if not value[:1].isalpha():
        raise ValueError(f"must start with a letter (it names the model's Service); got {value!r}")
    return value


ModelName = Annotated[DnsLabel, AfterValidator(_service_name)]
SourceUri = Annotated[str, AfterValidator(_source)]
CommitSha = Annotated[str, AfterValidator(_revision)]


def normalize_source(value: str) -> str:
    """``org/name`` and ``hf://org/name`` both mean the Hugging Face Hub; return the URI form."""
    return value if "://" in value else f"{HUB_SCHEME}://{value}"


class ArchitectureConfig(Section):
    """A model's shape, from its config.json, for models not in the well-known table."""

    params_b: float = Field(gt=0, le=2000, strict=True)
    dtype: Dtype = "bfloat16"
    layers: int = Field(gt=0, le=1000, strict=True)
    attention_heads: int = Field(gt=0, le=1024, strict=True)
    kv_heads: int = Field(gt=0, le=1024, strict=True)
    head_dim: int = Field(gt=0, le=1024, strict=True)
    max_context: int = Field(gt=0, le=10_485_760, strict=True)

    def to_architecture(self) -> Architecture:
        return Architecture(params_b=self.params_b, dtype=self.dtype, layers=self.layers,
                            attention_heads=self.attention_heads, kv_heads=self.kv_heads,
                            head_dim=self.head_dim, max_context=self.max_context)


class ServingConfig(Section):
    """The load a replica must hold: its KV cache is sized for this many full-length sequences."""

    max_model_len: Optional[int] = Field(default=None, gt=0, strict=True)
    concurrent_sequences: int = Field(default=1, gt=0, le=4096, strict=True)


class ReplicasConfig(Section):
    """Autoscaling bounds; ``min: 0`` scales to zero when idle."""

    min_replicas: int = Field(default=1, ge=0, le=100, strict=True, alias="min")
    max_replicas: int = Field(default=1, ge=0, le=100, strict=True, alias="max")


class CanaryConfig(Section):
    """A second revision served beside the model, taking ``weight`` percent of its requests.

    Unset fields are the stable model's. It is planned and served as ``<name>-canary``.
    """

    weight: int = Field(ge=1, le=99, strict=True)
    revision: Optional[CommitSha] = None
    engine: Optional[Engine] = None
    extra_args: Optional[list[str]] = None
    source: Optional[SourceUri] = None
    replicas: Optional[ReplicasConfig] = None


CANARY_SUFFIX = "-canary"


class ModelConfig(Section):
    """One served model. Either ``wellKnown`` or ``architecture`` says what it is."""

    name: ModelName
    task: Optional[Task] = None
    source: Optional[SourceUri] = None
    revision: Optional[CommitSha] = None
    engine: Optional[Engine] = None
    well_known: Optional[str] = None
    architecture: Optional[ArchitectureConfig] = None
    quantization: Optional[Quantization] = None
    serving: ServingConfig = ServingConfig()
    replicas: ReplicasConfig = ReplicasConfig()
    pool: Optional[DnsLabel] = None
    extra_args: list[str] = []
    weights_file: Optional[str] = Field(default=None, min_length=1)
    canary: Optional[CanaryConfig] = None

    @property
    def known(self) -> Optional[KnownModel]:
        """The well-known model this entry names, or None (unset or unknown)."""
        return KNOWN_MODELS.get(self.well_known) if self.well_known else None

    @property
    def effective_task(self) -> Optional[Task]:
        return self.task or (self.known.task if self.known else None)

    @property
    def effective_engine(self) -> Optional[Engine]:
        """The engine given, else the well-known model's (for its own task), else the task's default."""
        if self.engine:
            return self.engine
        known, task = self.known, self.effective_task
        if known and task == known.task:
            return known.engine
        return DEFAULT_ENGINE[task] if task else None

    @property
    def effective_source(self) -> Optional[str]:
        if self.source:
            return normalize_source(self.source)
        return self.known.source if self.known else None

    @property
    def is_hub_source(self) -> bool:
        src = self.effective_source
        return src is not None and src.startswith(f"{HUB_SCHEME}://")

    @property
    def effective_architecture(self) -> Optional[Architecture]:
        if self.architecture:
            return self.architecture.to_architecture()
        return self.known.architecture if self.known else None

    @property
    def effective_quantization(self) -> Quantization:
        if self.quantization:
            return self.quantization
        known = self.known
        # A well-known quantized repo (GGUF) stays quantized only when served as the table says.
        if known and not self.source and self.effective_engine == known.engine:
            return known.quantization
        return "none"

    @property
    def effective_weights_file(self) -> Optional[str]:
        if self.weights_file:
            return self.weights_file
        known = self.known
        if known and not self.source and self.effective_engine == known.engine:
            return known.weights_file
        return None


def canary_name(name: str) -> str:
    return f"{name}{CANARY_SUFFIX}"


def canary_entry(entry: ModelConfig) -> Optional[ModelConfig]:
    """The canary of ``entry`` as a model of its own (the stable's fields where it sets none)."""
    c = entry.canary
    if c is None:
        return None
    update: dict = {"name": canary_name(entry.name), "canary": None}
    if c.source is not None:
        update["source"] = c.source
        # A new source is versioned by its own revision (or by its path), never the stable's.
        update["revision"] = c.revision
    elif c.revision is not None:
        update["revision"] = c.revision
    for key in ("engine", "extra_args", "replicas"):
        if getattr(c, key) is not None:
            update[key] = getattr(c, key)
    return entry.model_copy(update=update)


def expand_canaries(models: Sequence[ModelConfig]) -> tuple[ModelConfig, ...]:
    """Each model followed by its canary, which is planned and served like any model."""
    out: list[ModelConfig] = []
    for m in models:
        out.append(m)
        c = canary_entry(m)
        if c is not None:
            out.append(c)
    return tuple(out)


def to_request(entry: ModelConfig) -> ModelRequest:
    """The planner's view of a validated entry (one that ``checks_models`` found no fault with)."""
    task, engine = entry.effective_task, entry.effective_engine
    source, arch = entry.effective_source, entry.effective_architecture
    if task is None or engine is None or source is None or arch is None:
        raise ValueError(f"model {entry.name!r} is incomplete (task, engine, source and architecture "
                         "come from wellKnown or must be given); run checks_models first")
    return ModelRequest(
        name=entry.name,
        task=task,
        engine=engine,
        source=ModelSource(uri=source, revision=entry.revision),
        architecture=arch,
        quantization=entry.effective_quantization,
        max_model_len=entry.serving.max_model_len,
        concurrent_sequences=entry.serving.concurrent_sequences,
        min_replicas=entry.replicas.min_replicas,
        max_replicas=entry.replicas.max_replicas,
        pool=entry.pool,
        extra_args=tuple(entry.extra_args),
        weights_file=entry.effective_weights_file,
    )


def to_requests(models: Sequence[ModelConfig]) -> tuple[ModelRequest, ...]:
    return tuple(to_request(m) for m in models)
