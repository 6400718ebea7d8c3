"""What the tenancy layer's parts agree on: the tenant Secret's keys, the app's settings and
what a tenant may reach.

The tenant Secret (``tenant-env``) and ConfigMap (``tenant-config``) in each tenant namespace
carry everything the chat/RAG app and the ingestion jobs need; their keys are the environment
variable names below, so a custom (LangChain, LlamaIndex) image reads the same contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi

TENANT_SECRET = "tenant-env"
TENANT_CONFIG = "tenant-config"

# Secret keys (values are Pulumi secrets).
OPENAI_API_KEY = "OPENAI_API_KEY"             # the tenant's gateway key (absent with JWT auth)
DATABASE_URL = "DATABASE_URL"                 # postgresql://user:password@host:5432/db
PGPASSWORD = "PGPASSWORD"
VECTOR_API_KEY = "VECTOR_API_KEY"             # Qdrant: a token scoped to the tenant's collection
REDIS_URL = "REDIS_URL"                       # redis://user:password@host:6379/0 (the tenant's ACL user)
SESSION_REDIS_URL = "SESSION_REDIS_URL"       # Open WebUI's own session store in the tenant namespace
APP_SECRET_KEY = "APP_SECRET_KEY"             # session signing key of the app

# ConfigMap keys (plain values).
OPENAI_BASE_URL = "OPENAI_BASE_URL"           # the gateway's in-cluster /v1 URL
OPENAI_PUBLIC_URL = "OPENAI_PUBLIC_URL"       # https://<gateway hostname>/v1
CHAT_MODEL = "CHAT_MODEL"
EMBEDDING_MODEL = "EMBEDDING_MODEL"
RERANK_MODEL = "RERANK_MODEL"
RERANK_URL = "RERANK_URL"                     # the gateway's /models/<rerank>/rerank
PGHOST = "PGHOST"
PGPORT = "PGPORT"
PGUSER = "PGUSER"
PGDATABASE = "PGDATABASE"
VECTOR_STORE = "VECTOR_STORE"                 # qdrant | pgvector
VECTOR_URL = "VECTOR_URL"                     # Qdrant's http URL (pgvector: DATABASE_URL)
VECTOR_COLLECTION = "VECTOR_COLLECTION"       # Qdrant collection / pgvector table prefix
REDIS_KEY_PREFIX = "REDIS_KEY_PREFIX"         # the only keys the tenant's ACL user may touch
TENANT_NAME = "TENANT_NAME"


@dataclass(frozen=True)
class Egress:
    """Pods a tenant's workloads may open connections to."""

    namespace: str
    pod_selector: Mapping[str, str]           # {} : every pod of the namespace
    ports: tuple[int, ...]


@dataclass(frozen=True)
class TenantData:
    """A tenant's share of the data layer, built by the data layer for the tenancy layer."""

    config: Mapping[str, str]                                  # ConfigMap keys above
    secrets: Mapping[str, pulumi.Input[str]]                   # Secret keys above
    egress: tuple[Egress, ...] = ()                            # its databases, vector store, cache
    depends_on: tuple[pulumi.Resource, ...] = ()              # database/role objects it waits for
    dedicated_cluster: Optional[str] = None                   # CNPG Cluster name in the tenant namespace


@dataclass(frozen=True)
class ModelChoice:
    """The models a tenant's app uses, by name, with where the gateway serves them."""

    chat: Optional[str] = None
    embedding: Optional[str] = None
    rerank: Optional[str] = None
    rerank_url: Optional[str] = None


@dataclass(frozen=True)
class AppSettings:
    """The chat/RAG application of one tenant."""

    hostname: str
    path: str = "/"
    kind: str = "open-webui"                  # open-webui | custom
    image: Optional[str] = None               # None: the pinned Open WebUI image
    port: int = 8080
    health_path: str = "/health"
    min_replicas: int = 2
    max_replicas: int = 4
    cpu: str = "500m"
    memory: str = "1Gi"
    cpu_limit: Optional[str] = None
    memory_limit: Optional[str] = "2Gi"
    target_cpu_utilization: int = 70
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestionSettings:
    image: str
    source: str
    schedule: str = "0 2 * * *"
    args: tuple[str, ...] = ()
    cpu: str = "500m"
    memory: str = "1Gi"
    cpu_limit: Optional[str] = None
    memory_limit: Optional[str] = "2Gi"
    preprocess_image: Optional[str] = None
    preprocess_args: tuple[str, ...] = ()
