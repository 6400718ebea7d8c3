"""The ``observability`` and ``backups`` sections: watching, paging, load-testing and restoring.

Present means on. ``observability`` installs kube-prometheus-stack (Prometheus, Alertmanager,
Grafana, node-exporter, kube-state-metrics), the platform's dashboards and alert rules, Loki
with a log collector, and optionally an inference-perf load test. ``backups`` installs Velero
with the cloud's plugin, writing to the cluster's bucket. Rules that span sections live in
``infra/checks_ops.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field

from infra.schema_base import DnsLabel, Section, matches
from infra.schema_data import Cron, ResourcesConfig

KUBE_PROMETHEUS_STACK_VERSION = "88.5.3"
LOKI_CHART_VERSION = "7.3.0"
VELERO_CHART_VERSION = "12.1.0"

# Prometheus' own duration syntax (``15d``, ``12h``, ``2w``).
_PROM_DURATION = re.compile(r"^[1-9][0-9]*(m|h|d|w|y)$")
PromDuration = Annotated[str, AfterValidator(matches(_PROM_DURATION, "a duration such as '12h', '15d' or '2w'"))]
_SCRAPE_INTERVAL = re.compile(r"^[1-9][0-9]*(s|m)$")
ScrapeInterval = Annotated[str, AfterValidator(matches(_SCRAPE_INTERVAL, "an interval such as '15s', '30s' or '1m'"))]


def _resources(cpu: str, memory: str) -> ResourcesConfig:
    return ResourcesConfig(cpu=cpu, memory=memory)


class PrometheusConfig(Section):
    """The one Prometheus that scrapes every ServiceMonitor and PodMonitor of the cluster."""

    retention: PromDuration = "15d"
    storage_gib: int = Field(default=50, ge=5, le=65536, strict=True, alias="storageGiB")
    replicas: int = Field(default=1, ge=1, le=3, strict=True)
    scrape_interval: ScrapeInterval = "30s"
    resources: ResourcesConfig = Field(default_factory=lambda: _resources("500m", "2Gi"))


class AlertmanagerConfig(Section):
    """Alertmanager. Its receivers and routes come from the secret ``alertmanagerReceivers``."""

    replicas: int = Field(default=1, ge=1, le=5, strict=True)
    storage_gib: int = Field(default=2, ge=1, le=1024, strict=True, alias="storageGiB")
    resources: ResourcesConfig = Field(default_factory=lambda: _resources("50m", "128Mi"))


class GrafanaConfig(Section):
    """Grafana with the platform's dashboards; the admin password is generated (stack output)."""

    # Dashboards and data sources are code; persistence only keeps users' own edits.
    storage_gib: Optional[int] = Field(default=None, ge=1, le=1024, strict=True, alias="storageGiB")
    resources: ResourcesConfig = Field(default_factory=lambda: _resources("100m", "256Mi"))


class LogsConfig(Section):
    """Loki (single binary, on a volume) and the collector that ships every pod's logs to it."""

    enabled: bool = True
    chart_version: str = LOKI_CHART_VERSION
    collector: Literal["alloy", "none"] = "alloy"
    retention_days: int = Field(default=7, ge=1, le=3650, strict=True)
    storage_gib: int = Field(default=50, ge=5, le=65536, strict=True, alias="storageGiB")
    resources: ResourcesConfig = Field(default_factory=lambda: _resources("250m", "1Gi"))


class LoadTestConfig(Section):
    """An inference-perf run against the gateway for every generate model, with its report kept.

    It calls the internal Gateway with ``tenant``'s API key, so it measures what that tenant
    sees, authentication and rate limits included: give it a tenant whose limits allow the rates.
    """

    enabled: bool = False
    tenant: Optional[DnsLabel] = None
    # Requests per second, one stage each, run in order.
    rates: list[float] = Field(default_factory=lambda: [1.0, 2.0, 4.0], min_length=1, max_length=20)
    stage_seconds: int = Field(default=60, ge=10, le=3600, strict=True)
    # None: one run per change of this section (a Job); a cron schedule: a recurring CronJob.
    schedule: Optional[Cron] = None
    report_storage_gib: int = Field(default=1, ge=1, le=100, strict=True, alias="reportStorageGiB")


class ObservabilityConfig(Section):
    namespace: DnsLabel = "monitoring"
    chart_version: str = KUBE_PROMETHEUS_STACK_VERSION
    prometheus: PrometheusConfig = PrometheusConfig()
    alertmanager: AlertmanagerConfig = AlertmanagerConfig()
    grafana: GrafanaConfig = GrafanaConfig()
    logs: LogsConfig = LogsConfig()
    load_test: LoadTestConfig = LoadTestConfig()
    # Alert thresholds the rules use (the rest are fixed in the rules and documented there).
    ttft_p95_seconds: float = Field(default=2.0, gt=0, le=120, alias="ttftP95Seconds")
    gateway_5xx_ratio: float = Field(default=0.05, gt=0, lt=1, alias="gateway5xxRatio")
    pvc_full_ratio: float = Field(default=0.85, gt=0.5, lt=1)


class BackupScheduleConfig(Section):
    schedule: Cron
    retention_days: int = Field(ge=1, le=3650, strict=True)


def _platform_schedule() -> BackupScheduleConfig:
    return BackupScheduleConfig(schedule="0 2 * * *", retention_days=30)


def _tenant_schedule() -> BackupScheduleConfig:
    return BackupScheduleConfig(schedule="0 * * * *", retention_days=3)


class BackupsConfig(Section):
    """Velero: Kubernetes objects to the cluster's bucket, volumes as CSI snapshots."""

    chart_version: str = VELERO_CHART_VERSION
    # Daily: the platform's namespaces (system, models, data, gateway, monitoring).
    platform: BackupScheduleConfig = Field(default_factory=_platform_schedule)
    # Hourly: every tenant namespace.
    tenants: BackupScheduleConfig = Field(default_factory=_tenant_schedule)
    # Volumes through the cluster's VolumeSnapshotClass (storage.volumeSnapshots not 'none').
    snapshots: bool = True
    # Copy snapshot data into the bucket (Velero's data mover), so a backup outlives the cluster
    # and its disks; off keeps only the cloud's snapshots.
    snapshot_move_data: bool = True
    # The catalog can be downloaded again; backing it up copies every model's weights.
    include_model_catalog: bool = False
    prefix: DnsLabel = "velero"
    resources: ResourcesConfig = Field(default_factory=lambda: _resources("100m", "256Mi"))
