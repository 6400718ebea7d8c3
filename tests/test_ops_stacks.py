"""Observability, the load test and backups as the stacks render them: what reaches the cluster."""

from __future__ import annotations

import pytest
from netpol_walk import Pod, allowed
from test_edge_tenancy_stacks import objects, planned, releases

from components.edge.contracts import INTERNAL_GATEWAY, envoy_container_port
from components.edge.gateway_specs import HTTP_PORT, envoy_pod_labels
from components.ops.contracts import DASHBOARD_LABEL, MONITORING_RELEASE, prometheus_url
from components.ops.monitoring_values import GRAFANA_SELECTOR, PROMETHEUS_SELECTOR
from infra.ops_layer import waits_for_monitoring
from infra.plan.runner import RunResult

HELM = "kubernetes:helm.sh/v3:Release"
MONITOR_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")
OBSERVED = ["dev", "staging", "onprem", "prod-aws", "prod-gcp", "prod-azure"]
BACKED_UP = {"staging": "gcp", "onprem": "aws", "prod-aws": "aws", "prod-gcp": "gcp", "prod-azure": "azure"}


def registration(result: RunResult, type_: str, name: str):
    matches = [r for r in result.monitor.registrations if r.type == type_ and r.inputs.get("name") == name]
    assert len(matches) == 1, f"{type_} {name}: {len(matches)} registrations"
    return matches[0]


def namespaces(result: RunResult) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs["metadata"].get("labels", {})
            for r in result.monitor.registrations if r.type == "kubernetes:core/v1:Namespace"}


def policies(result: RunResult) -> list[dict]:
    return objects(result, "networking.k8s.io/v1", "NetworkPolicy")


@pytest.mark.parametrize("stack", OBSERVED)
def test_every_monitor_and_every_release_that_renders_one_waits_for_the_operator_crds(stack):
    result = planned(stack)
    prometheus = registration(result, HELM, MONITORING_RELEASE)
    assert prometheus.inputs["values"]["prometheus"]["prometheusSpec"]["serviceMonitorSelectorNilUsesHelmValues"] is False
    waiting = [r for r in result.monitor.registrations if r is not prometheus and waits_for_monitoring(r.type, r.inputs)]
    kinds = {r.type.rsplit(":", 1)[-1] for r in waiting}
    assert {"ServiceMonitor", "PodMonitor", "PrometheusRule", "Release"} <= kinds
    for r in waiting:
        assert prometheus.urn in r.dependencies, f"{r.type} {r.name} does not wait for {MONITORING_RELEASE}"
    # And nothing monitor-shaped escapes the rule.
    monitors = [r for r in result.monitor.registrations if r.type.rsplit(":", 1)[-1] in MONITOR_KINDS]
    assert monitors and all(prometheus.urn in r.dependencies for r in monitors)


def test_the_ordering_rule_reads_chart_values():
    assert waits_for_monitoring(HELM, {"values": {"metrics": {"serviceMonitor": {"enabled": True}}}})
    assert waits_for_monitoring(HELM, {"values": {"inferenceExtension": {"monitoring": {"prometheus": {"enabled": True}}}}})
    assert waits_for_monitoring(HELM, {"values": {"monitoring": {"podMonitorEnabled": True}}})
    assert not waits_for_monitoring(HELM, {"values": {"metrics": {"serviceMonitor": {"enabled": False}}}})
    assert not waits_for_monitoring(HELM, {"values": {"replicas": 2}})
    assert not waits_for_monitoring("kubernetes:apps/v1:Deployment", {"spec": {"serviceMonitor": True}})


@pytest.mark.parametrize("stack", OBSERVED)
def test_keda_queries_the_installed_prometheus_and_may_reach_it(stack):
    result = planned(stack)
    obs = result.monitor.stack_outputs["observability"]
    assert obs["prometheus"] == prometheus_url(obs["namespace"])
    scalers = [t for so in objects(result, "keda.sh/v1alpha1", "ScaledObject") for t in so["spec"]["triggers"]
               if t["type"] == "prometheus"]
    # Staging's models run fixed replica counts: no scaler and no KEDA there.
    assert {t["metadata"]["serverAddress"] for t in scalers} == ({obs["prometheus"]} if stack != "staging" else set())
    if "keda" not in releases(result):
        assert stack == "staging"
        return
    keda_ns = releases(result)["keda"]["namespace"]
    keda_pod = Pod(keda_ns, {"app": "keda-operator"})
    prom_pod = Pod(obs["namespace"], PROMETHEUS_SELECTOR)
    assert allowed(policies(result), namespaces(result), keda_pod, prom_pod, 9090)
    stranger = Pod(next(iter(n for n in namespaces(result) if n.startswith("tenant-"))), {"app": "x"})
    assert not allowed(policies(result), namespaces(result), stranger, prom_pod, 9090)


@pytest.mark.parametrize("stack", OBSERVED)
def test_grafana_loads_the_platform_dashboards(stack):
    result = planned(stack)
    maps = [m for m in objects(result, "core/v1", "ConfigMap")
            if DASHBOARD_LABEL.items() <= m["metadata"].get("labels", {}).items()]
    uids = {m["metadata"]["name"].removeprefix("dashboard-") for m in maps}
    has_gpus = bool(result.monitor.stack_outputs["gpuPools"])
    assert {"genai-platform", "genai-model-serving", "genai-gateway"} <= uids
    assert ("genai-gpu-fleet" in uids) == has_gpus
    assert all(m["metadata"]["namespace"] == result.monitor.stack_outputs["observability"]["namespace"] for m in maps)


@pytest.mark.parametrize("stack", OBSERVED)
def test_grafana_password_is_only_a_secret_output(stack):
    result = planned(stack)
    assert result.monitor.stack_outputs["grafanaAdminPassword"] == "[secret]"
    values = registration(result, HELM, MONITORING_RELEASE).inputs["values"]
    assert "adminPassword" not in values.get("grafana", {})
    assert values["grafana"]["admin"]["existingSecret"]


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_the_load_test_calls_the_internal_gateway(stack):
    result = planned(stack)
    obs_ns = result.monitor.stack_outputs["observability"]["namespace"]
    runs = objects(result, "batch/v1", "Job") + objects(result, "batch/v1", "CronJob")
    tests = [r for r in runs if r["metadata"]["name"].startswith("load-test")]
    assert len(tests) == 1 and tests[0]["metadata"]["namespace"] == obs_ns
    assert (tests[0]["kind"] == "CronJob") == (stack == "staging")
    gw_ns = result.monitor.stack_outputs["gateway"]["namespace"]
    proxy = Pod("envoy-gateway-system", envoy_pod_labels(INTERNAL_GATEWAY, gw_ns))
    job_labels = (tests[0]["spec"].get("template") or tests[0]["spec"]["jobTemplate"]["spec"]["template"])
    job = Pod(obs_ns, job_labels["metadata"]["labels"])
    assert allowed(policies(result), namespaces(result), job, proxy, envoy_container_port(HTTP_PORT))
    # Other pods of the monitoring namespace don't get that way in.
    assert not allowed(policies(result), namespaces(result), Pod(obs_ns, GRAFANA_SELECTOR),
                       proxy, envoy_container_port(HTTP_PORT))


@pytest.mark.parametrize("stack", ["onprem", "prod-aws", "prod-gcp", "prod-azure"])
def test_no_load_test_where_not_asked(stack):
    runs = objects(planned(stack), "batch/v1", "Job") + objects(planned(stack), "batch/v1", "CronJob")
    assert not [r for r in runs if r["metadata"]["name"].startswith("load-test")]


@pytest.mark.parametrize("stack", sorted(BACKED_UP))
def test_backups_write_to_the_stack_bucket_on_a_schedule(stack):
    result = planned(stack)
    out = result.monitor.stack_outputs
    velero = registration(result, HELM, "velero").inputs
    [location] = velero["values"]["configuration"]["backupStorageLocation"]
    assert location["provider"] == BACKED_UP[stack]
    schedules = {s["metadata"]["name"]: s["spec"] for s in objects(result, "velero.io/v1", "Schedule")}
    tenant_ns = sorted(t["namespace"] for t in out["tenants"].values())
    assert sorted(schedules["tenants"]["template"]["includedNamespaces"]) == tenant_ns
    platform = schedules["platform"]["template"]["includedNamespaces"]
    ns = out["namespaces"]
    assert {ns["system"], ns["models"], ns["data"], ns["gateway"], ns["observability"]} <= set(platform)
    assert not set(platform) & set(tenant_ns)
    assert out["backups"]["bucket"]


@pytest.mark.parametrize("stack", sorted(BACKED_UP))
def test_the_model_catalog_is_left_out_of_backups(stack):
    claims = [c for c in objects(planned(stack), "core/v1", "PersistentVolumeClaim")
              if c["metadata"]["name"] == "model-catalog"]
    assert claims and claims[0]["metadata"]["labels"]["velero.io/exclude-from-backup"] == "true"


def test_without_backups_the_catalog_carries_no_backup_label():
    claims = [c for c in objects(planned("dev"), "core/v1", "PersistentVolumeClaim")
              if c["metadata"]["name"] == "model-catalog"]
    assert claims and "velero.io/exclude-from-backup" not in claims[0]["metadata"]["labels"]


def test_gke_lets_velero_sign_download_urls_with_its_own_account():
    result = planned("prod-gcp")
    members = [r for r in result.monitor.registrations if r.type == "gcp:serviceaccount/iAMMember:IAMMember"
               and r.inputs.get("role") == "roles/iam.serviceAccountTokenCreator"]
    assert [m.name for m in members] == ["cluster-workload-identity-backups-sign"]


def test_velero_finds_the_nfs_snapshot_class_on_premises():
    classes = [c for c in planned("onprem").monitor.registrations
               if c.type == "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass"]
    labelled = [c for c in classes if c.inputs["metadata"]["labels"].get("velero.io/csi-volumesnapshot-class") == "true"]
    assert [c.inputs["driver"] for c in labelled] == ["nfs.csi.k8s.io"]


@pytest.mark.parametrize("stack", ["onprem", "prod-aws"])
def test_gateway_metrics_carry_the_tenant_and_are_scraped_from_the_ai_gateway_sidecar(stack):
    result = planned(stack)
    ai = releases(result)["aieg"]["values"]["controller"]
    assert ai["metricsRequestHeaderAttributes"] == "x-genai-tenant:tenant"
    proxies = [m for m in objects(result, "monitoring.coreos.com/v1", "PodMonitor")
               if m["metadata"]["name"] == "envoy-proxies"]
    assert {(e["port"], e["path"]) for e in proxies[0]["spec"]["podMetricsEndpoints"]} == {
        ("metrics", "/stats/prometheus"), ("aigw-admin", "/metrics")}
