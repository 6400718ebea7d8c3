"""Grafana dashboards as code: the JSON, the metrics every query names, the ConfigMaps."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from component_programs import run_component_program

from components.models.engines import ENGINES
from components.ops import contracts
from components.ops import grafana as g
from components.ops.dashboards import MAX_DASHBOARD_BYTES, config_map, dashboards
from components.ops.dashboards_gateway import TENANT_METRIC_LABEL
from components.ops.dashboards_gpu import gpu_dashboard
from components.ops.dashboards_platform import platform_dashboard
from components.ops.dashboards_serving import serving_dashboard
from components.ops.metrics import known_metrics
from components.ops.metrics_catalog import SERVING_METRICS
from components.ops.promql import metric_names, problems
from infra.plan.validate import validate_manifest

ALL_ENGINES = tuple(ENGINES)
EVERYTHING = dashboards(ALL_ENGINES, gpu=True, gateway=True)
M = contracts.MODEL_METRIC_LABEL


def metrics_of(panels: list[dict]) -> set[str]:
    return {n for p in panels for t in p["targets"] for n in metric_names(t["expr"])}


def row_panels(dash: dict, title: str) -> list[dict]:
    """The panels under the row titled ``title`` (up to the next row)."""
    out: list[dict] = []
    inside = False
    for p in dash["panels"]:
        if p["type"] == "row":
            inside = p["title"] == title
            out.extend(p.get("panels", []) if inside else [])
        elif inside:
            out.append(p)
    assert out, f"no panels under row {title!r}"
    return out


# --- which dashboards a stack gets ---------------------------------------------------------------

def test_dashboards_follow_the_stack():
    assert set(EVERYTHING) == {"genai-platform", "genai-model-serving", "genai-gpu-fleet", "genai-gateway"}
    assert set(dashboards((), gpu=False, gateway=False)) == {"genai-platform"}
    assert set(dashboards(("llamacpp",), gpu=False, gateway=True)) == {
        "genai-platform", "genai-model-serving", "genai-gateway"}
    assert set(dashboards(("vllm",), gpu=True, gateway=False)) == {
        "genai-platform", "genai-model-serving", "genai-gpu-fleet"}


# --- the JSON Grafana loads --------------------------------------------------------------------

@pytest.fixture(params=sorted(EVERYTHING))
def dash(request) -> dict:
    return EVERYTHING[request.param]


def test_dashboard_header(dash):
    assert json.loads(json.dumps(dash)) == dash
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dash["uid"])
    assert dash["title"].startswith("GenAI Platform / ")
    assert dash["tags"] == ["genai-platform"]
    # Grafana 13.2 (grafana chart 12.11.1 in kube-prometheus-stack 88.5.3) migrates up to 42.
    assert dash["schemaVersion"] == 42
    assert dash["time"] == {"from": "now-6h", "to": "now"} and dash["refresh"] == "30s"
    ds = dash["templating"]["list"][0]
    assert (ds["type"], ds["name"], ds["query"]) == ("datasource", "datasource", "prometheus")


def test_panel_ids_unique_and_grid_without_overlap(dash):
    everything = [*dash["panels"], *(c for p in dash["panels"] for c in p.get("panels", []))]
    ids = [p["id"] for p in everything]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], int] = {}
    for p in dash["panels"]:
        pos = p["gridPos"]
        assert pos["x"] >= 0 and pos["w"] >= 1 and pos["x"] + pos["w"] <= 24, p["title"]
        assert pos["h"] >= 1 and pos["y"] >= 0
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps panel {cells[(x, y)]}"
                cells[(x, y)] = p["id"]


def test_every_panel_queries_prometheus_through_the_variable(dash):
    panels = g.all_panels(dash)
    assert panels
    for p in panels:
        assert p["type"] in {"timeseries", "stat", "gauge", "table"}
        assert p["title"] and p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert p["fieldConfig"]["defaults"]["unit"]
        assert [t["refId"] for t in p["targets"]] == [chr(ord("A") + i) for i in range(len(p["targets"]))]
        for t in p["targets"]:
            assert t["expr"].strip() and t["legendFormat"]
            assert t["datasource"] == p["datasource"]


def test_every_expression_parses_and_names_only_catalogued_metrics(dash):
    known = known_metrics()
    for expr in g.expressions(dash):
        assert problems(expr) == [], expr
        names = metric_names(expr)
        assert names, f"no metric in {expr}"
        assert names <= known, f"unknown {names - known} in {expr}"
    for var in dash["templating"]["list"][1:]:
        assert metric_names(g.variable_selector(var["definition"])) <= known, var["definition"]


def test_every_variable_used_is_defined(dash):
    defined = {v["name"] for v in dash["templating"]["list"]}
    used = set().union(*(g.referenced_variables(json.dumps(p)) for p in g.all_panels(dash)))
    assert "datasource" in used
    assert used <= defined, used - defined
    for v in dash["templating"]["list"][1:]:
        assert v["type"] == "query" and v["definition"].startswith("label_values(")
        assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert v["includeAll"] and v["allValue"] == ".*"


def test_config_map_for_the_grafana_sidecar(dash):
    cm = config_map(dash["uid"], dash, "monitoring", "dashboards")
    meta = cm["metadata"]
    assert meta["name"] == f"dashboard-{dash['uid']}" and meta["namespace"] == "monitoring"
    assert meta["labels"]["grafana_dashboard"] == "1"
    assert meta["labels"]["app.kubernetes.io/part-of"] and meta["labels"]["app.kubernetes.io/managed-by"]
    assert meta["annotations"] == {"grafana_folder": "GenAI Platform"}
    (key,) = cm["data"]
    assert key == f"{dash['uid']}.json"
    assert json.loads(cm["data"][key]) == dash
    assert len(cm["data"][key].encode()) < MAX_DASHBOARD_BYTES < 1024 * 1024
    assert validate_manifest(cm, "1.33") == []


def test_an_oversized_dashboard_is_refused():
    huge = {**EVERYTHING["genai-platform"], "description": "x" * MAX_DASHBOARD_BYTES}
    with pytest.raises(ValueError, match="bytes"):
        config_map("genai-platform", huge, "monitoring", "dashboards")


# --- what each dashboard shows -----------------------------------------------------------------

def test_gpu_dashboard_covers_utilization_memory_temperature_power_and_xid():
    dash = gpu_dashboard()
    used = metrics_of(g.all_panels(dash))
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
            "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_XID_ERRORS"} <= used
    # Only fields of the exporter's default collectors file (dcp-metrics-included.csv).
    assert {n for n in used if n.startswith("DCGM_")} <= SERVING_METRICS["dcgm"]
    # The node comes from the exporter pod's kube_pod_info, filtered by the node variable.
    for expr in g.expressions(dash):
        if "DCGM_" in expr:
            assert 'group_left(node) kube_pod_info{node=~"$node"}' in expr, expr
    per_pod = row_panels(dash, "Per pod")
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED"} <= metrics_of(per_pod)
    for p in per_pod:
        for t in p["targets"]:
            assert "by (exported_namespace, exported_pod)" in t["expr"] and 'exported_pod!=""' in t["expr"]
    (xid,) = [p for p in g.all_panels(dash) if metrics_of([p]) >= {"DCGM_FI_DEV_XID_ERRORS"} and p["type"] == "table"]
    assert "> 0" in xid["targets"][0]["expr"]


def engine_rows(dash: dict) -> list[str]:
    return [p["title"] for p in dash["panels"] if p["type"] == "row"]


@pytest.mark.parametrize(("engine", "row", "required"), [
    ("vllm", "vLLM", {"vllm:request_success_total", "vllm:time_to_first_token_seconds_bucket",
                      "vllm:inter_token_latency_seconds_bucket", "vllm:generation_tokens_total",
                      "vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:kv_cache_usage_perc"}),
    ("tgi", "TGI", {"tgi_request_success", "tgi_request_queue_duration_bucket",
                    "tgi_request_mean_time_per_token_duration_bucket", "tgi_request_generated_tokens_sum",
                    "tgi_queue_size", "tgi_batch_current_size", "tgi_batch_max_total_tokens"}),
    ("tei", "TEI (embeddings and rerankers)", {"te_request_success", "te_request_duration_bucket", "te_queue_size"}),
    ("triton-trtllm", "Triton / TensorRT-LLM", {"nv_inference_request_success", "nv_trt_llm_request_metrics",
                                                "nv_trt_llm_kv_cache_block_metrics"}),
    ("llamacpp", "llama.cpp", {"llamacpp:tokens_predicted_total", "llamacpp:requests_deferred",
                               "llamacpp:requests_processing"}),
])
def test_serving_row_per_engine_with_its_own_metrics(engine, row, required):
    dash = serving_dashboard((engine,))
    assert engine_rows(dash) == ["Replicas", row]
    panels = row_panels(dash, row)
    used = metrics_of(panels)
    assert required <= used
    # The metric the autoscaler scales on is on the dashboard too.
    assert re.match(r"[a-zA-Z_:]+", ENGINES[engine].queue_metric).group() in used
    for p in panels:
        for t in p["targets"]:
            assert f'{M}=~"$model"' in t["expr"], t["expr"]


def test_serving_rows_only_for_present_engines_in_a_fixed_order():
    dash = serving_dashboard(("llamacpp", "vllm", "triton"))
    assert engine_rows(dash) == ["Replicas", "vLLM", "Triton / TensorRT-LLM", "llama.cpp"]
    (model,) = dash["templating"]["list"][1:]
    assert model["name"] == "model" and M in model["definition"]
    with pytest.raises(ValueError, match="sglang"):
        serving_dashboard(("vllm", "sglang"))


def test_gateway_dashboard_per_tenant_and_model():
    dash = EVERYTHING["genai-gateway"]
    ai = row_panels(dash, "Requests by tenant and model (AI Gateway)")
    assert {"gen_ai_server_request_duration_seconds_count", "gen_ai_server_request_duration_seconds_bucket",
            "gen_ai_server_time_to_first_token_seconds_bucket", "gen_ai_client_token_usage_sum"} <= metrics_of(ai)
    exprs = [t["expr"] for p in ai for t in p["targets"]]
    assert any(f"by ({TENANT_METRIC_LABEL}, gen_ai_request_model)" in e and 'error_type!=""' in e for e in exprs)
    assert any(f"by ({TENANT_METRIC_LABEL}, gen_ai_request_model)" in e and "error_type" not in e for e in exprs)
    envoy = row_panels(dash, "Envoy proxies")
    assert {"envoy_http_downstream_rq_xx", "envoy_cluster_upstream_rq_time_bucket"} <= metrics_of(envoy)
    assert any('envoy_response_code_class=~"4|5"' in t["expr"] for p in envoy for t in p["targets"])
    assert {v["name"] for v in dash["templating"]["list"]} == {"datasource", "tenant", "model"}
    # Inference pools front vLLM only.
    assert "Inference pools (endpoint pickers)" in engine_rows(dash)
    assert "Inference pools (endpoint pickers)" not in engine_rows(
        dashboards(("tgi",), gpu=False, gateway=True)["genai-gateway"])


def test_platform_dashboard_pods_nodes_resources_and_volumes():
    used = metrics_of(g.all_panels(platform_dashboard()))
    assert {"kube_pod_status_phase", "kube_pod_status_ready", "kube_pod_container_status_restarts_total",
            "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
            "kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes", "kube_node_info",
            "kube_node_status_condition"} <= used


# --- the layout and variable helpers ----------------------------------------------------------

def test_layout_wraps_rows_and_numbers_panels():
    a = g.timeseries("a", [g.target("up")], "short", width=16)
    b = g.timeseries("b", [g.target("up")], "short", width=16, height=5)
    c = g.stat("c", [g.target("up")], "short", width=8)
    panels = g.layout([g.Row("one", (a, b, c)), g.Row("two", (c,), collapsed=True)])
    pos = {(p["type"], p["title"]): (p["id"], p["gridPos"]) for p in panels}
    assert pos[("row", "one")] == (1, {"h": 1, "w": 24, "x": 0, "y": 0})
    assert pos[("timeseries", "a")] == (2, {"h": 8, "w": 16, "x": 0, "y": 1})
    assert pos[("timeseries", "b")] == (3, {"h": 5, "w": 16, "x": 0, "y": 9})
    assert pos[("stat", "c")] == (4, {"h": 4, "w": 8, "x": 16, "y": 9})
    two = panels[-1]
    assert two["type"] == "row" and two["collapsed"] and two["gridPos"]["y"] == 14
    assert [p["id"] for p in two["panels"]] == [6]


def test_helpers_refuse_bad_input():
    with pytest.raises(ValueError):
        g.dashboard("x" * 41, "t", "", [], [])
    with pytest.raises(ValueError):
        g.query_variable("v", "V", "up")
    with pytest.raises(ValueError):
        g.timeseries("wide", [g.target("up")], "short", width=25)
    with pytest.raises(ValueError):
        g.timeseries("empty", [], "short")
    assert g.referenced_variables('label_replace(x{a=~"$model"}, "b", "$1", "c", "(.*)")[$__rate_interval]'
                                  ' ${node:regex} [[tenant]]') == {"model", "node", "tenant"}
    assert g.variable_selector('label_values(up{job="x"}, instance)') == 'up{job="x"}'
    assert g.variable_selector("label_values(instance)") == ""


# --- the catalog ---------------------------------------------------------------------------------

def test_catalog_keys_and_histograms_are_stored_series():
    assert {"dcgm", "vllm", "tgi", "tei", "triton", "llamacpp", "envoy", "ai-gateway", "epp"} <= set(SERVING_METRICS)
    for exporter, names in SERVING_METRICS.items():
        for name in names:
            assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name), (exporter, name)
            if name.endswith("_bucket"):
                base = name.removesuffix("_bucket")
                assert {f"{base}_sum", f"{base}_count"} <= names, (exporter, name)
    # prometheus_client adds _total to vLLM's counters; TGI's Rust exporter does not.
    assert "vllm:generation_tokens_total" in SERVING_METRICS["vllm"]
    assert "tgi_request_count" in SERVING_METRICS["tgi"] and "tgi_request_count_total" not in SERVING_METRICS["tgi"]


# --- the component under the recording mocks -------------------------------------------------

PROGRAM = '''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, StorageClasses
    from components.ops.dashboards import Dashboards, DashboardsArgs

    provider = k8s.Provider("k8s", kubeconfig="stub")
    cluster = ClusterInfo(kind="existing", name="c", provider=provider, kubernetes_version="1.33", gpu_pools=(),
                          storage=StorageClasses(rwo="fast-rwo", rwx=None), protect=False)
    boards = Dashboards("dashboards", DashboardsArgs(cluster=cluster, namespace="monitoring",
                                                     engines=("vllm", "tei"), gpu=False, gateway=True))
    pulumi.export("uids", boards.uids)
'''


@pytest.fixture(scope="module")
def component(tmp_path_factory):
    return run_component_program(tmp_path_factory.mktemp("dashboards"), textwrap.dedent(PROGRAM),
                                 "dashboards").monitor


def test_component_creates_one_config_map_per_dashboard(component):
    mon = component
    assert mon.violations == []
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    maps = [r for r in mon.registrations if r.custom and r.type.endswith(":ConfigMap")]
    assert {r.inputs["metadata"]["name"] for r in maps} == {
        "dashboard-genai-platform", "dashboard-genai-model-serving", "dashboard-genai-gateway"}
    expected = dashboards(("vllm", "tei"), gpu=False, gateway=True)
    for r in maps:
        assert r.provider == provider.urn
        assert r.parent.endswith("genai:ops:Dashboards::dashboards")
        assert r.name == f"dashboards-{r.inputs['metadata']['name']}"
        assert r.inputs["metadata"]["namespace"] == "monitoring"
        assert r.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((key, body),) = r.inputs["data"].items()
        uid = key.removesuffix(".json")
        assert json.loads(body) == expected[uid]
    assert sorted(mon.stack_outputs["uids"]) == sorted(expected)
