"""The gateway dashboard: requests, errors and latency per tenant and model, from Envoy AI
Gateway's GenAI metrics, plus the Envoy proxies' own HTTP statistics and the endpoint pickers'
view of each InferencePool.

Envoy AI Gateway v1.1.0's external processor (a sidecar in every Envoy pod) records the
OpenTelemetry GenAI metrics per ``gen_ai_request_model``; failed requests carry ``error_type``.
The ``tenant`` label exists when the AI Gateway controller maps the tenant header to a metric
attribute (``controller.metricsRequestHeaderAttributes: "x-genai-tenant:tenant"``) and Prometheus
scrapes the sidecar's ``aigw-admin`` port. Requests that bypass the OpenAI route (a TEI reranker,
a Triton model by path) only appear in the Envoy statistics, which know routes and clusters, not
tenants or models.
"""

from __future__ import annotations

from components.edge.contracts import TENANT_METRIC_LABEL
from components.ops import grafana as g

UID = "genai-gateway"
TITLE = "GenAI Platform / Gateway"

MODEL = "gen_ai_request_model"
T = TENANT_METRIC_LABEL
SEL = f'{T}=~"$tenant",{MODEL}=~"$model"'
DURATION = "gen_ai_server_request_duration_seconds"
# AI Gateway also records cached-input and reasoning counts, parts of input and output: counting
# them as well would count those tokens twice.
TOKENS = f'{SEL},gen_ai_token_type=~"input|output"'


def _rate(metric: str, selector: str = SEL) -> str:
    return f"rate({metric}{{{selector}}}{g.RATE})"


def _quantile(q: float, histogram: str, by: str) -> str:
    return f"histogram_quantile({q}, sum by (le, {by}) ({_rate(histogram + '_bucket')}))"


def _ai_gateway() -> g.Row:
    errors = f'{SEL},error_type!=""'
    return g.Row("Requests by tenant and model (AI Gateway)", (
        g.stat("Requests/s", [g.target(f"sum({_rate(DURATION + '_count')}) or vector(0)")], "reqps", width=6),
        g.stat("Error ratio", [g.target(f"(sum({_rate(DURATION + '_count', errors)}) or vector(0)) / "
                                        f"sum({_rate(DURATION + '_count')})")], "percentunit", width=6,
               thresholds=g.Thresholds(((0.01, "orange"), (0.05, "red")))),
        g.stat("Time to first token p95", [g.target(
            f"histogram_quantile(0.95, sum by (le) ({_rate('gen_ai_server_time_to_first_token_seconds_bucket')}))")],
            "s", width=6),
        g.stat("Tokens/s", [g.target(f"sum({_rate('gen_ai_client_token_usage_sum', TOKENS)}) or vector(0)")], "short",
               width=6),
        g.timeseries("Requests/s by tenant and model", [g.target(
            f"sum by ({T}, {MODEL}) ({_rate(DURATION + '_count')})", f"{{{{{T}}}}} → {{{{{MODEL}}}}}")],
            "reqps", stacked=True),
        g.timeseries("Errors/s by tenant and model", [g.target(
            f"sum by ({T}, {MODEL}) ({_rate(DURATION + '_count', errors)})", f"{{{{{T}}}}} → {{{{{MODEL}}}}}")],
            "reqps", stacked=True,
            description="Requests the AI Gateway saw fail (error_type set): upstream errors and invalid requests."),
        g.timeseries("Request latency by model", [
            g.target(_quantile(0.5, DURATION, MODEL), f"{{{{{MODEL}}}}} p50"),
            g.target(_quantile(0.95, DURATION, MODEL), f"{{{{{MODEL}}}}} p95")], "s", width=8),
        g.timeseries("Time to first token by model", [
            g.target(_quantile(0.5, "gen_ai_server_time_to_first_token_seconds", MODEL), f"{{{{{MODEL}}}}} p50"),
            g.target(_quantile(0.95, "gen_ai_server_time_to_first_token_seconds", MODEL), f"{{{{{MODEL}}}}} p95")],
            "s", width=8, description="Streaming responses only."),
        g.timeseries("Time per output token by model", [
            g.target(_quantile(0.5, "gen_ai_server_time_per_output_token_seconds", MODEL), f"{{{{{MODEL}}}}} p50"),
            g.target(_quantile(0.95, "gen_ai_server_time_per_output_token_seconds", MODEL), f"{{{{{MODEL}}}}} p95")],
            "s", width=8),
        g.timeseries("Request latency p95 by tenant", [g.target(_quantile(0.95, DURATION, T), f"{{{{{T}}}}}")], "s"),
        g.timeseries("Tokens/s by tenant", [g.target(
            f"sum by ({T}, gen_ai_token_type) ({_rate('gen_ai_client_token_usage_sum', TOKENS)})",
            f"{{{{{T}}}}} {{{{gen_ai_token_type}}}}")], "short", stacked=True,
            description="Input and output tokens the models reported (the total is their sum)."),
    ))


def _envoy() -> g.Row:
    codes = "{{envoy_response_code_class}}xx"
    return g.Row("Envoy proxies", (
        g.timeseries("Downstream requests/s by status class", [g.target(
            f"sum by (envoy_response_code_class) (rate(envoy_http_downstream_rq_xx{g.RATE}))", codes)], "reqps",
            stacked=True, width=8, description="Everything the proxies answered, model APIs and redirects alike."),
        g.timeseries("Downstream 4xx and 5xx ratio", [g.target(
            f'sum by (envoy_response_code_class) (rate(envoy_http_downstream_rq_xx{{envoy_response_code_class=~"4|5"}}{g.RATE}))'
            f" / ignoring(envoy_response_code_class) group_left sum(rate(envoy_http_downstream_rq_total{g.RATE}))", codes)],
            "percentunit", width=8, thresholds=g.Thresholds(((0.05, "red"),))),
        g.timeseries("Downstream latency p95", [g.target(
            f"histogram_quantile(0.95, sum by (le) (rate(envoy_http_downstream_rq_time_bucket{g.RATE})))", "p95")],
            "ms", width=8),
        g.timeseries("Upstream requests/s by route cluster and status", [g.target(
            f"sum by (envoy_cluster_name, envoy_response_code_class) (rate(envoy_cluster_upstream_rq_xx{g.RATE}))",
            "{{envoy_cluster_name}} " + codes)], "reqps", width=12,
            description="Envoy Gateway names clusters after the route rule (httproute/<namespace>/<route>/rule/<n>)."),
        g.timeseries("Upstream latency p95 by route cluster", [g.target(
            f"histogram_quantile(0.95, sum by (le, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_time_bucket{g.RATE})))",
            "{{envoy_cluster_name}}")], "ms", width=12),
        g.timeseries("Healthy upstream endpoints", [
            g.target("sum by (envoy_cluster_name) (envoy_cluster_membership_healthy)", "{{envoy_cluster_name}} healthy"),
            g.target("sum by (envoy_cluster_name) (envoy_cluster_membership_total)", "{{envoy_cluster_name}} total")],
            "short", width=12),
        g.timeseries("Active upstream connections", [g.target(
            "sum by (envoy_cluster_name) (envoy_cluster_upstream_cx_active)", "{{envoy_cluster_name}}")], "short",
            width=12),
    ))


def _pools() -> g.Row:
    return g.Row("Inference pools (endpoint pickers)", (
        g.timeseries("Average KV-cache utilization", [g.target(
            "max by (name) (inference_pool_average_kv_cache_utilization)", "{{name}}")], "percentunit", maximum=1,
            width=8, description="What the endpoint picker sees across the pool's model servers."),
        g.timeseries("Average queue size", [g.target("max by (name) (inference_pool_average_queue_size)", "{{name}}")],
                     "short", width=8),
        g.timeseries("Ready pods", [g.target("max by (name) (inference_pool_ready_pods)", "{{name}}")], "short",
                     width=8),
    ))


def gateway_dashboard(pools: bool = True) -> dict:
    rows = [_ai_gateway(), _envoy(), *([_pools()] if pools else [])]
    variables = [
        g.query_variable("tenant", "Tenant", f"label_values({DURATION}_count, {T})"),
        g.query_variable("model", "Model", f"label_values({DURATION}_count, {MODEL})"),
    ]
    return g.dashboard(UID, TITLE, "Requests, errors and latency per tenant and model at the gateway, the Envoy "
                       "proxies' HTTP statistics and the inference pools' load.", rows, variables)
