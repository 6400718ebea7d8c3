"""Logs: Loki's values (checked against the pinned chart's reference values and schema), the
Alloy collector's values and pipeline, the NetworkPolicies (proven with the policy walker), and
the component under the plan's recording mocks with and without a collector."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from component_programs import run_component_program
from netpol_walk import External, Pod, allowed, reachable_ports

from components.cluster.info import GpuPool, Taint
from components.common.security import Resources
from components.edge.contracts import TENANT_LABEL
from components.ops import contracts
from components.ops import logs_values as lv
from components.ops.monitoring_values import PROMETHEUS_SELECTOR
from components.platform import network_policies
from components.tenancy.namespace_specs import tenant_labels
from infra.plan.validate import REFERENCE_DIR, has_chart_reference, validate_helm_values, validate_manifest
from infra.schema_ops import LOKI_CHART_VERSION

NS = "monitoring"
LOKI_RES = Resources(cpu_request="250m", memory_request="1Gi", cpu_limit="1", memory_limit="2Gi")
SETTINGS = lv.LogsSettings(chart_version=LOKI_CHART_VERSION, retention_days=7, storage_gib=50,
                           resources=LOKI_RES, collector="alloy")
GRAFANA = {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": contracts.MONITORING_RELEASE}
GPU_TAINT = Taint("nvidia.com/gpu", "present", "NoSchedule")


def loki_values(settings: lv.LogsSettings = SETTINGS, protect: bool = False) -> dict:
    return lv.loki_values(settings, storage_class="fast-rwo", protect=protect)


def chart_defaults() -> dict:
    return yaml.safe_load((REFERENCE_DIR / "chart-values" / "loki" / "values.yaml").read_text())


# --- Loki ----------------------------------------------------------------------------------------

def test_loki_values_are_keys_of_the_pinned_chart_and_satisfy_its_schema():
    assert has_chart_reference(lv.LOKI_CHART)
    assert lv.LOKI_CHART_VERSION == LOKI_CHART_VERSION == "7.3.0"
    errors = validate_helm_values(lv.LOKI_CHART, loki_values())
    # ``loki.limits_config`` is Loki's own limits block, rendered verbatim into its config file;
    # the chart's values.yaml lists only some of its keys. Nothing else may be unknown.
    assert errors in ([], ["helm loki: loki.limits_config.retention_period: not a value of the chart "
                           "(check spelling or the chart version)"])


def test_single_binary_with_every_scalable_and_distributed_target_at_zero():
    v = loki_values()
    assert v["deploymentMode"] == "SingleBinary"
    assert v["singleBinary"]["replicas"] == 1
    for target in ("read", "write", "backend"):
        assert v[target] == {"replicas": 0}
    # Every other workload the chart defaults to running must be zeroed or switched off here.
    defaults = chart_defaults()
    off = {k for k, sect in v.items() if isinstance(sect, dict) and sect.get("enabled") is False}
    running = {k for k, sect in defaults.items()
               if isinstance(sect, dict) and (sect.get("replicas") or 0) > 0 and sect.get("enabled", True) is not False}
    enterprise_only = {"adminApi", "enterpriseGateway"}
    assert {"read", "write", "backend", "gateway", "lokiCanary", "resultsCache", "chunksCache"} <= running
    for key in running - enterprise_only - {"singleBinary"}:
        assert v.get(key, {}).get("replicas") == 0 or key in off, key
    assert defaults["enterprise"]["enabled"] is False and "enterprise" not in v


def test_filesystem_store_with_tsdb_v13_schema_and_one_replica_ring():
    loki = loki_values()["loki"]
    assert loki["storage"] == {"type": "filesystem"}
    assert loki["commonConfig"] == {"replication_factor": 1}
    (schema,) = loki["schemaConfig"]["configs"]
    assert schema == {"from": "2024-04-01", "store": "tsdb", "object_store": "filesystem", "schema": "v13",
                      "index": {"prefix": "index_", "period": "24h"}}
    assert loki["auth_enabled"] is False


@pytest.mark.parametrize("days", [1, 7, 30, 365])
def test_retention_is_days_times_24h_enforced_by_the_compactor(days):
    loki = loki_values(lv.LogsSettings("7.3.0", days, 50, LOKI_RES, "alloy"))["loki"]
    assert loki["limits_config"] == {"retention_period": f"{days * 24}h"}
    # Loki refuses retention without a store for delete requests (compactor config validation).
    assert loki["compactor"] == {"retention_enabled": True, "delete_request_store": "filesystem"}
    assert loki["compactor"]["delete_request_store"] == loki["schemaConfig"]["configs"][0]["object_store"]


def test_volume_resources_and_protection_follow_settings():
    v = loki_values(lv.LogsSettings("7.3.0", 7, 120, LOKI_RES, "alloy"), protect=True)
    persistence = v["singleBinary"]["persistence"]
    assert (persistence["enabled"], persistence["size"], persistence["storageClass"]) == (True, "120Gi", "fast-rwo")
    assert persistence["whenDeleted"] == "Retain"
    assert loki_values()["singleBinary"]["persistence"]["whenDeleted"] == "Delete"
    assert v["singleBinary"]["resources"] == {"requests": {"cpu": "250m", "memory": "1Gi"},
                                              "limits": {"cpu": "1", "memory": "2Gi"}}


def test_only_the_loki_pod_runs_and_its_image_is_pinned():
    v, defaults = loki_values(), chart_defaults()
    for section in ("gateway", "lokiCanary", "test", "chunksCache", "resultsCache"):
        assert v[section]["enabled"] is False, section
    assert v["sidecar"]["rules"]["enabled"] is False
    # The Helm test image is ``latest``: it must never be rendered.
    assert defaults["test"]["image"]["tag"] == "latest" and v["test"]["enabled"] is False
    assert v["loki"]["image"]["tag"] == lv.LOKI_IMAGE_TAG == defaults["loki"]["image"]["tag"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", lv.LOKI_IMAGE_TAG)
    assert v["serviceAccount"]["automountServiceAccountToken"] is False


def test_loki_runs_restricted_and_reports_to_prometheus_only():
    loki = loki_values()["loki"]
    pod, ctr = loki["podSecurityContext"], loki["containerSecurityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001 and pod["fsGroup"] == 10001
    assert pod["seccompProfile"] == ctr["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctr["readOnlyRootFilesystem"] is True and ctr["allowPrivilegeEscalation"] is False
    assert ctr["capabilities"] == {"drop": ["ALL"]}
    assert loki["analytics"] == {"reporting_enabled": False}
    assert loki_values()["monitoring"]["serviceMonitor"]["enabled"] is True


def test_url_is_the_single_binary_service_on_3100():
    assert lv.loki_url("monitoring") == "http://loki.monitoring.svc:3100"
    assert lv.loki_url("obs") == f"http://{contracts.LOKI_RELEASE}.obs.svc:{contracts.LOKI_PORT}"
    assert lv.loki_push_url("obs") == "http://loki.obs.svc:3100/loki/api/v1/push"


# --- Alloy ---------------------------------------------------------------------------------------

def alloy_values() -> dict:
    return lv.alloy_values(NS)


def config_blocks(text: str) -> dict[str, str]:
    """Top-level ``component "label" { ... }`` blocks of an Alloy config, by ``component.label``."""
    out, depth, start, head = {}, 0, 0, ""
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                line = text[text.rfind("\n", 0, i) + 1:i].strip()
                head, start = line, i
            depth += 1
        elif ch == "}":
            depth -= 1
            assert depth >= 0
            if depth == 0:
                name, label = re.fullmatch(r'([a-z_.]+) "([a-z_]+)"', head).groups()
                out[f"{name}.{label}"] = text[start + 1:i]
    assert depth == 0
    return out


def rules(block: str) -> list[dict[str, str]]:
    out = []
    for body in re.findall(r"rule \{(.*?)\n  \}", block, re.S):
        out.append({k: v for k, v in re.findall(r"(\w+)\s*=\s*(.+)", body)})
    return out


def test_pipeline_discovers_this_nodes_pods_with_their_namespace_labels():
    blocks = config_blocks(lv.alloy_config(NS))
    assert set(blocks) == {"discovery.kubernetes.pods", "discovery.relabel.pods", "loki.source.file.pods",
                           "loki.process.pods", "loki.write.loki"}
    disc = blocks["discovery.kubernetes.pods"]
    assert 'role = "pod"' in disc
    # The chart sets HOSTNAME from spec.nodeName (templates/containers/_agent.yaml).
    assert 'field = "spec.nodeName=" + coalesce(sys.env("HOSTNAME"), constants.hostname)' in disc
    assert re.search(r"attach_metadata \{\s*namespace = true\s*\}", disc)


def test_relabel_sets_stream_labels_model_tenant_and_the_pod_log_path():
    by_target = {r["target_label"].strip('"'): r for r in rules(config_blocks(lv.alloy_config(NS))["discovery.relabel.pods"])}
    assert set(by_target) == {"namespace", "pod", "container", "app", contracts.MODEL_METRIC_LABEL, "tenant", "__path__"}
    sources = {t: r["source_labels"] for t, r in by_target.items()}
    assert sources["namespace"] == '["__meta_kubernetes_namespace"]'
    assert sources["pod"] == '["__meta_kubernetes_pod_name"]'
    assert sources["container"] == '["__meta_kubernetes_pod_container_name"]'
    assert sources["app"] == '["__meta_kubernetes_pod_label_app_kubernetes_io_name"]'
    # Prometheus' discovery sanitises label keys (invalid characters -> "_"), so the model's pod
    # label gives the same name as the model label every metric carries.
    assert sources[contracts.MODEL_METRIC_LABEL] == f'["__meta_kubernetes_pod_label_{contracts.MODEL_METRIC_LABEL}"]'
    # The tenant comes from the label the tenancy layer puts on the tenant's namespace.
    assert TENANT_LABEL in dict(tenant_labels("acme", model_clients=False))
    assert sources["tenant"] == '["__meta_kubernetes_namespace_label_genai_platform_io_tenant"]'
    path = by_target["__path__"]
    assert path["source_labels"] == '["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]'
    assert path["separator"] == '"/"' and path["replacement"] == '"/var/log/pods/*$1/*.log"'


def test_files_are_tailed_parsed_as_cri_and_pushed_to_loki():
    blocks = config_blocks(lv.alloy_config(NS))
    source = blocks["loki.source.file.pods"]
    assert "targets    = discovery.relabel.pods.output" in source
    assert re.search(r"file_match \{\s*enabled = true\s*\}", source)
    assert "forward_to = [loki.process.pods.receiver]" in source
    process = blocks["loki.process.pods"]
    assert "stage.cri {}" in process and "forward_to = [loki.write.loki.receiver]" in process
    assert 'url = "http://loki.monitoring.svc:3100/loki/api/v1/push"' in blocks["loki.write.loki"]
    assert 'url = "http://loki.obs.svc:3100/loki/api/v1/push"' in lv.alloy_config("obs")


def test_config_survives_the_charts_tpl():
    # alloy.configMap.content is rendered with Helm's tpl (templates/configmap.yaml).
    text = alloy_values()["alloy"]["configMap"]["content"]
    assert text == lv.alloy_config(NS)
    assert "{{" not in text and "}}" not in text


def tolerates(tolerations: list[dict], taint: Taint) -> bool:
    """Kubernetes' toleration matching (core/v1 Toleration.ToleratesTaint)."""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.effect:
            continue
        if t.get("key") and t["key"] != taint.key:
            continue
        if t.get("operator", "Equal") == "Exists" or t.get("value") == taint.value:
            return True
    return False


def test_collector_runs_on_every_node_gpu_nodes_included():
    controller = alloy_values()["controller"]
    assert controller["type"] == "daemonset"
    pool = GpuPool(name="a100", gpu_model="A100-80GB", gpu_memory_gib=80, gpus_per_node=8, node_selector={},
                   taints=(GPU_TAINT, Taint("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")))
    for taint in (*pool.taints, Taint("node.kubernetes.io/not-ready", "", "NoExecute"),
                  Taint("node-role.kubernetes.io/control-plane", "", "NoSchedule")):
        assert tolerates(controller["tolerations"], taint), taint
    assert not tolerates([pool.tolerations[1]], GPU_TAINT)   # the matcher can say no
    assert "nodeSelector" not in controller and "affinity" not in controller


def test_collector_images_are_pinned_and_every_container_has_requests_and_limits():
    v = alloy_values()
    assert v["image"]["tag"] == lv.ALLOY_IMAGE_TAG == "v1.18.1"
    assert lv.ALLOY_CHART_VERSION == "1.11.1"
    for res in (v["alloy"]["resources"], v["configReloader"]["resources"]):
        assert res["requests"]["cpu"] and res["requests"]["memory"]
        assert res["limits"]["cpu"] and res["limits"]["memory"]
    # The config reloader's image comes pinned by tag and digest from the chart; not overridden.
    assert "image" not in v["configReloader"]
    assert v["serviceMonitor"] == {"enabled": True}
    assert v["alloy"]["enableReporting"] is False and v["crds"] == {"create": False}


def test_collector_reads_host_logs_as_root_without_capabilities():
    alloy = alloy_values()["alloy"]
    sc = alloy["securityContext"]
    assert sc["runAsUser"] == 0 and sc["runAsNonRoot"] is False and sc["privileged"] is False
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert alloy["mounts"]["varlog"] is True      # hostPath /var/log, mounted read-only by the chart
    # The positions file goes to a scratch volume: the root filesystem is read-only.
    assert alloy["storagePath"].startswith("/tmp/")
    assert alloy["mounts"]["extra"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert alloy_values()["controller"]["volumes"]["extra"][0]["name"] == "tmp"


# --- NetworkPolicies -----------------------------------------------------------------------------

LABELS = {"app.kubernetes.io/part-of": "genai-platform"}
NAMESPACES = {NS: {}, "tenant-acme": {TENANT_LABEL: "acme"}, "models": {}}
LOKI = Pod(NS, {**lv.LOKI_SELECTOR, "app.kubernetes.io/component": "single-binary"}, "loki-0")
ALLOY = Pod(NS, {**lv.ALLOY_SELECTOR, "app.kubernetes.io/component": "log-collector"}, "alloy-x")
GRAFANA_POD = Pod(NS, {**GRAFANA, "app.kubernetes.io/component": "grafana"}, "grafana")
PROMETHEUS = Pod(NS, dict(PROMETHEUS_SELECTOR), "prometheus-0")   # the labels the operator gives our Prometheus
ALERTMANAGER = Pod(NS, {"app.kubernetes.io/name": "alertmanager"}, "alertmanager-0")
TENANT_APP = Pod("tenant-acme", {"app.kubernetes.io/component": "chat-app"}, "chat")
MODEL = Pod("models", {"genai-platform.io/model": "llama"}, "llama")
API_SERVER = External("10.0.0.1")


def policies(collector: bool = True) -> list[dict]:
    out = [*network_policies.baseline(NS, LABELS),
           *lv.network_policies(NS, LABELS, GRAFANA, collector=collector)]
    # Stand-in for the monitoring stack's own policies: Grafana and Prometheus may go out.
    for name, sel in (("grafana-out", GRAFANA), ("prometheus-out", {"app.kubernetes.io/name": "prometheus"})):
        out.append(network_policies.network_policy(name, NS, LABELS, {
            "podSelector": {"matchLabels": sel}, "policyTypes": ["Egress"], "egress": [{}]}))
    return out


def test_policies_are_valid_network_policies_with_distinct_names():
    objs = lv.network_policies(NS, LABELS, GRAFANA, collector=True)
    for obj in objs:
        assert validate_manifest(obj, "1.33") == [], obj["metadata"]["name"]
        assert obj["metadata"]["namespace"] == NS
    assert len({o["metadata"]["name"] for o in objs}) == len(objs)


def test_collector_reaches_loki_on_3100_only():
    p = policies()
    assert allowed(p, NAMESPACES, ALLOY, LOKI, 3100)
    assert reachable_ports(p, NAMESPACES, ALLOY, LOKI) == [("TCP", 3100)]


def test_collector_reaches_the_api_server_and_nothing_else_outside():
    p = policies()
    assert allowed(p, NAMESPACES, ALLOY, API_SERVER, 443) and allowed(p, NAMESPACES, ALLOY, API_SERVER, 6443)
    assert not allowed(p, NAMESPACES, ALLOY, External("203.0.113.7"), 80)
    assert not allowed(p, NAMESPACES, ALLOY, MODEL, 8000)


def test_grafana_and_prometheus_query_loki_and_random_pods_cannot():
    p = policies()
    assert allowed(p, NAMESPACES, GRAFANA_POD, LOKI, 3100)
    assert allowed(p, NAMESPACES, PROMETHEUS, LOKI, 3100)
    assert allowed(p, NAMESPACES, PROMETHEUS, ALLOY, lv.ALLOY_HTTP_PORT)
    assert not allowed(p, NAMESPACES, GRAFANA_POD, ALLOY, lv.ALLOY_HTTP_PORT)
    for pod in (ALERTMANAGER, TENANT_APP, MODEL):
        assert reachable_ports(p, NAMESPACES, pod, LOKI) == [], pod
        assert reachable_ports(p, NAMESPACES, pod, ALLOY) == [], pod


def test_loki_talks_to_itself_on_http_grpc_and_memberlist():
    p = policies()
    assert {port for _, port in reachable_ports(p, NAMESPACES, LOKI, LOKI)} == {3100, 9095, 7946}
    assert not allowed(p, NAMESPACES, LOKI, External("203.0.113.7"), 443)


def test_without_a_collector_alloy_pods_get_nothing():
    p = policies(collector=False)
    assert not allowed(p, NAMESPACES, ALLOY, LOKI, 3100)
    assert allowed(p, NAMESPACES, GRAFANA_POD, LOKI, 3100)
    assert {o["metadata"]["name"] for o in lv.network_policies(NS, LABELS, GRAFANA, collector=False)} == {
        "loki-ingress", "loki-egress-self"}


# --- the component under the recording mocks -----------------------------------------------------

PROGRAM = '''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, StorageClasses
    from components.common.security import Resources
    from components.ops.logs import Logs, LogsArgs
    from components.ops.logs_values import LogsSettings

    provider = k8s.Provider("k8s", kubeconfig="stub")
    cluster = ClusterInfo(kind="existing", name="c", provider=provider, kubernetes_version="1.33", gpu_pools=(),
                          storage=StorageClasses(rwo="fast-rwo", rwx=None), protect=True)
    logs = Logs("logs", LogsArgs(
        cluster=cluster,
        namespace="monitoring",
        settings=LogsSettings(chart_version="7.3.0", retention_days=7, storage_gib=50,
                              resources=Resources("250m", "1Gi", "1", "2Gi"), collector="COLLECTOR"),
        grafana_selector={"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack"},
    ))
    pulumi.export("url", logs.url)
    pulumi.export("collector", logs.collector is not None)
'''


def run_logs(tmp_path_factory, collector: str):
    source = textwrap.dedent(PROGRAM).replace("COLLECTOR", collector)
    return run_component_program(tmp_path_factory.mktemp(f"logs-{collector}"), source, f"logs-{collector}").monitor


@pytest.fixture(scope="module")
def with_alloy(tmp_path_factory):
    return run_logs(tmp_path_factory, "alloy")


@pytest.fixture(scope="module")
def without_collector(tmp_path_factory):
    return run_logs(tmp_path_factory, "none")


def children(mon, suffix: str) -> list:
    return [r for r in mon.registrations if r.custom and r.type.endswith(suffix)
            and r.parent and r.parent.endswith("genai:ops:Logs::logs")]


def test_component_installs_loki_and_alloy_with_the_explicit_provider(with_alloy):
    mon = with_alloy
    assert mon.violations == []
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    loki, alloy = sorted(children(mon, ":Release"), key=lambda r: r.inputs["name"] != "loki")
    for release in (loki, alloy):
        assert release.provider == provider.urn
        assert release.inputs["namespace"] == NS
        assert release.inputs["repositoryOpts"] == {"repo": "https://grafana.github.io/helm-charts"}
    assert (loki.inputs["name"], loki.inputs["chart"], loki.inputs["version"]) == ("loki", "loki", "7.3.0")
    assert (alloy.inputs["name"], alloy.inputs["chart"], alloy.inputs["version"]) == ("alloy", "alloy", "1.11.1")
    expected = lv.loki_values(lv.LogsSettings("7.3.0", 7, 50, Resources("250m", "1Gi", "1", "2Gi"), "alloy"),
                              storage_class="fast-rwo", protect=True)
    assert loki.inputs["values"] == json.loads(json.dumps(expected))
    assert alloy.inputs["values"] == json.loads(json.dumps(lv.alloy_values(NS)))
    # The log volume and its release follow the stack's protect setting; the collector is stateless.
    assert loki.protect is True and alloy.protect is False
    assert loki.urn in alloy.dependencies
    assert mon.stack_outputs == {"url": "http://loki.monitoring.svc:3100", "collector": True}


def test_component_creates_the_policies_before_the_releases(with_alloy):
    mon = with_alloy
    policies_ = children(mon, ":NetworkPolicy")
    assert {p.inputs["metadata"]["name"] for p in policies_} == {
        "loki-ingress", "loki-egress-self", "alloy-egress", "alloy-ingress-metrics"}
    for p in policies_:
        assert validate_manifest({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", **p.inputs},
                                 "1.33") == []
    for release in children(mon, ":Release"):
        assert {p.urn for p in policies_} <= set(release.dependencies)


def test_collector_none_installs_no_alloy(without_collector):
    mon = without_collector
    assert mon.violations == []
    (release,) = children(mon, ":Release")
    assert release.inputs["name"] == "loki"
    assert not any("alloy" in json.dumps(p.inputs["metadata"]) for p in children(mon, ":NetworkPolicy"))
    assert mon.stack_outputs["collector"] is False


def test_unknown_collector_is_refused(tmp_path):
    source = textwrap.dedent(PROGRAM).replace("COLLECTOR", "fluent-bit")
    with pytest.raises(ValueError, match="fluent-bit"):
        run_component_program(Path(tmp_path), source, "logs-bad")
