"""The ``tenants`` list: one isolated team or client per entry.

Each tenant gets a namespace with quotas and RBAC, network isolation, its own database and
vector collection, an API key (or JWT claim) and rate limits at the gateway, and a chat/RAG
application with document ingestion. Rules that span entries or sections (duplicate names,
hostname collisions, quota below what the app asks for, models that don't exist, ...) live in
``infra/checks_tenancy.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from infra.schema_base import DnsLabel, Section, matches
from infra.schema_data import Cron, Quantity, ResourcesConfig
from infra.schema_edge import Hostname

# A pinned image: a tag other than ``latest`` or a digest.
_IMAGE = re.compile(r"^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)*"
                    r"(:(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$")
_PATH = re.compile(r"^/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?$")
_SOURCE = re.compile(r"^(s3|gs|https)://\S+$|^az://[a-z0-9]{3,24}/\S+$|^pvc://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/\S*)?$")

PinnedImage = Annotated[str, AfterValidator(matches(
    _IMAGE, "an image with a pinned tag or digest such as 'ghcr.io/acme/rag:1.4.2' (not 'latest', not untagged)"))]
UrlPath = Annotated[str, AfterValidator(matches(_PATH, "a URL path such as '/' or '/chat' (no trailing slash)"))]
DocumentSource = Annotated[str, AfterValidator(matches(
    _SOURCE, "an s3://, gs://, az://account/container, https:// or pvc://claim URI"))]


class QuotaConfig(Section):
    """The namespace's ResourceQuota: compute (requests and limits alike), GPUs, storage, objects."""

    cpu: Quantity = "8"
    memory: Quantity = "32Gi"
    gpus: int = Field(default=0, ge=0, le=1024, strict=True)
    storage_gib: int = Field(default=100, ge=0, le=1048576, strict=True, alias="storageGiB")
    pods: int = Field(default=50, ge=1, le=10000, strict=True)
    services: int = Field(default=20, ge=1, le=1000, strict=True)
    persistent_volume_claims: int = Field(default=10, ge=0, le=1000, strict=True)
    config_maps: int = Field(default=50, ge=1, le=10000, strict=True)
    secrets: int = Field(default=50, ge=1, le=10000, strict=True)


class LimitsConfig(Section):
    """The namespace's LimitRange: what a container gets when it states nothing, and the most it may ask."""

    default_cpu: Quantity = "500m"
    default_memory: Quantity = "512Mi"
    default_request_cpu: Quantity = "100m"
    default_request_memory: Quantity = "128Mi"
    max_cpu: Quantity = "4"
    max_memory: Quantity = "16Gi"


class RbacConfig(Section):
    """Identity-provider groups bound in the tenant's namespace (nothing cluster-wide)."""

    edit_groups: list[str] = []
    view_groups: list[str] = []


class RateLimitConfig(Section):
    """Per tenant, at the gateway, across all its callers and all proxy replicas."""

    requests_per_minute: int = Field(default=600, ge=1, le=10_000_000, strict=True)
    # Tokens (prompt + completion) per minute, counted from each response's usage.
    tokens_per_minute: Optional[int] = Field(default=None, ge=1, le=1_000_000_000, strict=True)


class TenantDatabaseConfig(Section):
    """The tenant's PostgreSQL database: in the shared cluster, or a cluster of its own."""

    mode: Literal["shared", "dedicated"] = "shared"
    # Dedicated clusters only.
    instances: int = Field(default=1, ge=1, le=9, strict=True)
    storage_gib: int = Field(default=10, ge=1, le=65536, strict=True, alias="storageGiB")


class TenantVectorConfig(Section):
    """Where the tenant's embeddings live: pgvector in its own database (the default), or a
    Qdrant collection of its own (custom apps; the platform creates it with ``dimension``)."""

    store: Optional[Literal["qdrant", "pgvector"]] = None
    # Size of the embedding vectors (the embedding model's output), for a Qdrant collection.
    dimension: Optional[int] = Field(default=None, ge=1, le=65536, strict=True)
    distance: Literal["Cosine", "Dot", "Euclid"] = "Cosine"


class AppReplicas(Section):
    min_replicas: int = Field(default=2, ge=1, le=100, strict=True, alias="min")
    max_replicas: int = Field(default=4, ge=1, le=100, strict=True, alias="max")


class AppConfig(Section):
    """The tenant's chat/RAG application, reached at https://<hostname><path>."""

    hostname: Hostname
    path: UrlPath = "/"
    # ``open-webui``: the pinned Open WebUI image; ``custom``: the tenant's own (LangChain,
    # LlamaIndex, ...) image, given the same environment.
    kind: Literal["open-webui", "custom"] = "open-webui"
    image: Optional[PinnedImage] = None
    port: int = Field(default=8080, ge=1024, le=65535, strict=True)
    health_path: UrlPath = "/health"
    replicas: AppReplicas = AppReplicas()
    resources: ResourcesConfig = ResourcesConfig(cpu="500m", memory="1Gi", memory_limit="2Gi")
    target_cpu_utilization: int = Field(default=70, ge=10, le=100, strict=True)
    # Models by name (``models[].name``); None: the stack's first model of the task.
    chat_model: Optional[DnsLabel] = None
    embedding_model: Optional[DnsLabel] = None
    rerank_model: Optional[DnsLabel] = None
    # Extra environment for a custom image (never secrets: those belong in the tenant Secret).
    env: dict[str, str] = {}


class PreprocessConfig(Section):
    """A one-off Job that prepares documents (OCR, splitting) before the first ingestion."""

    image: PinnedImage
    args: list[str] = []


class IngestionConfig(Section):
    """A CronJob that embeds the tenant's documents into its vector store."""

    image: PinnedImage
    source: DocumentSource
    schedule: Cron = "0 2 * * *"
    args: list[str] = []
    resources: ResourcesConfig = ResourcesConfig(cpu="500m", memory="1Gi", memory_limit="2Gi")
    preprocess: Optional[PreprocessConfig] = None


class TenantConfig(Section):
    name: DnsLabel = Field(max_length=30)
    # None: ``tenant-<name>``.
    namespace: Optional[DnsLabel] = None
    quota: QuotaConfig = QuotaConfig()
    limits: LimitsConfig = LimitsConfig()
    rbac: RbacConfig = RbacConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    database: TenantDatabaseConfig = TenantDatabaseConfig()
    vector: TenantVectorConfig = TenantVectorConfig()
    app: AppConfig
    ingestion: Optional[IngestionConfig] = None

    @property
    def effective_namespace(self) -> str:
        return self.namespace or f"tenant-{self.name}"
