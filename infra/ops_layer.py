"""The operations layer of the program: ``observability`` and ``backups`` -> components/ops.

Observability comes in two steps. kube-prometheus-stack (with the Prometheus Operator's CRDs)
and Loki go in right after the cluster, and every later Helm release that turns on a
ServiceMonitor or PodMonitor, and every monitor object, waits for it (``wait_for_monitoring``):
on a new cluster those would otherwise fail with "no matches for kind ServiceMonitor".
Dashboards, alert rules and the load test describe the layers above, so they come last, with
the backups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from components.cluster.info import ClusterInfo
from components.edge.contracts import INTERNAL_GATEWAY, envoy_container_port
from components.edge.gateway_specs import HTTP_PORT, envoy_pod_labels
from components.ops.alerts import Alerts, AlertsArgs, AlertThresholds
from components.ops.backup import BackupArgs, Backups, ScheduleSettings
from components.ops.dashboards import Dashboards, DashboardsArgs
from components.ops.loadtest import LoadTest, LoadTestArgs
from components.ops.loadtest_specs import INFERENCE_PERF_IMAGE, LoadTestModel, LoadTestSettings
from components.ops.logs import Logs, LogsArgs
from components.ops.logs_values import LogsSettings, loki_url
from components.ops.monitoring import Monitoring, MonitoringArgs
from components.ops.monitoring_values import AlertmanagerSettings, GrafanaSettings, PrometheusSettings
from infra.config import LoadedConfig
from infra.edge_layer import EdgeLayer, resources
from infra.schema import PlatformConfig
from infra.schema_ops import ObservabilityConfig

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
MONITOR_TYPES = ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "kubernetes:monitoring.coreos.com/v1:PodMonitor",
                 "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
# Model engines as the dashboards name them.
DASHBOARD_ENGINES = {"vllm": "vllm", "tgi": "tgi", "tei": "tei", "triton-trtllm": "triton", "llamacpp": "llamacpp"}


@dataclass(frozen=True)
class ObservabilityLayer:
    monitoring: Monitoring
    logs: Optional[Logs]
    settings: ObservabilityConfig

    @property
    def namespace(self) -> str:
        return self.monitoring.namespace

    def outputs(self) -> dict:
        return {
            "namespace": self.namespace,
            "prometheus": self.monitoring.prometheus_url,
            "grafana": {"service": self.monitoring.grafana_service, "adminSecret": self.monitoring.grafana_admin_secret},
            "alertmanager": self.monitoring.alertmanager_url,
            **({"loki": self.logs.url} if self.logs is not None else {}),
        }


def _enables(values: Any) -> bool:
    if values is True:
        return True
    if isinstance(values, Mapping):
        return values.get("enabled") is True or any(_enables(v) for v in values.values() if isinstance(v, Mapping))
    return False


def _turns_on_monitors(values: Any) -> bool:
    """Whether a chart's values switch on a ServiceMonitor or PodMonitor anywhere: a key naming a
    monitor (``serviceMonitor``, ``podMonitorEnabled``, ``monitoring.prometheus``) set to true or
    holding ``enabled: true``."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            if "monitor" in str(key).lower() and _enables(value):
                return True
            if _turns_on_monitors(value):
                return True
    elif isinstance(values, (list, tuple)):
        return any(_turns_on_monitors(v) for v in values)
    return False


def waits_for_monitoring(type_: str, props: Mapping[str, Any]) -> bool:
    """Monitor objects, and Helm releases whose charts render monitors, need the operator's CRDs."""
    if type_ in MONITOR_TYPES:
        return True
    return type_ == HELM_RELEASE and _turns_on_monitors(props.get("values"))


def wait_for_monitoring(release: pulumi.Resource) -> None:
    """Every later resource that needs the Prometheus Operator's CRDs depends on ``release``."""
    def transform(args: pulumi.ResourceTransformationArgs) -> Optional[pulumi.ResourceTransformationResult]:
        if args.resource is release or not waits_for_monitoring(args.type_, args.props or {}):
            return None
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(depends_on=[release])))
    pulumi.runtime.register_stack_transformation(transform)


def query_namespaces(cfg: PlatformConfig) -> tuple[str, ...]:
    """Namespaces whose pods query Prometheus: KEDA's scalers."""
    ms = cfg.model_serving
    return (ms.keda.namespace,) if cfg.models and ms.keda.enabled else ()


def build_observability(loaded: LoadedConfig, cluster: ClusterInfo) -> Optional[ObservabilityLayer]:
    cfg = loaded.platform
    obs = cfg.observability
    if obs is None:
        return None
    logs_on = obs.logs.enabled
    prom, am, graf = obs.prometheus, obs.alertmanager, obs.grafana
    monitoring = Monitoring("monitoring", MonitoringArgs(
        cluster=cluster,
        namespace=obs.namespace,
        chart_version=obs.chart_version,
        prometheus=PrometheusSettings(retention=prom.retention, storage_gib=prom.storage_gib, replicas=prom.replicas,
                                      scrape_interval=prom.scrape_interval, resources=resources(prom.resources)),
        alertmanager=AlertmanagerSettings(replicas=am.replicas, storage_gib=am.storage_gib,
                                          resources=resources(am.resources)),
        grafana=GrafanaSettings(storage_gib=graf.storage_gib, resources=resources(graf.resources)),
        receivers=loaded.alertmanager_receivers,
        loki_url=loki_url(obs.namespace) if logs_on else None,
        query_namespaces=query_namespaces(cfg),
        zone_spread=bool(cluster.node_zones),
    ))
    wait_for_monitoring(monitoring.release)
    logs = None
    if logs_on:
        logs = Logs("logs", LogsArgs(
            cluster=cluster,
            namespace=obs.namespace,
            settings=LogsSettings(chart_version=obs.logs.chart_version, retention_days=obs.logs.retention_days,
                                  storage_gib=obs.logs.storage_gib, resources=resources(obs.logs.resources),
                                  collector=obs.logs.collector),
            grafana_selector=monitoring.grafana_selector,
        ), pulumi.ResourceOptions(depends_on=[monitoring.release]))
    return ObservabilityLayer(monitoring=monitoring, logs=logs, settings=obs)


def _generate_models(cfg: PlatformConfig, max_lens: Mapping[str, int]) -> tuple[LoadTestModel, ...]:
    out = []
    for m in cfg.models:
        source = m.effective_source or ""
        if m.effective_task != "generate" or not source.startswith("hf://"):
            continue
        out.append(LoadTestModel(name=m.name, tokenizer=source.removeprefix("hf://"),
                                 max_model_len=max_lens.get(m.name, 4096)))
    return tuple(out)


def build_load_test(loaded: LoadedConfig, cluster: ClusterInfo, obs: ObservabilityLayer,
                    edge: Optional[EdgeLayer], max_lens: Mapping[str, int]) -> Optional[LoadTest]:
    cfg = loaded.platform
    test = obs.settings.load_test
    if not test.enabled or edge is None or edge.access is None or test.tenant not in edge.api_keys:
        return None
    models = _generate_models(cfg, max_lens)
    if not models:
        return None
    return LoadTest("load-test", LoadTestArgs(
        cluster=cluster,
        namespace=obs.namespace,
        models=models,
        base_url=edge.endpoints.openai_base_url,
        api_key=edge.api_keys[test.tenant],
        tenant=test.tenant,
        # Envoy Gateway runs every Gateway's proxies in its controller namespace.
        gateway_namespace=edge.endpoints.controller_namespace,
        gateway_proxy_selector=envoy_pod_labels(INTERNAL_GATEWAY, edge.endpoints.gateway_namespace),
        gateway_port=envoy_container_port(HTTP_PORT),
        hf_token=loaded.hf_token,
        settings=LoadTestSettings(image=INFERENCE_PERF_IMAGE, rates=tuple(test.rates),
                                  stage_seconds=test.stage_seconds, schedule=test.schedule,
                                  report_storage_gib=test.report_storage_gib),
    ), pulumi.ResourceOptions(depends_on=[edge.access.security_policy]))


def build_dashboards_and_alerts(cfg: PlatformConfig, cluster: ClusterInfo, obs: ObservabilityLayer,
                                data_namespace: Optional[str], cert_manager: bool) -> None:
    engines = tuple(sorted({DASHBOARD_ENGINES[m.effective_engine] for m in cfg.models if m.effective_engine}))
    Dashboards("dashboards", DashboardsArgs(cluster=cluster, namespace=obs.namespace, engines=engines,
                                            gpu=bool(cluster.gpu_pools), gateway=cfg.gateway is not None))
    s = obs.settings
    Alerts("alerts", AlertsArgs(
        cluster=cluster,
        namespace=obs.namespace,
        thresholds=AlertThresholds(ttft_p95_seconds=s.ttft_p95_seconds, gateway_5xx_ratio=s.gateway_5xx_ratio,
                                   pvc_full_ratio=s.pvc_full_ratio),
        gpu_operator_namespace=cfg.namespaces.gpu_operator if cfg.gpu_operator_enabled else None,
        models_namespace=cfg.namespaces.models if cfg.models else None,
        data_namespace=data_namespace,
        gateway_namespace=cfg.gateway.namespace if cfg.gateway is not None else None,
        **({"gateway_proxy_namespace": cfg.gateway.controller_namespace} if cfg.gateway is not None else {}),
        cert_manager=cert_manager,
        backups=cfg.backups is not None,
        backups_namespace=cfg.namespaces.backups,
        backup_schedules=backup_schedules(cfg),
        logs=obs.logs is not None,
        log_collector=obs.settings.logs.collector != "none",
        depends_on=(obs.monitoring.release,),
    ))


def backup_schedules(cfg: PlatformConfig) -> dict[str, str]:
    """Velero Schedule name -> cron, for the rule that a schedule's last success is recent."""
    b = cfg.backups
    if b is None:
        return {}
    return {"platform": b.platform.schedule, **({"tenants": b.tenants.schedule} if cfg.tenants else {})}


def platform_backup_namespaces(cfg: PlatformConfig, data_namespace: Optional[str]) -> tuple[str, ...]:
    """The platform's namespaces that hold state worth restoring (the daily schedule)."""
    out = [cfg.namespaces.system]
    if cfg.models:
        out.append(cfg.namespaces.models)
    if data_namespace is not None:
        out.append(data_namespace)
    if cfg.gateway is not None:
        out.append(cfg.gateway.namespace)
    if cfg.observability is not None:
        out.append(cfg.observability.namespace)
    return tuple(dict.fromkeys(out))


def build_backups(cfg: PlatformConfig, cluster: ClusterInfo, data_namespace: Optional[str],
                  tenant_namespaces: tuple[str, ...], metrics_namespace: Optional[str],
                  after: tuple[pulumi.Resource, ...]) -> Optional[Backups]:
    b = cfg.backups
    if b is None:
        return None
    schedules = [ScheduleSettings(name="platform", cron=b.platform.schedule, retention_days=b.platform.retention_days,
                                  namespaces=platform_backup_namespaces(cfg, data_namespace))]
    if tenant_namespaces:
        schedules.append(ScheduleSettings(name="tenants", cron=b.tenants.schedule,
                                          retention_days=b.tenants.retention_days, namespaces=tenant_namespaces))
    return Backups("backups", BackupArgs(
        cluster=cluster,
        namespace=cfg.namespaces.backups,
        chart_version=b.chart_version,
        prefix=b.prefix,
        schedules=tuple(schedules),
        snapshots=b.snapshots,
        snapshot_move_data=b.snapshot_move_data,
        resources=resources(b.resources),
        metrics_namespace=metrics_namespace,
        depends_on=after,
    ))
