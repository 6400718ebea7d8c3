"""Metric names of the GPU, model-serving and gateway exporters the platform runs, per exporter.

Each set was read from the exporter's source (or, where noted, its release documentation) at
the version the platform pins; the comment above each entry names the file and version.
Histograms are listed as the series Prometheus stores (``x_bucket``, ``x_sum``, ``x_count``),
counters under their exposed names (Python's ``prometheus_client`` appends ``_total``; the Rust
``metrics-exporter-prometheus``, Triton, Envoy and llama.cpp do not).

Only what the dashboards and alert rules need is listed, so a misspelt name fails a test
instead of drawing an empty panel. ``PLATFORM_DASHBOARD_METRICS`` holds the Kubernetes names
the platform dashboard uses; the alert rules' own platform catalog lives in
``metrics_catalog_platform``.
"""

from __future__ import annotations


def histogram(name: str) -> frozenset[str]:
    """The three series a Prometheus histogram named ``name`` is stored as."""
    return frozenset({f"{name}_bucket", f"{name}_sum", f"{name}_count"})


def summary(name: str) -> frozenset[str]:
    """A summary: the quantile series under the bare name, plus ``_sum`` and ``_count``."""
    return frozenset({name, f"{name}_sum", f"{name}_count"})


def _union(*parts: frozenset[str] | set[str]) -> frozenset[str]:
    out: set[str] = set()
    for part in parts:
        out |= set(part)
    return frozenset(out)


# dcgm-exporter 4.6.0-4.8.3 (the gpu-operator v26.7.0 chart default ``dcgmExporter.version``).
# gpu-operator v26.7.0 assets/state-dcgm-exporter/0800_daemonset.yaml sets
# DCGM_EXPORTER_COLLECTORS=/etc/dcgm-exporter/dcp-metrics-included.csv, so these are the uncommented
# fields of dcgm-exporter's etc/dcp-metrics-included.csv (read at the main-branch commit after
# tag 4.5.3-4.8.2, the newest in reach; the 4.6.0 release was cut from that branch). Every series
# carries gpu, UUID, pci_bus_id, device, modelName, the node name label (``Hostname`` up to
# 4.5.x, renamed ``hostname`` on main) and, for GPUs assigned to pods, pod/namespace/container —
# which Prometheus stores as exported_pod/exported_namespace/exported_container because the
# operator's ServiceMonitor keeps honorLabels false and its own target labels win.
DCGM = frozenset({
    "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_ENC_UTIL", "DCGM_FI_DEV_DEC_UTIL",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_RESERVED",
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
    "DCGM_FI_DEV_VGPU_LICENSE_STATUS",
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "DCGM_FI_PROF_DRAM_ACTIVE",
    "DCGM_FI_PROF_PCIE_TX_BYTES", "DCGM_FI_PROF_PCIE_RX_BYTES",
})

# vLLM v0.28.0 (vllm/vllm-openai:v0.28.0): vllm/v1/metrics/loggers.py, PrometheusStatLogger.
# prometheus_client objects with labels model_name and engine.
VLLM = _union(
    {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:num_requests_waiting_by_reason",
     "vllm:kv_cache_usage_perc", "vllm:engine_sleep_state"},
    {"vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_success_total",
     "vllm:num_preemptions_total", "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total",
     "vllm:prompt_tokens_cached_total"},
    histogram("vllm:time_to_first_token_seconds"),
    histogram("vllm:inter_token_latency_seconds"),
    histogram("vllm:request_time_per_output_token_seconds"),
    histogram("vllm:e2e_request_latency_seconds"),
    histogram("vllm:request_queue_time_seconds"),
    histogram("vllm:request_prefill_time_seconds"),
    histogram("vllm:request_decode_time_seconds"),
    histogram("vllm:request_prompt_tokens"),
    histogram("vllm:request_generation_tokens"),
)

# TGI 3.3.4: router/src (metrics::counter!/gauge!/histogram! calls) and docs/source/reference/
# metrics.md at tag v3.3.4. metrics-exporter-prometheus 0.15.3 (Cargo.lock) renders counters
# without a suffix; router/src/server.rs gives buckets to every ``*duration`` metric,
# tgi_request_input_length, tgi_request_generated_tokens, tgi_request_max_new_tokens and
# tgi_batch_next_size (histograms); tgi_request_skipped_tokens has none and is a summary.
# TGI exposes no time-to-first-token metric.
TGI = _union(
    {"tgi_queue_size", "tgi_batch_current_size", "tgi_batch_current_max_tokens", "tgi_batch_max_total_tokens"},
    {"tgi_request_count", "tgi_request_success", "tgi_request_failure", "tgi_batch_inference_count",
     "tgi_batch_inference_success", "tgi_batch_inference_failure", "tgi_batch_concat"},
    histogram("tgi_request_duration"),
    histogram("tgi_request_queue_duration"),
    histogram("tgi_request_validation_duration"),
    histogram("tgi_request_inference_duration"),
    histogram("tgi_request_mean_time_per_token_duration"),
    histogram("tgi_request_generated_tokens"),
    histogram("tgi_request_input_length"),
    histogram("tgi_request_max_new_tokens"),
    histogram("tgi_batch_next_size"),
    histogram("tgi_batch_inference_duration"),
    histogram("tgi_batch_forward_duration"),
    histogram("tgi_batch_decode_duration"),
    histogram("tgi_batch_filter_duration"),
    histogram("tgi_batch_concat_duration"),
    summary("tgi_request_skipped_tokens"),
)

# TEI 1.9.3: router/src (metrics::* calls) and router/src/prometheus.rs at tag v1.9.3
# (metrics-exporter-prometheus 0.15.3: buckets for ``*duration``, te_request_input_length,
# te_batch_next_size, te_batch_next_tokens).
TEI = _union(
    {"te_queue_size"},
    {"te_request_count", "te_request_success", "te_request_failure", "te_embed_count", "te_embed_success",
     "te_predict_count", "te_predict_success"},
    histogram("te_request_duration"),
    histogram("te_request_queue_duration"),
    histogram("te_request_inference_duration"),
    histogram("te_request_tokenization_duration"),
    histogram("te_request_input_length"),
    histogram("te_batch_next_size"),
    histogram("te_batch_next_tokens"),
)

# Triton 26.07 (nvcr.io/nvidia/tritonserver:26.07-trtllm-python-py3): Triton's own metrics from
# server branch r26.07 docs/user_guide/metrics.md (counters carry no suffix; the latency counters
# are on by default, the first-response histogram only with --metrics-config
# histogram_latencies=true and so is not listed), and the TensorRT-LLM backend's gauges from
# tensorrtllm_backend branch r26.07 README.md "Triton Metrics".
TRITON = frozenset({
    "nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count",
    "nv_inference_exec_count", "nv_inference_pending_request_count",
    "nv_inference_request_duration_us", "nv_inference_queue_duration_us",
    "nv_inference_compute_input_duration_us", "nv_inference_compute_infer_duration_us",
    "nv_inference_compute_output_duration_us",
    "nv_gpu_utilization", "nv_gpu_memory_total_bytes", "nv_gpu_memory_used_bytes", "nv_gpu_power_usage",
    "nv_cpu_utilization", "nv_cpu_memory_total_bytes", "nv_cpu_memory_used_bytes",
    "nv_trt_llm_request_metrics", "nv_trt_llm_runtime_memory_metrics", "nv_trt_llm_kv_cache_block_metrics",
    "nv_trt_llm_inflight_batcher_metrics", "nv_trt_llm_general_metrics",
    "nv_trt_llm_disaggregated_serving_metrics",
})

# llama.cpp server (ghcr.io/ggml-org/llama.cpp:server-b11176, started with --metrics):
# tools/server/server-task.cpp ``server_task_result_metrics::to_metrics`` — written by hand with a
# ``llamacpp:`` prefix, counters already named ``*_total``. Only the names present across the
# 2026 server sources are listed (the exact b11176 commit was not in reach).
LLAMACPP = frozenset({
    "llamacpp:prompt_tokens_total", "llamacpp:prompt_seconds_total", "llamacpp:tokens_predicted_total",
    "llamacpp:tokens_predicted_seconds_total", "llamacpp:n_decode_total",
    "llamacpp:prompt_tokens_seconds", "llamacpp:predicted_tokens_seconds",
    "llamacpp:requests_processing", "llamacpp:requests_deferred", "llamacpp:n_busy_slots_per_decode",
})

# Envoy proxy stats (/stats/prometheus on port "metrics") as the Envoy Gateway v1.9.0 chart's own
# dashboards query them (charts/gateway-addons-helm/dashboards/envoy-proxy-global.json and
# envoy-clusters.json at tag v1.9.0); Envoy renders stat counters without a suffix, tags as labels
# (envoy_cluster_name, envoy_response_code_class, envoy_http_conn_manager_prefix).
ENVOY = _union(
    {"envoy_cluster_upstream_rq_total", "envoy_cluster_upstream_rq_xx", "envoy_cluster_upstream_cx_active",
     "envoy_cluster_upstream_cx_total", "envoy_cluster_membership_healthy", "envoy_cluster_membership_total",
     "envoy_cluster_upstream_cx_rx_bytes_total", "envoy_cluster_upstream_cx_tx_bytes_total",
     "envoy_http_downstream_rq_total", "envoy_http_downstream_rq_xx",
     "envoy_http_downstream_cx_total", "envoy_server_live", "envoy_server_uptime",
     "envoy_server_memory_allocated", "envoy_server_memory_heap_size"},
    histogram("envoy_cluster_upstream_rq_time"),
    histogram("envoy_http_downstream_rq_time"),
)

# Envoy AI Gateway v1.1.0: the external processor's OpenTelemetry metrics
# (internal/metrics/genai.go), exposed by its Prometheus exporter on the sidecar's ``aigw-admin``
# port (1064, /metrics; internal/controller/extproc_builder.go, cmd/extproc/mainlib/admin.go).
# Names as cmd/extproc/mainlib/admin_test.go shows them: unit "s" adds ``_seconds``, unit "token"
# adds nothing. Labels: gen_ai_operation_name, gen_ai_provider_name, gen_ai_original_model,
# gen_ai_request_model, gen_ai_response_model, gen_ai_token_type, error_type (failures), plus one
# label per ``controller.metricsRequestHeaderAttributes`` mapping.
AI_GATEWAY = _union(
    histogram("gen_ai_client_token_usage"),
    histogram("gen_ai_server_request_duration_seconds"),
    histogram("gen_ai_server_time_to_first_token_seconds"),
    histogram("gen_ai_server_time_per_output_token_seconds"),
)

# Gateway API Inference Extension v1.5.0 endpoint picker: pkg/epp/metrics/metrics.go
# (prometheus client_golang; pool gauges labelled ``name``, objective series model_name and
# target_model_name).
EPP = _union(
    {"inference_pool_average_kv_cache_utilization", "inference_pool_average_queue_size",
     "inference_pool_average_running_requests", "inference_pool_ready_pods",
     "inference_objective_request_total", "inference_objective_request_error_total",
     "inference_objective_running_requests"},
    histogram("inference_objective_request_duration_seconds"),
    histogram("inference_extension_scheduler_e2e_duration_seconds"),
)

# What the platform dashboard reads from kube-state-metrics (chart 8.4.0 in kube-prometheus-stack
# 88.5.3; docs/metrics/workload/pod-metrics.md, cluster/node-metrics.md, storage/
# persistentvolumeclaim-metrics.md), the kubelet's cAdvisor and volume stats (kube-prometheus-stack
# kubelet ServiceMonitor, /metrics/cadvisor and /metrics) and node-exporter (chart 4.56.1).
PLATFORM_DASHBOARD_METRICS = frozenset({
    "kube_pod_status_phase", "kube_pod_status_ready", "kube_pod_container_status_restarts_total",
    "kube_pod_container_status_waiting_reason", "kube_pod_info",
    "kube_node_info", "kube_node_status_condition", "kube_node_spec_unschedulable",
    "kube_deployment_status_replicas_available", "kube_deployment_spec_replicas",
    "kube_persistentvolumeclaim_info",
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
    "kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes",
    "kubelet_volume_stats_available_bytes",
    "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
})

SERVING_METRICS: dict[str, frozenset[str]] = {
    "dcgm": DCGM,
    "vllm": VLLM,
    "tgi": TGI,
    "tei": TEI,
    "triton": TRITON,
    "llamacpp": LLAMACPP,
    "envoy": ENVOY,
    "ai-gateway": AI_GATEWAY,
    "epp": EPP,
    "kubernetes": PLATFORM_DASHBOARD_METRICS,
}
