"""Rules of the ``observability`` and ``backups`` sections that span other sections."""

from __future__ import annotations

from components.models.server_specs import scraper_namespace
from components.ops.contracts import prometheus_url
from infra.checks_edge import platform_namespaces
from infra.problems import Problem
from infra.schema import PlatformConfig


def _observability_problems(cfg: PlatformConfig) -> list[Problem]:
    obs = cfg.observability
    if obs is None:
        return []
    out: list[Problem] = []
    for key, value in platform_namespaces(cfg).items():
        if key != "observability.namespace" and value == obs.namespace:
            out.append(("observability.namespace", f"{value!r} is already {key}; Prometheus, Grafana and Loki run in "
                        "a namespace of their own"))
    address = cfg.model_serving.prometheus_address
    scraper = scraper_namespace(address)
    if scraper is not None and scraper != obs.namespace:
        out.append(("modelServing.prometheusAddress", f"points into namespace {scraper!r}, but the observability "
                    f"layer installs Prometheus in {obs.namespace!r}: set it to {prometheus_url(obs.namespace)}"))
    test = obs.load_test
    if test.enabled:
        out += _load_test_problems(cfg)
    return out


def _load_test_problems(cfg: PlatformConfig) -> list[Problem]:
    assert cfg.observability is not None
    test, key = cfg.observability.load_test, "observability.loadTest"
    out: list[Problem] = []
    if cfg.gateway is None:
        out.append((f"{key}.enabled", "the load test calls the gateway; add a gateway section or turn it off"))
    elif cfg.gateway.auth.mode == "jwt":
        out.append((f"{key}.enabled", "the load test calls the gateway with a tenant's API key, and gateway.auth.mode "
                    "is 'jwt'; turn the load test off or use apiKey"))
    tenants = {t.name: t for t in cfg.tenants}
    if test.tenant is None:
        out.append((f"{key}.tenant", "required: the tenant whose API key (and rate limits) the load test uses"
                    + (f"; one of {', '.join(tenants)}" if tenants else "; add a tenant first")))
    elif test.tenant not in tenants:
        out.append((f"{key}.tenant", f"{test.tenant!r} is not a tenant"
                    + (f"; one of {', '.join(tenants)}" if tenants else "; add it under tenants")))
    if any(r <= 0 for r in test.rates):
        out.append((f"{key}.rates", "every rate must be > 0 requests per second"))
    elif test.tenant in tenants:
        allowed = tenants[test.tenant].rate_limit.requests_per_minute
        if max(test.rates) * 60 > allowed:
            out.append((f"{key}.rates", f"the highest rate, {max(test.rates):g}/s, is above tenant {test.tenant}'s "
                        f"rateLimit.requestsPerMinute ({allowed}/min), so the test would measure the limit; raise "
                        "the tenant's limit or lower the rates"))
    # The tokenizer comes from the model's Hugging Face repository.
    if not any(m.effective_task == "generate" and m.is_hub_source for m in cfg.models):
        out.append((f"{key}.enabled", "no generate model with a Hugging Face source (hf://) to test; add one under "
                    "models or turn the load test off"))
    return out


def _backups_problems(cfg: PlatformConfig) -> list[Problem]:
    backups = cfg.backups
    if backups is None:
        return []
    out: list[Problem] = []
    existing = cfg.cluster.target == "existing"
    if existing and cfg.object_store is None:
        out.append(("backups", "Velero needs a bucket: on an existing cluster add the objectStore section "
                    "(an S3-compatible endpoint and bucket) or remove backups"))
    # An adopted storage system (Ceph, Portworx...) brings its own snapshot class, which its
    # admin labels for Velero (README); the NFS and laptop cases have none unless asked.
    own_storage = cfg.storage.rwx.provider == "existing"
    if existing and backups.snapshots and cfg.storage.volume_snapshots == "none" and not own_storage:
        out.append(("backups.snapshots", "volume snapshots need the snapshot CRDs and a VolumeSnapshotClass: set "
                    "storage.volumeSnapshots to 'install' or 'existing', or set backups.snapshots to false"))
    if backups.snapshot_move_data and not backups.snapshots:
        out.append(("backups.snapshotMoveData", "moves snapshot data, so it needs backups.snapshots true; "
                    "set it to false too"))
    if backups.include_model_catalog and not cfg.models:
        out.append(("backups.includeModelCatalog", "there is no model catalog (no models); remove the setting"))
    return out


def ops_problems(cfg: PlatformConfig) -> list[Problem]:
    return _observability_problems(cfg) + _backups_problems(cfg)
