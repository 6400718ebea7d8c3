"""The GPU fleet dashboard: utilization, framebuffer memory, temperature, power and XID errors,
per node, per GPU and per pod, from the GPU Operator's DCGM exporter.

Label facts this relies on (dcgm-exporter 4.6.0-4.8.3 as gpu-operator v26.7.0 deploys it):
every series has ``gpu``, ``UUID`` and ``modelName``; GPUs assigned to a pod also carry that
pod's ``pod``/``namespace``/``container``, which Prometheus stores as ``exported_pod``/
``exported_namespace``/``exported_container`` because the operator's ServiceMonitor leaves
``honorLabels`` off and the scrape's own target labels (the exporter pod) take the plain names.
The exporter names its node in a label whose spelling changed across releases (``Hostname``,
then ``hostname``), so the dashboard takes the Kubernetes node name from kube-state-metrics'
``kube_pod_info`` of the exporter pod instead (``on(namespace, pod)``), which also makes the
``node`` variable match the platform dashboard's.
"""

from __future__ import annotations

from components.ops import grafana as g

UID = "genai-gpu-fleet"
TITLE = "GenAI Platform / GPU fleet"

_GPU = 'modelName=~"$gpu_model"'
_POD = f'{_GPU},exported_pod!="",exported_namespace=~"$namespace"'
_NODE_JOIN = 'on(namespace, pod) group_left(node) kube_pod_info{node=~"$node"}'


def on_node(metric: str, selector: str = _GPU, *, over: str = "") -> str:
    """``metric{selector}`` (or ``over(metric{selector}[window])`` when ``over`` is given as
    ``"fn:window"``) with the exporter pod's Kubernetes node as a ``node`` label, restricted to
    the nodes the ``node`` variable selects."""
    series = f"{metric}{{{selector}}}"
    if over:
        fn, window = over.split(":", 1)
        series = f"{fn}({series}[{window}])"
    return f"({series} * {_NODE_JOIN})"


def _fb_total(selector: str = _GPU) -> str:
    # The framebuffer is split into used, free and reserved (driver) memory.
    return (f"({on_node('DCGM_FI_DEV_FB_USED', selector)} + {on_node('DCGM_FI_DEV_FB_FREE', selector)}"
            f" + {on_node('DCGM_FI_DEV_FB_RESERVED', selector)})")


def _fleet() -> g.Row:
    return g.Row("Fleet", (
        g.stat("GPUs reporting", [g.target(f"count({on_node('DCGM_FI_DEV_GPU_UTIL')}) or vector(0)")], "short",
               description="GPUs the DCGM exporter reports on the selected nodes.", width=4),
        g.gauge("Average GPU utilization", [g.target(f"avg({on_node('DCGM_FI_DEV_GPU_UTIL')})")], "percent",
                description="DCGM_FI_DEV_GPU_UTIL: share of time a kernel was running, averaged over GPUs.",
                width=5, height=4, thresholds=g.Thresholds(((90, "orange"),))),
        g.gauge("Framebuffer used", [g.target(f"sum({on_node('DCGM_FI_DEV_FB_USED')}) / sum({_fb_total()})")],
                "percentunit", maximum=1, width=5, height=4,
                description="Used / (used + free + reserved) framebuffer memory over all selected GPUs. "
                            "vLLM and TGI reserve most of it for their KV cache at start, so high is normal.",
                thresholds=g.Thresholds(((0.95, "orange"),))),
        g.stat("Power draw", [g.target(f"sum({on_node('DCGM_FI_DEV_POWER_USAGE')})")], "watt", width=4,
               description="DCGM_FI_DEV_POWER_USAGE summed over the selected GPUs."),
        g.stat("Hottest GPU", [g.target(f"max({on_node('DCGM_FI_DEV_GPU_TEMP')})")], "celsius", width=3,
               thresholds=g.Thresholds(((80, "orange"), (90, "red")))),
        g.stat("GPUs with an XID error", [g.target(
            f"count({on_node('DCGM_FI_DEV_XID_ERRORS', over='max_over_time:$__range')} > 0) or vector(0)")], "short",
            width=3, thresholds=g.Thresholds(((1, "red"),)),
            description="GPUs whose last XID error code was non-zero at some point in the time range; "
                        "see the XID table below for the codes."),
    ))


def _per_gpu() -> g.Row:
    legend = "{{node}} GPU {{gpu}}"
    return g.Row("Per GPU", (
        g.timeseries("GPU utilization", [g.target(on_node("DCGM_FI_DEV_GPU_UTIL"), legend)], "percent",
                     maximum=100),
        g.timeseries("Tensor core activity", [g.target(on_node("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"), legend)],
                     "percentunit", maximum=1,
                     description="DCGM_FI_PROF_PIPE_TENSOR_ACTIVE (profiling metric; data-center GPUs only). "
                                 "Low tensor activity at high utilization points at memory-bound decoding."),
        g.timeseries("Framebuffer used", [g.target(on_node("DCGM_FI_DEV_FB_USED"), legend)], "mbytes"),
        g.timeseries("Framebuffer free", [g.target(on_node("DCGM_FI_DEV_FB_FREE"), legend)], "mbytes"),
        g.timeseries("GPU temperature", [g.target(on_node("DCGM_FI_DEV_GPU_TEMP"), legend),
                                         g.target(on_node("DCGM_FI_DEV_MEMORY_TEMP"), legend + " memory")],
                     "celsius", thresholds=g.Thresholds(((80, "orange"), (90, "red")))),
        g.timeseries("Power draw", [g.target(on_node("DCGM_FI_DEV_POWER_USAGE"), legend)], "watt"),
        g.timeseries("SM clock", [g.target(f"{on_node('DCGM_FI_DEV_SM_CLOCK')} * 1000000", legend)], "hertz", width=12,
                     description="DCGM_FI_DEV_SM_CLOCK in MHz; a drop under load means thermal or power throttling."),
        g.timeseries("PCIe replays", [g.target(
            on_node("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", over="increase:$__rate_interval"), legend)], "short", width=12,
                     description="Retried PCIe transfers; a steady rise points at a bad riser or slot."),
        g.table("XID errors", [g.target(
            f"{on_node('DCGM_FI_DEV_XID_ERRORS', over='max_over_time:$__range')} > 0", table=True)],
            description="The last XID error code per GPU in the time range (DCGM_FI_DEV_XID_ERRORS is the code "
                        "of the most recent XID). NVIDIA's XID catalog says which codes need a GPU reset or a "
                        "node drain (e.g. 48, 63, 64, 74, 79, 94, 95).",
            hide_columns=("Time", "__name__", "container", "endpoint", "instance", "job", "service",
                          "pci_bus_id", "device", "namespace", "pod")),
    ))


def _per_pod() -> g.Row:
    legend = "{{exported_namespace}}/{{exported_pod}}"
    by_pod = "by (exported_namespace, exported_pod)"
    return g.Row("Per pod", (
        g.timeseries("GPU utilization by pod",
                     [g.target(f"avg {by_pod} ({on_node('DCGM_FI_DEV_GPU_UTIL', _POD)})", legend)], "percent",
                     maximum=100, width=8,
                     description="Averaged over the pod's GPUs (tensor-parallel replicas hold several)."),
        g.timeseries("Framebuffer used by pod",
                     [g.target(f"sum {by_pod} ({on_node('DCGM_FI_DEV_FB_USED', _POD)})", legend)], "mbytes",
                     width=8),
        g.timeseries("Power draw by pod",
                     [g.target(f"sum {by_pod} ({on_node('DCGM_FI_DEV_POWER_USAGE', _POD)})", legend)], "watt",
                     width=8),
    ))


def gpu_dashboard() -> dict:
    variables = [
        g.query_variable("node", "Node", "label_values(kube_node_info, node)"),
        g.query_variable("gpu_model", "GPU model", "label_values(DCGM_FI_DEV_GPU_UTIL, modelName)"),
        g.query_variable("namespace", "Namespace (pods)",
                         'label_values(DCGM_FI_DEV_GPU_UTIL{exported_namespace!=""}, exported_namespace)'),
    ]
    return g.dashboard(UID, TITLE, "GPU utilization, memory, temperature, power and XID errors from the "
                       "GPU Operator's DCGM exporter, per node, GPU and pod.",
                       [_fleet(), _per_gpu(), _per_pod()], variables)
