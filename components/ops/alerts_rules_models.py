"""Alert rules for the model servers.

Each model server is a Deployment named like its model in the models namespace, and every
series its engine exports carries the model as ``genai_platform_io_model``. An autoscaled
model has a KEDA ScaledObject named like the model, whose HPA KEDA names
``keda-hpa-<ScaledObject name>`` (KEDA 2.20.2 controllers/keda/hpa.go getDefaultHpaName).
A Deployment's ``progressDeadlineSeconds`` is sized for node provisioning, the catalog
download and the model load (server_specs.deployment), so "still progressing" is the one
signal that tells a model loading from a model that is broken.
"""

from __future__ import annotations

from components.models import engines
from components.ops.alerts_rules_base import MODEL, Alert, RuleSettings, Topic, ns, num, sel

QUEUE_WINDOW = "15m"
# Below this many first tokens per second a p95 says little; an idle model never alerts.
TTFT_MIN_RPS = 0.05
# Reasons kube-state-metrics reports while a Deployment's rollout is still within its deadline.
PROGRESSING = "ReplicaSetUpdated|NewReplicaSetCreated|FoundNewReplicaSet"


def _queue_growing(engine: str, namespace: str) -> str:
    """More requests waiting than the autoscaler's per-replica target, and still rising."""
    spec = engines.ENGINES[engine]
    waiting = sel(spec.queue_metric, ns(namespace))
    return (f"(sum by (namespace, {MODEL}) ({waiting}) > {spec.queue_target}\n"
            f"  and on (namespace, {MODEL}) sum by (namespace, {MODEL}) (deriv({waiting}[{QUEUE_WINDOW}])) > 0)")


def _at_max_replicas(namespace: str) -> str:
    """The model's HPA at its maximum, relabelled with the model it scales."""
    current = sel("kube_horizontalpodautoscaler_status_current_replicas", ns(namespace))
    top = sel("kube_horizontalpodautoscaler_spec_max_replicas", ns(namespace))
    return (f"label_replace(\n"
            f"  max by (namespace, horizontalpodautoscaler) ({current})\n"
            f"    >= on (namespace, horizontalpodautoscaler) max by (namespace, horizontalpodautoscaler) ({top}),\n"
            f'  "{MODEL}", "$1", "horizontalpodautoscaler", "keda-hpa-(.+)")')


def queue_at_max_expr(namespace: str) -> str:
    growing = "\nor\n".join(_queue_growing(e, namespace) for e in engines.ENGINES)
    return f"(\n{growing}\n)\nand on (namespace, {MODEL})\n{_at_max_replicas(namespace)}"


def models_topic(s: RuleSettings) -> Topic:
    m = s.models_namespace
    assert m is not None
    t = s.thresholds
    pods = f"kubectl -n {m} get deploy,pods -o wide"
    describe = f"kubectl -n {m} describe deploy <model>"
    progressing = sel("kube_deployment_status_condition", ns(m), 'condition="Progressing"', 'status="true"',
                      f'reason=~"{PROGRESSING}"')
    bucket = sel("vllm:time_to_first_token_seconds_bucket", ns(m))
    count = sel("vllm:time_to_first_token_seconds_count", ns(m))
    model = "{{ $labels." + MODEL + " }}"
    return Topic("models", (
        Alert(
            "ModelServerDown",
            f"""
            (
              max by (namespace, deployment) ({sel("kube_deployment_spec_replicas", ns(m))}) > 0
              and on (namespace, deployment)
              max by (namespace, deployment) ({sel("kube_deployment_status_replicas_available", ns(m))}) == 0
            )
            unless on (namespace, deployment)
              max by (namespace, deployment) ({progressing}) == 1
            """,
            "5m", "critical",
            "A model server has no ready replica",
            "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} wants replicas but none is available "
            "and none is loading: requests for this model fail.",
            """The Deployment asks for at least one replica, none is available, and no rollout is
            in progress (a replica still loading within the Deployment's progress deadline does
            not count). A model scaled to zero never alerts.""",
            (
                pods,
                describe,
                f"kubectl -n {m} logs deploy/<model> -c server --previous",
                f"kubectl -n {m} get events --sort-by=.lastTimestamp",
                f'PromQL: kube_pod_container_status_waiting_reason{{namespace="{m}"}}',
            ),
            f"""By what the pod shows. Pending: no GPU node fits (the GPU pool's size, the cluster
            autoscaler's log). Waiting in the wait-for-model init container: the catalog download
            failed (kubectl -n {m} get jobs). CrashLoopBackOff: the engine's log names the cause
            (out of memory: a shorter context or more GPUs for the model in the stack).""",
        ),
        Alert(
            "ModelServerRolloutStuck",
            f"""
            max by (namespace, deployment) (
              {sel("kube_deployment_status_condition", ns(m), 'condition="Progressing"', 'status="false"')}
            ) == 1
            """,
            "5m", "warning",
            "A model server's rollout exceeded its progress deadline",
            "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} made no progress within its deadline "
            "(node provisioning, download and load).",
            """Kubernetes marked the rollout ProgressDeadlineExceeded: new replicas did not become
            ready within the time the platform budgets for a GPU node, the catalog download and
            the model load. Old replicas, if any, still serve.""",
            (
                describe,
                f"kubectl -n {m} rollout status deploy/<model>",
                f"kubectl -n {m} get pods -l genai-platform.io/model=<model> -o wide",
            ),
            f"""As for ModelServerDown. After fixing the cause, kubectl -n {m} rollout restart
            deploy/<model>, or go back to the previous stack settings and pulumi up.""",
        ),
        Alert(
            "ModelServerCrashLooping",
            f"""
            max by (namespace, pod, container) (
              {sel("kube_pod_container_status_waiting_reason", ns(m), 'reason="CrashLoopBackOff"')}
            ) == 1
            """,
            "15m", "warning",
            "A pod in the models namespace is crash-looping",
            "Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} keeps restarting.",
            """A container keeps restarting: a model server, a download Job or an endpoint picker.""",
            (
                f"kubectl -n {m} logs <pod> -c <container> --previous",
                f"kubectl -n {m} describe pod <pod>",
                f'PromQL: increase(kube_pod_container_status_restarts_total{{namespace="{m}"}}[1h])',
            ),
            """OOMKilled: more memory for the model (or a shorter context). CUDA errors: see the
            GPU alerts for its node. A file missing from the catalog: delete the model's download
            Job and pulumi up to run it again.""",
        ),
        Alert(
            "ModelQueueGrowingAtMaxReplicas",
            queue_at_max_expr(m),
            "15m", "warning",
            "A model's queue keeps growing at its maximum replica count",
            f"Model {model} has a growing request queue while its autoscaler is at its maximum replicas: "
            "latency will keep rising.",
            f"""More requests wait than the autoscaler's per-replica target, the queue has grown
            for {QUEUE_WINDOW}, and KEDA's HPA (keda-hpa-<model>) is already at the model's
            maximum, so no more capacity is coming. Queue metrics: vLLM vllm:num_requests_waiting,
            TGI tgi_queue_size, TEI te_queue_size, Triton nv_trt_llm_request_metrics
            (request_type waiting), llama.cpp llamacpp:requests_deferred.""",
            (
                f"kubectl -n {m} get hpa keda-hpa-<model>",
                f"kubectl -n {m} get scaledobject <model> -o yaml",
                f'PromQL: sum by ({MODEL}) (vllm:num_requests_waiting{{namespace="{m}"}})',
            ),
            """Raise the model's maxReplicas (and the GPU pool's maximum size) in the stack, or
            tighten the tenants' rate limits for this model; the gateway dashboard shows whether
            one tenant causes it.""",
        ),
        Alert(
            "ModelTimeToFirstTokenHigh",
            f"""
            histogram_quantile(0.95,
              sum by (le, namespace, {MODEL}) (rate({bucket}[10m]))
            ) > {num(t.ttft_p95_seconds)}
            and on (namespace, {MODEL})
              sum by (namespace, {MODEL}) (rate({count}[10m])) > {num(TTFT_MIN_RPS)}
            """,
            "15m", "warning",
            "A model's time to first token is high",
            f"Model {model}: p95 time to first token is {{{{ $value | humanizeDuration }}}} "
            f"(threshold {num(t.ttft_p95_seconds)} s).",
            f"""5% of the requests wait more than {num(t.ttft_p95_seconds)} s
            (observability.ttftP95Seconds) for their first token, measured by vLLM
            (vllm:time_to_first_token_seconds; the other engines export no equivalent). Usually
            queueing (too few replicas), long prompts or a full KV cache. Models with less than
            {num(TTFT_MIN_RPS)} requests per second are not judged.""",
            (
                "PromQL: histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket"
                f'{{namespace="{m}", {MODEL}="<model>"}}[10m])))',
                f'PromQL: sum(vllm:num_requests_waiting{{namespace="{m}", {MODEL}="<model>"}})',
                f'PromQL: avg(vllm:kv_cache_usage_perc{{namespace="{m}", {MODEL}="<model>"}})',
                f"kubectl -n {m} get hpa keda-hpa-<model>",
            ),
            """More replicas (maxReplicas, or a lower queue target in the stack's autoscaling
            settings), prefix caching for long shared system prompts, or a larger GPU.""",
        ),
        Alert(
            "ModelAutoscalerErrors",
            f"""
            sum by (exported_namespace, scaledObject) (
              increase({sel("keda_scaled_object_errors_total", f'exported_namespace="{m}"')}[10m])
            ) > 0
            """,
            "15m", "warning",
            "KEDA cannot evaluate a model's scaling triggers",
            "ScaledObject {{ $labels.exported_namespace }}/{{ $labels.scaledObject }} keeps failing: "
            "the model no longer scales with its queue.",
            """KEDA's operator fails to evaluate the model's triggers (Prometheus queries), so the
            replica count stays where it is. KEDA's metrics name the ScaledObject's namespace
            exported_namespace (its ServiceMonitor does not honour the exporter's labels).""",
            (
                f"kubectl -n {m} describe scaledobject <model>",
                "kubectl -n <keda-namespace> logs deploy/keda-operator --tail=200",
                f'PromQL: increase(keda_scaler_detail_errors_total{{exported_namespace="{m}"}}[10m])',
            ),
            """Usually Prometheus is unreachable from KEDA's namespace (NetworkPolicy, or the
            Prometheus address in the stack) or a wake query is invalid; fix it and the errors
            stop.""",
        ),
    ))
