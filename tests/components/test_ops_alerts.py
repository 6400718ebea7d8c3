"""Alert rules: PrometheusRule objects valid against the pinned CRD, every rule complete (severity,
summary, templated description, runbook with commands), every metric name one the pinned exporters
emit, thresholds from the stack in the expressions, optional topics only with their layers; the
platform metric catalog's citations; and the component under the recording mocks."""

from __future__ import annotations

import ast
import json
import re
import textwrap
from pathlib import Path

import pytest
from component_programs import run_component_program

from components.models import engines
from components.ops import alerts_rules as ar
from components.ops import metrics_catalog_platform as catalog
from components.ops.alerts_rules import AlertThresholds, RuleSettings
from components.ops.alerts_rules_base import DURATION, num, sel
from components.ops.alerts_rules_platform import full_ratio
from components.ops.alerts_rules_services import cron_period_seconds
from components.ops.metrics import known_metrics
from infra.plan.validate import validate_manifest

MON = "monitoring"
SCHEDULES = {"platform": "0 2 * * *", "tenants": "0 * * * *"}
FULL = RuleSettings(gpu_operator_namespace="gpu-operator", models_namespace="models", data_namespace="genai-data",
                    gateway_namespace="genai-gateway", cert_manager=True, backups=True,
                    backup_schedules=SCHEDULES, logs=True, monitoring_namespace=MON)
MINIMAL = RuleSettings()
SEVERITIES = {"critical", "warning", "info"}


def promql():
    # Written alongside these rules; imported lazily so a missing module fails these tests only.
    from components.ops import promql as p
    return p


def rules(settings: RuleSettings = FULL) -> list[dict]:
    return [r for obj in ar.prometheus_rules(settings, MON) for g in obj["spec"]["groups"] for r in g["rules"]]


def by_name(settings: RuleSettings = FULL) -> dict[str, dict]:
    return {r["alert"]: r for r in rules(settings)}


def seconds(duration: str) -> int:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return int(sum(int(n) * units[u] for n, u in parts))


# --- objects -----------------------------------------------------------------------------------

def test_every_prometheus_rule_validates_against_the_pinned_crd():
    for settings in (FULL, MINIMAL):
        for obj in ar.prometheus_rules(settings, MON):
            assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
            assert obj["metadata"]["namespace"] == MON
            assert validate_manifest(obj, "1.33") == []
    broken = ar.prometheus_rules(FULL, MON)[0]
    broken["spec"]["groups"][0]["rules"][0]["for"] = "fifteen minutes"
    assert validate_manifest(broken, "1.33"), "the schema check must catch a bad rule"


def test_one_object_and_group_per_topic_with_standard_labels():
    objs = ar.prometheus_rules(FULL, MON, instance="alerts")
    names = [o["metadata"]["name"] for o in objs]
    assert names == [f"genai-platform-{t}" for t in
                     ("storage", "gpu", "models", "databases", "gateway", "certificates", "backups", "logs")]
    for obj in objs:
        (group,) = obj["spec"]["groups"]
        assert group["name"] == "genai-platform." + obj["metadata"]["name"].removeprefix("genai-platform-")
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "genai-platform"
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "alerts"
    assert [g["name"] for g in ar.rule_groups(FULL)] == [o["spec"]["groups"][0]["name"] for o in objs]


def test_optional_topics_only_with_their_layer():
    assert [o["metadata"]["name"] for o in ar.prometheus_rules(MINIMAL, MON)] == ["genai-platform-storage"]
    full = set(by_name())
    for field, value, gone in (
        ("gpu_operator_namespace", None, {"GpuXidRequiresReset", "GpuNodesNotMonitored"}),
        ("models_namespace", None, {"ModelServerDown", "ModelTimeToFirstTokenHigh"}),
        ("data_namespace", None, {"DatabaseDown", "PostgresReplicationLagHigh"}),
        ("gateway_namespace", None, {"GatewayHighErrorRate", "GatewayProxiesDown"}),
        ("cert_manager", False, {"CertificateExpiringSoon", "CertificateNotReady"}),
        ("backups", False, {"VeleroBackupFailed", "VeleroBackupTooOld"}),
        ("logs", False, {"LokiUnavailable", "LogCollectorNotRunning"}),
    ):
        without = set(by_name(RuleSettings(**{**FULL.__dict__, field: value})))
        assert gone <= full and not gone & without, field
    assert "LogCollectorNotRunning" not in by_name(RuleSettings(**{**FULL.__dict__, "log_collector": False}))
    assert "VeleroBackupTooOld" not in by_name(RuleSettings(**{**FULL.__dict__, "backup_schedules": {}}))


# --- every rule ------------------------------------------------------------------------------------

def test_alert_names_are_unique_and_camel_case():
    names = [r["alert"] for r in rules()]
    assert len(names) == len(set(names)) > 25
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]+", n) for n in names)


def test_every_rule_has_severity_summary_templated_description_and_a_runbook():
    for r in rules():
        name, ann = r["alert"], r["annotations"]
        assert set(r["labels"]) == {"severity"} and r["labels"]["severity"] in SEVERITIES, name
        assert set(ann) == {"summary", "description", "runbook"}, name
        assert ann["summary"] and "\n" not in ann["summary"] and "{{" not in ann["summary"], name
        assert re.search(r"\{\{ \$(labels\.\w+|value)[^}]*\}\}", ann["description"]), name
        runbook = ann["runbook"]
        assert runbook.startswith("Meaning: ") and "\nCheck:\n" in runbook and "\nFix: " in runbook, name
        commands = [line.strip() for line in runbook.split("\nCheck:\n")[1].split("\nFix: ")[0].splitlines()]
        assert commands and all(c.startswith(("kubectl ", "PromQL: ", "velero ")) for c in commands), name
        assert len(runbook) > 300, name


def test_both_severities_are_used_and_outages_page():
    sev = {r["alert"]: r["labels"]["severity"] for r in rules()}
    assert {"critical", "warning"} <= set(sev.values())
    for name in ("GpuXidRequiresReset", "ModelServerDown", "DatabaseDown", "PersistentVolumeFull",
                 "CertificateExpiryImminent", "GatewayHighErrorRate", "GatewayProxiesDown", "VeleroBackupTooOld"):
        assert sev[name] == "critical", name


def test_for_durations_parse_and_are_sensible():
    for r in rules():
        assert DURATION.match(r["for"]), r["alert"]
        assert 60 <= seconds(r["for"]) <= 3600, r["alert"]
    assert seconds("1h30m") == 5400


def test_expressions_are_well_formed():
    p = promql()
    for r in rules():
        expr = r["expr"]
        assert p.problems(expr) == [], r["alert"]
        for open_, close in ("()", "{}", "[]"):
            assert expr.count(open_) == expr.count(close), r["alert"]
        assert expr.count('"') % 2 == 0 and expr.count("'") % 2 == 0, r["alert"]
        assert "None" not in expr and "<" + "model>" not in expr, r["alert"]
    assert p.problems("sum(rate(x[5m])") != [], "the syntax check must catch an unclosed paren"


def test_every_metric_an_expression_names_is_in_the_catalogs():
    p = promql()
    known = known_metrics()
    seen: set[str] = set()
    for r in rules():
        names = p.metric_names(r["expr"])
        assert names, r["alert"]
        assert names <= known, (r["alert"], sorted(names - known))
        seen |= names
    # The extractor really sees the metrics (not just function names).
    assert {"DCGM_FI_DEV_XID_ERRORS", "vllm:time_to_first_token_seconds_bucket", "cnpg_pg_replication_lag",
            "velero_backup_last_successful_timestamp", "certmanager_certificate_expiration_timestamp_seconds",
            "kubelet_volume_stats_available_bytes", "envoy_http_downstream_rq_xx", "up"} <= seen
    assert "made_up_metric_total" not in known


# --- thresholds and topic specifics --------------------------------------------------------------

def test_stack_thresholds_reach_the_expressions():
    custom = RuleSettings(**{**FULL.__dict__, "thresholds": AlertThresholds(
        ttft_p95_seconds=3.5, gateway_5xx_ratio=0.07, pvc_full_ratio=0.9)})
    r = by_name(custom)
    assert re.search(r"\) > 3\.5\n", r["ModelTimeToFirstTokenHigh"]["expr"])
    assert "> 0.07" in r["GatewayHighErrorRate"]["expr"] and "> 0.07" in r["GatewayBackendErrorRate"]["expr"]
    assert r["PersistentVolumeNearlyFull"]["expr"].endswith("> 0.9")
    assert r["PersistentVolumeFull"]["expr"].endswith(f"> {num(full_ratio(0.9))}") and full_ratio(0.9) == 0.95
    default = by_name()
    assert "> 2\n" in default["ModelTimeToFirstTokenHigh"]["expr"]
    assert "> 0.05" in default["GatewayHighErrorRate"]["expr"]
    assert default["PersistentVolumeNearlyFull"]["expr"].endswith("> 0.85")


def test_gpu_rules_use_the_dcgm_exporter_job_and_nvidias_reset_xids():
    r = by_name()
    critical = r["GpuXidRequiresReset"]["expr"]
    codes = set(re.search(r'err_code=~"([0-9|]+)"', critical).group(1).split("|"))
    assert {"48", "63", "64", "74", "79", "94", "95"} <= codes
    assert "docs.nvidia.com/deploy/xid-errors" in r["GpuXidRequiresReset"]["annotations"]["runbook"]
    # The warning covers every other non-zero XID, once, when it appears.
    assert re.search(r'err_code!~"0\|48\|', r["GpuXidError"]["expr"]) and "offset 30m" in r["GpuXidError"]["expr"]
    assert 'up{job="nvidia-dcgm-exporter"}' in r["GpuNodesNotMonitored"]["expr"]
    assert 'resource="nvidia_com_gpu"' in r["GpuNodesNotMonitored"]["expr"]
    assert "kubectl -n gpu-operator" in r["GpuNodesNotMonitored"]["annotations"]["runbook"]


def test_queue_rule_covers_every_engine_and_joins_the_keda_hpa():
    expr = by_name()["ModelQueueGrowingAtMaxReplicas"]["expr"]
    for spec in engines.ENGINES.values():
        assert sel(spec.queue_metric, 'namespace="models"') in expr, spec.name
        assert f") > {spec.queue_target}\n" in expr
    assert '"keda-hpa-(.+)"' in expr and "kube_horizontalpodautoscaler_spec_max_replicas" in expr
    assert "deriv(" in expr


def test_model_down_ignores_loading_and_scaled_to_zero_models():
    expr = by_name()["ModelServerDown"]["expr"]
    assert "kube_deployment_spec_replicas{namespace=\"models\"}) > 0" in expr
    assert re.search(r'unless on \(namespace, deployment\)\s+max by \(namespace, deployment\) '
                     r'\(kube_deployment_status_condition\{[^}]*status="true"', expr)


def test_rate_and_ratio_rules_are_guarded_by_minimum_traffic():
    r = by_name()
    assert re.search(r"rate\(envoy_http_downstream_rq_total\{[^}]*\}\[5m\]\)\) > 0\.5", r["GatewayHighErrorRate"]["expr"])
    assert re.search(r"rate\(envoy_cluster_upstream_rq_total\{[^}]*\}\[5m\]\)\) > 0\.1",
                     r["GatewayBackendErrorRate"]["expr"])
    assert re.search(r"rate\(vllm:time_to_first_token_seconds_count\{[^}]*\}\[10m\]\)\) > 0\.05",
                     r["ModelTimeToFirstTokenHigh"]["expr"])
    # Envoy Gateway's own stats and readiness listeners are not traffic.
    assert r["GatewayHighErrorRate"]["expr"].count('envoy_http_conn_manager_prefix!~"eg-.*"') == 3


def test_gateway_rules_watch_the_proxies_where_envoy_gateway_runs_them():
    r = by_name(RuleSettings(**{**FULL.__dict__, "gateway_proxy_namespace": "eg"}))
    assert 'namespace="eg", deployment=~"envoy-genai-gateway-.+"' in r["GatewayProxiesDown"]["expr"]
    assert 'namespace="eg"' in r["GatewayHighErrorRate"]["expr"]


def test_certificate_rules_use_cert_managers_exported_namespace():
    r = by_name()
    soon, imminent = r["CertificateExpiringSoon"]["expr"], r["CertificateExpiryImminent"]["expr"]
    assert soon.endswith("< 14 * 86400 > 3 * 86400") and imminent.endswith("< 3 * 86400")
    assert "exported_namespace" in soon and 'condition!="True"' in r["CertificateNotReady"]["expr"]


def test_database_rules_cover_each_engines_exporter():
    r = by_name()
    down = r["DatabaseDown"]["expr"]
    for metric in ("cnpg_collector_up", "mysql_up", "mongodb_up", "redis_up"):
        assert f'{metric}{{namespace="genai-data"}}' in down
    assert 'owner_kind="Job"' in r["DatabasePodNotReady"]["expr"]
    assert "cnpg_collector_last_failed_backup_timestamp" in r["PostgresBackupFailed"]["expr"]


def test_backup_staleness_is_twice_each_schedules_period():
    expr = by_name()["VeleroBackupTooOld"]["expr"]
    assert f'{{namespace="velero", schedule="platform"}}) > {2 * 86400})' in expr
    assert f'{{namespace="velero", schedule="tenants"}}) > {2 * 3600})' in expr
    other = by_name(RuleSettings(**{**FULL.__dict__, "backups_namespace": "backups"}))
    assert other["VeleroNotReporting"]["expr"] == 'absent(velero_backup_attempt_total{namespace="backups"})'
    assert "velero -n backups backup get" in other["VeleroBackupFailed"]["annotations"]["runbook"]


@pytest.mark.parametrize(("cron", "hours"), [
    ("0 2 * * *", 24), ("0 * * * *", 1), ("*/15 * * * *", 0.25), ("30 1 * * 0", 168), ("0 3 * * 7", 168),
    ("0 3 1 * *", 31 * 24), ("0 3 1,15 * 1", 7 * 24), ("0 3 */2 * *", 48), ("0 0 29 2 *", 4 * 8766),
    ("0 0,12 * * 1-5", 60),
])
def test_cron_period(cron, hours):
    assert cron_period_seconds(cron) == int(hours * 3600)


@pytest.mark.parametrize("cron", ["0 2 * *", "61 * * * *", "0 0 31 2 *", "x * * * *"])
def test_cron_period_rejects_what_never_runs_or_cannot_be_read(cron):
    with pytest.raises(ValueError):
        cron_period_seconds(cron)


def test_logs_rules_name_the_releases_workloads():
    r = by_name()
    assert 'statefulset="loki"' in r["LokiUnavailable"]["expr"] and 'job="monitoring/loki"' in r["LokiUnavailable"]["expr"]
    assert 'daemonset="alloy"' in r["LogCollectorNotRunning"]["expr"]


# --- the platform catalog ------------------------------------------------------------------------

CATALOG_SOURCE = Path(catalog.__file__).read_text()


def _comment_above(variable: str) -> str:
    lines = CATALOG_SOURCE.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{variable} = "))
    out = []
    for line in reversed(lines[:start]):
        if not line.startswith("#"):
            break
        out.append(line)
    return "\n".join(reversed(out))


def _catalog_variables() -> dict[str, str]:
    tree = ast.parse(CATALOG_SOURCE)
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "PLATFORM_METRICS":
            assert isinstance(node.value, ast.Dict)
            return {k.value: v.id for k, v in zip(node.value.keys, node.value.values, strict=True)}  # type: ignore[union-attr]
    raise AssertionError("no PLATFORM_METRICS")


@pytest.mark.parametrize(("exporter", "version"), [
    ("prometheus", "v3.14.0"), ("kube-state-metrics", "v2.20.0"), ("node-exporter", "v1.12.1"),
    ("cert-manager", "v1.21.1"), ("cloudnative-pg", "1.30.0"), ("keda", "2.20.2"), ("velero", "1.18.1"),
    ("mysqld-exporter", "v0.15.1"), ("mongodb-exporter", "v0.52.0"), ("redis-exporter", "v1.79.0"),
    ("kubelet", "88.5.3"),
])
def test_each_catalog_entry_cites_its_source_file_and_version(exporter, version):
    variables = _catalog_variables()
    assert set(variables) == set(catalog.PLATFORM_METRICS)
    comment = _comment_above(variables[exporter])
    assert version in comment, exporter
    assert re.search(r"\b[\w/.-]+\.(go|yaml)\b", comment), exporter
    assert catalog.PLATFORM_METRICS[exporter], exporter


def test_catalog_names_are_metric_names_and_reach_known_metrics():
    for exporter, names in catalog.PLATFORM_METRICS.items():
        for n in names:
            assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", n), (exporter, n)
    assert set().union(*catalog.PLATFORM_METRICS.values()) <= known_metrics()


# --- the component under the recording mocks ---------------------------------------------------

PROGRAM = '''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, StorageClasses
    from components.ops.alerts import Alerts, AlertsArgs, AlertThresholds

    provider = k8s.Provider("k8s", kubeconfig="stub")
    cluster = ClusterInfo(kind="existing", name="c", provider=provider, kubernetes_version="1.33", gpu_pools=(),
                          storage=StorageClasses(rwo="standard", rwx=None))
    stack = k8s.core.v1.Namespace("monitoring", metadata={"name": "monitoring"},
                                  opts=pulumi.ResourceOptions(provider=provider))
    alerts = Alerts("alerts", AlertsArgs(
        cluster=cluster, namespace="monitoring", thresholds=AlertThresholds(ttft_p95_seconds=4.0),
        gpu_operator_namespace=None, models_namespace="models", data_namespace=None, gateway_namespace=None,
        cert_manager=True, backups=True, logs=False, backup_schedules={"platform": "0 2 * * *"},
        depends_on=(stack,)))
    pulumi.export("rules", sorted(alerts.rules))
'''


@pytest.fixture(scope="module")
def alerts_run(tmp_path_factory):
    return run_component_program(tmp_path_factory.mktemp("alerts"), textwrap.dedent(PROGRAM), "alerts-test").monitor


def test_component_creates_one_rule_object_per_topic_with_the_explicit_provider(alerts_run):
    mon = alerts_run
    assert mon.violations == []
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    (component,) = mon.by_type("genai:ops:Alerts")
    created = sorted((r for r in mon.registrations if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"),
                     key=lambda r: r.inputs["metadata"]["name"])
    expected = sorted(ar.prometheus_rules(RuleSettings(
        thresholds=AlertThresholds(ttft_p95_seconds=4.0), models_namespace="models", cert_manager=True,
        backups=True, backup_schedules={"platform": "0 2 * * *"}, monitoring_namespace=MON), MON, instance="alerts"),
        key=lambda o: o["metadata"]["name"])
    assert [r.inputs["metadata"]["name"] for r in created] == [o["metadata"]["name"] for o in expected] == [
        "genai-platform-backups", "genai-platform-certificates", "genai-platform-models", "genai-platform-storage"]
    ns_urn = next(r.urn for r in mon.registrations if r.name == "monitoring")
    for r, obj in zip(created, expected, strict=True):
        assert r.provider == provider.urn and r.parent == component.urn
        assert r.name == f"alerts-{obj['metadata']['name']}"
        assert ns_urn in r.dependencies
        assert json.loads(json.dumps(r.inputs["spec"])) == json.loads(json.dumps(obj["spec"]))
        assert validate_manifest({"apiVersion": obj["apiVersion"], "kind": obj["kind"], **r.inputs}, "1.33") == []
    assert "> 4\n" in created[2].inputs["spec"]["groups"][0]["rules"][4]["expr"]
    assert mon.stack_outputs["rules"] == sorted(o["metadata"]["name"] for o in expected)
