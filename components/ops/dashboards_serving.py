"""The model serving dashboard: one row per engine the stack runs (vLLM, TGI, TEI,
Triton/TensorRT-LLM, llama.cpp), each with the engine's own names for throughput, latency,
queue and cache, all per model.

Every model server's series carries ``genai_platform_io_model`` (the ServiceMonitor's
``targetLabels`` copy the Service's ``genai-platform.io/model`` label), so one ``model`` variable
filters every engine. What an engine does not measure is said in the panel description rather
than approximated silently: TGI has no time-to-first-token metric (its queue time and prefill
duration are shown instead), Triton reports first-response latency only with
``--metrics-config histogram_latencies=true``, and llama.cpp counts no requests.
"""

from __future__ import annotations

from collections.abc import Sequence

from components.ops import grafana as g
from components.ops.contracts import MODEL_METRIC_LABEL

UID = "genai-model-serving"
TITLE = "GenAI Platform / Model serving"

M = MODEL_METRIC_LABEL
SEL = f'{M}=~"$model"'
BY = f"by ({M})"
LEGEND = f"{{{{{M}}}}}"

# Engine names as the models layer spells them (components/models/engines.py ENGINES); "triton"
# is accepted for "triton-trtllm".
ENGINES = ("vllm", "tgi", "tei", "triton-trtllm", "llamacpp")
_ALIASES = {"triton": "triton-trtllm"}


def rate(metric: str, selector: str = SEL) -> str:
    return f"rate({metric}{{{selector}}}{g.RATE})"


def quantile(q: float, histogram: str, selector: str = SEL) -> str:
    """``histogram_quantile`` of a histogram's ``_bucket`` series, per model."""
    return f"histogram_quantile({q}, sum by (le, {M}) ({rate(histogram + '_bucket', selector)}))"


def p50_p95(histogram: str, selector: str = SEL) -> list[dict]:
    return [g.target(quantile(0.5, histogram, selector), f"{LEGEND} p50"),
            g.target(quantile(0.95, histogram, selector), f"{LEGEND} p95")]


def mean(histogram: str, selector: str = SEL) -> str:
    """Mean of a histogram over the rate window, per model."""
    return f"sum {BY} ({rate(histogram + '_sum', selector)}) / sum {BY} ({rate(histogram + '_count', selector)})"


def per_model(expr: str, agg: str = "sum") -> str:
    return f"{agg} {BY} ({expr})"


def _overview() -> g.Row:
    return g.Row("Replicas", (
        g.timeseries("Ready replicas per model", [
            g.target('sum by (deployment) (kube_deployment_status_replicas_available{deployment=~"$model"})',
                     "{{deployment}} ready"),
            g.target('sum by (deployment) (kube_deployment_spec_replicas{deployment=~"$model"})',
                     "{{deployment}} desired")], "short", width=24, height=6,
            description="Each model's Deployment is named after the model; desired follows KEDA when it "
                        "scales the model."),
    ))


def _vllm() -> g.Row:
    return g.Row("vLLM", (
        g.timeseries("Requests/s (vLLM)", [g.target(per_model(rate("vllm:request_success_total")), LEGEND)],
                     "reqps", width=8, description="Finished requests per second, every finish reason."),
        g.timeseries("Time to first token (vLLM)", p50_p95("vllm:time_to_first_token_seconds"), "s", width=8),
        g.timeseries("Inter-token latency (vLLM)", p50_p95("vllm:inter_token_latency_seconds"), "s", width=8,
                     description="Time between consecutive output tokens (time per output token)."),
        g.timeseries("Tokens/s (vLLM)", [
            g.target(per_model(rate("vllm:generation_tokens_total")), f"{LEGEND} generated"),
            g.target(per_model(rate("vllm:prompt_tokens_total")), f"{LEGEND} prompt")], "short", width=8),
        g.timeseries("Requests waiting and running (vLLM)", [
            g.target(per_model(f"vllm:num_requests_waiting{{{SEL}}}"), f"{LEGEND} waiting"),
            g.target(per_model(f"vllm:num_requests_running{{{SEL}}}"), f"{LEGEND} running")], "short", width=8,
            description="Waiting is what KEDA scales on."),
        g.timeseries("KV-cache usage (vLLM)", [
            g.target(per_model(f"vllm:kv_cache_usage_perc{{{SEL}}}", "max"), f"{LEGEND} fullest replica"),
            g.target(per_model(f"vllm:kv_cache_usage_perc{{{SEL}}}", "avg"), f"{LEGEND} average")],
            "percentunit", maximum=1, width=8, thresholds=g.Thresholds(((0.9, "orange"),)),
            description="Near 1 the scheduler preempts running requests to make room."),
        g.timeseries("Prefix-cache hit ratio (vLLM)", [g.target(
            f"{per_model(rate('vllm:prefix_cache_hits_total'))} / {per_model(rate('vllm:prefix_cache_queries_total'))}",
            LEGEND)], "percentunit", maximum=1, width=8),
        g.timeseries("Preemptions/s (vLLM)", [g.target(per_model(rate("vllm:num_preemptions_total")), LEGEND)],
                     "short", width=8),
        g.timeseries("End-to-end latency (vLLM)", p50_p95("vllm:e2e_request_latency_seconds"), "s", width=8),
    ))


def _tgi() -> g.Row:
    return g.Row("TGI", (
        g.timeseries("Requests/s (TGI)", [
            g.target(per_model(rate("tgi_request_success")), f"{LEGEND} succeeded"),
            g.target(f"sum by ({M}, err) ({rate('tgi_request_failure')})", f"{LEGEND} failed: {{{{err}}}}")],
            "reqps", width=8),
        g.timeseries("Queue time and prefill (TGI)", [
            *p50_p95("tgi_request_queue_duration"),
            g.target(quantile(0.95, "tgi_batch_inference_duration", f'{SEL},method="prefill"'),
                     f"{LEGEND} prefill batch p95")], "s", width=8,
            description="TGI exposes no time-to-first-token metric; a request's first token follows its queue "
                        "time and one prefill batch."),
        g.timeseries("Time per output token (TGI)", p50_p95("tgi_request_mean_time_per_token_duration"), "s",
                     width=8, description="Each request's mean time per generated token."),
        g.timeseries("Generated tokens/s (TGI)", [g.target(per_model(rate("tgi_request_generated_tokens_sum")),
                                                           LEGEND)], "short", width=8),
        g.timeseries("Queue and batch (TGI)", [
            g.target(per_model(f"tgi_queue_size{{{SEL}}}"), f"{LEGEND} waiting"),
            g.target(per_model(f"tgi_batch_current_size{{{SEL}}}"), f"{LEGEND} running")], "short", width=8),
        g.timeseries("Batch token budget used (TGI)", [g.target(
            f"max {BY} (tgi_batch_current_max_tokens{{{SEL}}} / tgi_batch_max_total_tokens{{{SEL}}})", LEGEND)],
            "percentunit", maximum=1, width=8,
            description="Tokens the running batch may reach over the most the KV cache holds "
                        "(max batch total tokens): TGI's closest measure of KV-cache use."),
    ))


def _tei() -> g.Row:
    return g.Row("TEI (embeddings and rerankers)", (
        g.timeseries("Requests/s (TEI)", [
            g.target(per_model(rate("te_request_success")), f"{LEGEND} succeeded"),
            g.target(f"sum by ({M}, err) ({rate('te_request_failure')})", f"{LEGEND} failed: {{{{err}}}}")],
            "reqps", width=8),
        g.timeseries("Request latency (TEI)", p50_p95("te_request_duration"), "s", width=8),
        g.timeseries("Queue time (TEI)", p50_p95("te_request_queue_duration"), "s", width=8),
        g.timeseries("Input tokens/s (TEI)", [g.target(per_model(rate("te_request_input_length_sum")), LEGEND)],
                     "short", width=8),
        g.timeseries("Queue (TEI)", [g.target(per_model(f"te_queue_size{{{SEL}}}"), f"{LEGEND} waiting")],
                     "short", width=8, description="Waiting requests: what KEDA scales on."),
        g.timeseries("Batch size (TEI)", [g.target(mean("te_batch_next_size"), LEGEND)], "short", width=8),
    ))


def _triton() -> g.Row:
    trt = "nv_trt_llm_request_metrics"
    return g.Row("Triton / TensorRT-LLM", (
        g.timeseries("Requests/s (Triton)", [
            g.target(f"sum by ({M}, model) ({rate('nv_inference_request_success')})",
                     f"{LEGEND} {{{{model}}}} succeeded"),
            g.target(f"sum by ({M}, model) ({rate('nv_inference_request_failure')})",
                     f"{LEGEND} {{{{model}}}} failed")], "reqps", width=8,
            description="Per Triton model of the repository (an ensemble counts once, and so does each step)."),
        g.timeseries("Request and queue latency (Triton)", [
            g.target(f"sum by ({M}, model) ({rate('nv_inference_request_duration_us')}) / 1e6 / "
                     f"sum by ({M}, model) ({rate('nv_inference_request_success')})", f"{LEGEND} {{{{model}}}} request"),
            g.target(f"sum by ({M}, model) ({rate('nv_inference_queue_duration_us')}) / 1e6 / "
                     f"sum by ({M}, model) ({rate('nv_inference_request_success')})", f"{LEGEND} {{{{model}}}} queue")],
            "s", width=8,
            description="Means over the window. Time to first response needs Triton's "
                        "--metrics-config histogram_latencies=true, off by default."),
        g.timeseries("Requests waiting and active (TensorRT-LLM)", [
            g.target(per_model(f'{trt}{{{SEL},request_type="waiting"}}'), f"{LEGEND} waiting"),
            g.target(per_model(f'{trt}{{{SEL},request_type="active"}}'), f"{LEGEND} active")], "short", width=8,
            description="The in-flight batcher's queue; waiting is what KEDA scales on."),
        g.timeseries("KV-cache blocks used (TensorRT-LLM)", [g.target(
            per_model(f'nv_trt_llm_kv_cache_block_metrics{{{SEL},kv_cache_block_type="fraction"}}', "max"), LEGEND)],
            "percentunit", maximum=1, width=12, thresholds=g.Thresholds(((0.9, "orange"),))),
        g.timeseries("GPU utilization seen by Triton", [g.target(
            f"avg by ({M}) (nv_gpu_utilization{{{SEL}}})", LEGEND)], "percentunit", maximum=1, width=12),
    ))


def _llamacpp() -> g.Row:
    return g.Row("llama.cpp", (
        g.timeseries("Tokens/s (llama.cpp)", [
            g.target(per_model(rate("llamacpp:tokens_predicted_total")), f"{LEGEND} generated"),
            g.target(per_model(rate("llamacpp:prompt_tokens_total")), f"{LEGEND} prompt")], "short", width=8,
            description="llama.cpp's server counts tokens, not requests."),
        g.timeseries("Time per token (llama.cpp)", [
            g.target(f"{per_model(rate('llamacpp:tokens_predicted_seconds_total'))} / "
                     f"{per_model(rate('llamacpp:tokens_predicted_total'))}", f"{LEGEND} per output token"),
            g.target(f"{per_model(rate('llamacpp:prompt_seconds_total'))} / "
                     f"{per_model(rate('llamacpp:prompt_tokens_total'))}", f"{LEGEND} per prompt token")],
            "s", width=8, description="Means over the window; the prompt time per token is what delays the "
                                      "first token."),
        g.timeseries("Requests deferred and processing (llama.cpp)", [
            g.target(per_model(f"llamacpp:requests_deferred{{{SEL}}}"), f"{LEGEND} deferred"),
            g.target(per_model(f"llamacpp:requests_processing{{{SEL}}}"), f"{LEGEND} processing")], "short",
            width=8, description="Deferred requests wait for a free slot: what KEDA scales on."),
    ))


_ROWS = {"vllm": _vllm, "tgi": _tgi, "tei": _tei, "triton-trtllm": _triton, "llamacpp": _llamacpp}


def serving_dashboard(engines: Sequence[str]) -> dict:
    """Rows for the engines present, in a fixed order; unknown engine names are an error."""
    engines = {_ALIASES.get(e, e) for e in engines}
    unknown = sorted(engines - set(ENGINES))
    if unknown:
        raise ValueError(f"no serving dashboard row for engine(s) {', '.join(unknown)} (known: {', '.join(ENGINES)})")
    rows = [_overview(), *(_ROWS[e]() for e in ENGINES if e in engines)]
    variables = [g.query_variable("model", "Model", f'label_values({{{M}!=""}}, {M})')]
    return g.dashboard(UID, TITLE, "Throughput, latency, queues and caches of every model server, per engine "
                       "and model.", rows, variables)
