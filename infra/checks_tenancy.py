"""Rules that span fields of the ``tenants`` entries, the entries, and the other sections.

Each rule returns ``(key path, message)`` pairs (``tenants[1].app.hostname``); the message says
what is wrong and how to fix it. ``tenant_problems`` and ``tenants_problems`` need nothing but the
entries, so they also run when another section is invalid (``infra.checks.check_sections``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from components.common.security import Resources
from components.tenancy import contracts
from components.tenancy.data_specs import DEDICATED_RESOURCES
from components.tenancy.session_store_specs import DEFAULT_RESOURCES as SESSION_STORE_RESOURCES
from infra.checks_data import _quantity
from infra.checks_edge import is_kubernetes_namespace, platform_namespaces, resources_problems
from infra.problems import Problem
from infra.schema import PlatformConfig
from infra.schema_data import ResourcesConfig
from infra.schema_tenancy import TenantConfig

# Words in an environment variable's name that mark a credential (matched per ``_``-separated
# part, so MAX_TOKENS or CHUNK_SIZE pass while OPENAI_API_KEY or DB_PASSWORD do not).
_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CREDENTIALS")
# A flag or a number is not a credential even under such a name (Open WebUI's ENABLE_API_KEY).
_PLAIN_VALUE = re.compile(r"^(true|false|yes|no|on|off|[0-9]+(\.[0-9]+)?)$", re.IGNORECASE)
# The variables the platform sets from the tenant ConfigMap and Secret.
CONTRACT_KEYS = frozenset(v for k, v in vars(contracts).items() if k.isupper() and isinstance(v, str)
                          and k not in ("TENANT_SECRET", "TENANT_CONFIG"))
_TASK_OF_KEY = {"chatModel": "generate", "embeddingModel": "embed", "rerankModel": "rerank"}


@dataclass(frozen=True)
class _Footprint:
    """CPU cores and memory bytes, requested and at the limit."""

    cpu: float
    cpu_limit: float
    memory: float
    memory_limit: float

    def __add__(self, other: _Footprint) -> _Footprint:
        return _Footprint(self.cpu + other.cpu, self.cpu_limit + other.cpu_limit,
                          self.memory + other.memory, self.memory_limit + other.memory_limit)

    def __mul__(self, n: int) -> _Footprint:
        return _Footprint(self.cpu * n, self.cpu_limit * n, self.memory * n, self.memory_limit * n)


def _footprint(res: ResourcesConfig, t: TenantConfig) -> _Footprint:
    # The app and the jobs set their limits to the requests when the stack leaves them out.
    cpu, memory = _quantity(res.cpu), _quantity(res.memory)
    cpu_limit = _quantity(res.cpu_limit) if res.cpu_limit else cpu
    memory_limit = _quantity(res.memory_limit) if res.memory_limit else memory
    return _Footprint(cpu, cpu_limit, memory, memory_limit)


def _platform_pods(t: TenantConfig) -> list[tuple[str, Resources, int]]:
    """Pods the platform itself runs in the tenant namespace: (what, resources, how many)."""
    out = []
    if t.app.kind == "open-webui":
        out.append(("the session store", SESSION_STORE_RESOURCES, 1))
    if t.database.mode == "dedicated":
        out.append((f"the dedicated database's {t.database.instances} instances", DEDICATED_RESOURCES,
                    t.database.instances))
    return out


def _cores(value: float) -> str:
    return f"{value:g}" if value >= 1 and float(value).is_integer() else f"{round(value * 1000)}m"


def _bytes(value: float) -> str:
    gib = value / 2**30
    return f"{gib:g}Gi" if gib >= 1 and round(gib, 3) == round(gib) else f"{round(value / 2**20)}Mi"


def _env_problems(at: str, env: dict[str, str]) -> list[Problem]:
    out: list[Problem] = []
    for key, value in env.items():
        if key in CONTRACT_KEYS:
            out.append((f"{at}.env.{key}", "set by the platform from the tenant ConfigMap "
                        f"{contracts.TENANT_CONFIG!r} or Secret {contracts.TENANT_SECRET!r}; remove it (models are "
                        "chosen with app.chatModel, app.embeddingModel and app.rerankModel)"))
            continue
        parts = re.split(r"[^A-Z0-9]+", key.upper())
        if any(p.endswith(w) for p in parts for w in _SECRET_WORDS) and not _PLAIN_VALUE.match(value):
            out.append((f"{at}.env.{key}", "looks like a credential, and env values are stored in clear in the "
                        "stack file and the Deployment: the platform's credentials already reach the app from the "
                        f"tenant Secret {contracts.TENANT_SECRET!r} (OPENAI_API_KEY, DATABASE_URL, ...); remove "
                        "it, and keep other secrets in a Secret in the tenant namespace"))
    return out


def _app_problems(at: str, t: TenantConfig) -> list[Problem]:
    app = t.app
    out: list[Problem] = []
    if app.kind == "custom" and app.image is None:
        out.append((f"{at}.image", "required when app.kind is 'custom': the tenant's image with a pinned tag "
                    "(e.g. 'ghcr.io/acme/rag:1.4.2')"))
    if app.kind == "open-webui" and app.path != "/":
        # Open WebUI builds its pages for the site root and has no base-path setting.
        out.append((f"{at}.path", f"Open WebUI only serves from the root of its host, not from {app.path!r}: "
                    "set path to '/' and give the app a hostname of its own"))
    if app.replicas.min_replicas > app.replicas.max_replicas:
        out.append((f"{at}.replicas.min", f"{app.replicas.min_replicas} is above replicas.max "
                    f"{app.replicas.max_replicas}"))
    out += resources_problems(f"{at}.resources", app.resources)
    out += _env_problems(at, app.env)
    return out


def _limit_range_problems(at: str, t: TenantConfig) -> list[Problem]:
    lim = t.limits
    out: list[Problem] = []
    for default, request, maximum, kind in (
        (lim.default_cpu, lim.default_request_cpu, lim.max_cpu, "Cpu"),
        (lim.default_memory, lim.default_request_memory, lim.max_memory, "Memory"),
    ):
        if _quantity(request) > _quantity(default):
            out.append((f"{at}.limits.defaultRequest{kind}", f"{request} is above limits.default{kind} {default} "
                        "(a container's default request may not exceed its default limit)"))
        if _quantity(default) > _quantity(maximum):
            out.append((f"{at}.limits.default{kind}", f"{default} is above limits.max{kind} {maximum}; "
                        f"every container left at the default would be refused"))
    return out


def _max_problems(at: str, res: ResourcesConfig, t: TenantConfig) -> list[Problem]:
    """A container whose limit exceeds the LimitRange's maximum is refused at admission."""
    out: list[Problem] = []
    for request, limit, maximum, key, max_key in (
        (res.cpu, res.cpu_limit, t.limits.max_cpu, "cpu", "maxCpu"),
        (res.memory, res.memory_limit, t.limits.max_memory, "memory", "maxMemory"),
    ):
        stated, value = (f"{key}Limit", limit) if limit else (key, request)
        if _quantity(value) > _quantity(maximum):
            out.append((f"{at}.{stated}", f"{value} is above limits.{max_key} {maximum} of the tenant namespace, "
                        f"so its pods would be refused: lower it or raise limits.{max_key}"))
    return out


def _quota_problems(at: str, t: TenantConfig) -> list[Problem]:
    app, quota = t.app, t.quota
    peak = _footprint(app.resources, t) * app.replicas.max_replicas
    parts = [f"app.replicas.max {app.replicas.max_replicas} x the app's resources"]
    if t.ingestion is not None:
        # The preprocess Job runs with the ingestion's resources and may overlap the first run.
        runs = 2 if t.ingestion.preprocess is not None else 1
        peak = peak + _footprint(t.ingestion.resources, t) * runs
        parts.append("the ingestion job" + (" and its preprocess job" if runs == 2 else ""))
    for what, res, count in _platform_pods(t):
        peak = peak + _Footprint(_quantity(res.cpu_request), _quantity(res.cpu_limit), _quantity(res.memory_request),
                                 _quantity(res.memory_limit)) * count
        parts.append(what)
    needs = " plus ".join(parts)
    out: list[Problem] = []
    cpu, memory = _quantity(quota.cpu), _quantity(quota.memory)
    need_cpu, need_memory = max(peak.cpu, peak.cpu_limit), max(peak.memory, peak.memory_limit)
    if need_cpu > cpu:
        out.append((f"{at}.quota.cpu", f"{quota.cpu} is below the {_cores(need_cpu)} CPU ({needs}, requests and "
                    "limits alike) the tenant's workloads need at their peak: raise it, or lower the app's "
                    "replicas.max or resources"))
    if need_memory > memory:
        out.append((f"{at}.quota.memory", f"{quota.memory} is below the {_bytes(need_memory)} ({needs}, requests "
                    "and limits alike) the tenant's workloads need at their peak: raise it, or lower the app's "
                    "replicas.max or resources"))
    dedicated = t.database.mode == "dedicated"
    pods = app.replicas.max_replicas + 2 + sum(n for _, _, n in _platform_pods(t))
    if quota.pods < pods:
        extra = "".join(f", plus {what}" for what, _, _ in _platform_pods(t))
        out.append((f"{at}.quota.pods", f"{quota.pods} is below {pods}: app.replicas.max {app.replicas.max_replicas}, "
                    f"one more during a rolling update and one for an ingestion job{extra}; raise it"))
    if dedicated:
        storage = t.database.storage_gib * t.database.instances
        if quota.storage_gib < storage:
            out.append((f"{at}.quota.storageGiB", f"{quota.storage_gib} is below the {storage} GiB of the dedicated "
                        f"database (database.storageGiB {t.database.storage_gib} x instances "
                        f"{t.database.instances}): raise it or shrink the database"))
        if quota.persistent_volume_claims < t.database.instances:
            out.append((f"{at}.quota.persistentVolumeClaims", f"{quota.persistent_volume_claims} is below the "
                        f"{t.database.instances} volumes of the dedicated database (one per instance); raise it"))
    elif "instances" in t.database.model_fields_set or "storage_gib" in t.database.model_fields_set:
        out.append((f"{at}.database", "instances and storageGiB only apply when database.mode is 'dedicated' "
                    "(a shared database lives in databases.postgres); set mode or remove them"))
    return out


def _rbac_problems(at: str, t: TenantConfig) -> list[Problem]:
    out: list[Problem] = []
    for key, groups in (("editGroups", t.rbac.edit_groups), ("viewGroups", t.rbac.view_groups)):
        for j, group in enumerate(groups):
            if not group.strip():
                out.append((f"{at}.rbac.{key}[{j}]", "must not be empty: the name of a group of the identity "
                            "provider, as the cluster's authentication reports it"))
    return out


def tenant_problems(i: int, t: TenantConfig) -> list[Problem]:
    """Problems of one ``tenants`` entry on its own."""
    at = f"tenants[{i}]"
    out = _app_problems(f"{at}.app", t) + _limit_range_problems(at, t)
    out += _max_problems(f"{at}.app.resources", t.app.resources, t)
    if t.ingestion is not None:
        out += resources_problems(f"{at}.ingestion.resources", t.ingestion.resources)
        out += _max_problems(f"{at}.ingestion.resources", t.ingestion.resources, t)
    out += _quota_problems(at, t) + _rbac_problems(at, t)
    if is_kubernetes_namespace(t.effective_namespace):
        out.append((f"{at}.namespace", f"{t.effective_namespace!r} belongs to Kubernetes; choose a namespace of "
                    "the tenant's own (default tenant-<name>)"))
    return out


def tenants_problems(tenants: Sequence[tuple[int, TenantConfig]]) -> list[Problem]:
    """Problems between ``tenants`` entries: names, namespaces and hostnames they share."""
    out: list[Problem] = []
    names: dict[str, int] = {}
    namespaces: dict[str, int] = {}
    routes: dict[tuple[str, str], int] = {}
    hosts: dict[str, int] = {}
    by_index = dict(tenants)
    for i, t in tenants:
        at = f"tenants[{i}]"
        if t.name in names:
            out.append((f"{at}.name", f"duplicate tenant name {t.name!r} (also tenants[{names[t.name]}]); "
                        "each tenant needs a name of its own"))
        elif t.effective_namespace in namespaces:
            out.append((f"{at}.namespace", f"namespace {t.effective_namespace!r} is already "
                        f"tenants[{namespaces[t.effective_namespace]}]'s; each tenant gets a namespace of its own "
                        "(default tenant-<name>)"))
        names.setdefault(t.name, i)
        namespaces.setdefault(t.effective_namespace, i)
        app = t.app
        route = (app.hostname, app.path)
        if route in routes:
            out.append((f"{at}.app.hostname", f"https://{app.hostname}{app.path} is already tenants[{routes[route]}]'s "
                        "app; give this app another hostname (or path)"))
        elif app.hostname in hosts:
            j = hosts[app.hostname]
            if "open-webui" in (app.kind, by_index[j].app.kind):
                out.append((f"{at}.app.hostname", f"{app.hostname} is also tenants[{j}]'s app, and Open WebUI "
                            "serves every path of its host (it must own '/'): give one of them a hostname of its own"))
        routes.setdefault(route, i)
        hosts.setdefault(app.hostname, i)
    return out


def _a(task: str) -> str:
    return f"an {task}" if task[0] in "aeiou" else f"a {task}"


def _model_problems(cfg: PlatformConfig, i: int, t: TenantConfig) -> list[Problem]:
    at = f"tenants[{i}].app"
    by_task: dict[str, list[str]] = {}
    task_of: dict[str, str] = {}
    for m in cfg.models:
        task = m.effective_task
        if task is not None:
            by_task.setdefault(task, []).append(m.name)
            task_of[m.name] = task
    out: list[Problem] = []
    app = t.app
    for key, chosen in (("chatModel", app.chat_model), ("embeddingModel", app.embedding_model),
                        ("rerankModel", app.rerank_model)):
        task = _TASK_OF_KEY[key]
        candidates = by_task.get(task, [])
        if chosen is None:
            if key == "chatModel" and not candidates:
                out.append((f"{at}.chatModel", "this stack serves no generate model, and the app chats with one: "
                            "add a generate model to models"))
            continue
        if chosen not in task_of:
            known = ", ".join(task_of) or "none"
            out.append((f"{at}.{key}", f"{chosen!r} is not a model of this stack (models: {known}); name one of "
                        f"models[].name with task {task}"))
        elif task_of[chosen] != task:
            which = ", ".join(candidates) or f"none: add a {task} model to models"
            out.append((f"{at}.{key}", f"{chosen!r} is {_a(task_of[chosen])} model; {key} needs {_a(task)} model "
                        f"({which})"))
    if t.ingestion is not None and app.embedding_model is None and not by_task.get("embed"):
        out.append((f"tenants[{i}].ingestion", "embeds documents, but this stack serves no embed model: add an "
                    "embed model to models, or remove ingestion"))
    return out


def _data_problems(cfg: PlatformConfig, i: int, t: TenantConfig) -> list[Problem]:
    vector = cfg.databases.vector
    at = f"tenants[{i}].vector"
    out: list[Problem] = []
    if t.vector.store == "qdrant" and (vector is None or vector.engine != "qdrant"):
        engine = "no databases.vector" if vector is None else f"databases.vector.engine is {vector.engine!r}"
        out.append((f"{at}.store", f"'qdrant' needs the platform's Qdrant, and this stack has {engine}: "
                    "set databases.vector.engine to 'qdrant', or store to 'pgvector' (or leave it unset)"))
    if t.vector.store == "qdrant" and vector is not None and vector.engine == "qdrant" \
            and vector.credentials.existing_secret:
        out.append((f"{at}.store", "'qdrant' needs the platform's own Qdrant API key to sign the tenant's "
                    "collection token and create its collection, and databases.vector.credentials.existingSecret "
                    "brings one the program can't read: remove existingSecret, or leave store unset (pgvector)"))
    if t.vector.store == "qdrant" and t.app.kind == "open-webui":
        out.append((f"{at}.store", "Open WebUI creates and names its own Qdrant collections, which a tenant's "
                    "collection-scoped token can't do: leave store unset (pgvector in the tenant's database) or "
                    "use app.kind custom"))
    if t.vector.store == "qdrant" and t.vector.dimension is None:
        out.append((f"{at}.dimension", "required with store 'qdrant': the platform creates the tenant's collection "
                    "with vectors of this size (the embedding model's output size, e.g. 768 for bge-base-en-v1.5)"))
    if t.vector.store != "qdrant" and "dimension" in t.vector.model_fields_set:
        out.append((f"{at}.dimension", "only applies with store 'qdrant' (pgvector tables take their size from the "
                    "app); remove it"))
    return out


def _auth_problems(cfg: PlatformConfig, i: int, t: TenantConfig) -> list[Problem]:
    gw = cfg.gateway
    if gw is not None and gw.auth.mode == "jwt" and t.app.kind == "open-webui":
        return [(f"tenants[{i}].app.kind", "Open WebUI calls the gateway with the tenant's API key, and "
                 "gateway.auth.mode 'jwt' issues none: use app.kind custom (an app that presents your identity "
                 "provider's tokens) or gateway.auth.mode apiKey")]
    return []


def _section_problems(cfg: PlatformConfig) -> list[Problem]:
    out: list[Problem] = []
    if cfg.gateway is None:
        out.append(("tenants", "tenants reach their models and their apps through the gateway: add a gateway "
                    "section (at least gateway.hostname)"))
    if cfg.databases.postgres is None:
        out.append(("databases.postgres", "required with tenants: each tenant's database (and pgvector store) "
                    "lives in the PostgreSQL cluster, and a dedicated database needs the CloudNativePG operator "
                    "that comes with it; add databases.postgres"))
    return out


def _platform_problems(cfg: PlatformConfig, i: int, t: TenantConfig, taken: dict[str, str]) -> list[Problem]:
    at = f"tenants[{i}]"
    out: list[Problem] = []
    for key, value in taken.items():
        if t.effective_namespace == value:
            out.append((f"{at}.namespace", f"{value!r} is already {key}; a tenant's namespace holds only the "
                        "tenant's workloads: choose another (default tenant-<name>)"))
    if cfg.gateway is not None and t.app.hostname == cfg.gateway.hostname:
        out.append((f"{at}.app.hostname", f"{t.app.hostname} is gateway.hostname, the host of the model API; "
                    "give the app a hostname of its own"))
    if t.quota.gpus > 0 and not cfg.gpu_pools:
        out.append((f"{at}.quota.gpus", f"{t.quota.gpus} GPUs, but this stack has no GPU pools: set it to 0 or "
                    "add gpuPools"))
    return out


def tenancy_problems(cfg: PlatformConfig) -> list[Problem]:
    """Every problem of the ``tenants`` entries, including those against other sections."""
    if not cfg.tenants:
        return []
    tenants = list(enumerate(cfg.tenants))
    taken = platform_namespaces(cfg)
    out = _section_problems(cfg) + tenants_problems(tenants)
    for i, t in tenants:
        out += (tenant_problems(i, t) + _platform_problems(cfg, i, t, taken) + _model_problems(cfg, i, t)
                + _data_problems(cfg, i, t) + _auth_problems(cfg, i, t))
    return out
