"""The platform dashboard: nodes and their readiness, pods by phase and readiness per namespace,
restarts, CPU and memory per namespace, and how full every PersistentVolumeClaim is.

Sources: kube-state-metrics (object state), the kubelet's cAdvisor and volume statistics
(usage; prometheus-operator labels the kubelet's series with ``node``) and node-exporter (node
usage). node-exporter's targets carry only the exporter pod's namespace and name, so its series
get their node name from ``kube_pod_info`` (``on(namespace, pod)``), as the GPU dashboard does.
"""

from __future__ import annotations

from components.ops import grafana as g

UID = "genai-platform"
TITLE = "GenAI Platform / Kubernetes"

NS = 'namespace=~"$namespace"'
NODE = 'node=~"$node"'
_NODE_JOIN = 'on(namespace, pod) group_left(node) kube_pod_info{node=~"$node"}'


def _cluster() -> g.Row:
    ready = 'kube_node_status_condition{condition="Ready",status="true"}'
    return g.Row("Nodes", (
        g.stat("Nodes", [g.target("count(kube_node_info)")], "short", width=4),
        g.stat("Nodes ready", [g.target(f"sum({ready})")], "short", width=4),
        g.stat("Nodes not ready", [g.target(f"count(kube_node_info) - sum({ready})")], "short", width=4,
               thresholds=g.Thresholds(((1, "red"),))),
        g.stat("Nodes cordoned", [g.target("sum(kube_node_spec_unschedulable)")], "short", width=4,
               thresholds=g.Thresholds(((1, "orange"),))),
        g.stat("Pods not ready", [g.target(
            f'sum(kube_pod_status_ready{{condition="false",{NS}}} * on(namespace, pod) '
            f'(kube_pod_status_phase{{phase="Running"}} == 1)) or vector(0)')],
            "short", width=4, thresholds=g.Thresholds(((1, "orange"),)),
            description="Running pods whose readiness probe fails (completed Jobs are not counted)."),
        g.stat("Pods pending", [g.target(f'sum(kube_pod_status_phase{{phase="Pending",{NS}}}) or vector(0)')],
               "short", width=4, thresholds=g.Thresholds(((1, "orange"),)),
               description="Pending GPU pods usually wait for a GPU node to be provisioned."),
        g.timeseries("Node readiness", [g.target(
            f'max by (node) (kube_node_status_condition{{condition="Ready",status="true",{NODE}}})', "{{node}}")],
            "short", minimum=0, maximum=1, width=12),
        g.timeseries("Node CPU and memory used", [
            g.target(f'1 - avg by (node) ((rate(node_cpu_seconds_total{{mode="idle"}}{g.RATE}) * {_NODE_JOIN}))',
                     "{{node}} CPU"),
            g.target(f"1 - sum by (node) ((node_memory_MemAvailable_bytes * {_NODE_JOIN})) / "
                     f"sum by (node) ((node_memory_MemTotal_bytes * {_NODE_JOIN}))", "{{node}} memory")],
            "percentunit", maximum=1, width=12),
    ))


def _pods() -> g.Row:
    return g.Row("Pods", (
        g.timeseries("Pods by phase per namespace", [g.target(
            f"sum by (namespace, phase) (kube_pod_status_phase{{{NS}}}) > 0", "{{namespace}} {{phase}}")],
            "short", width=12),
        g.timeseries("Pods not ready per namespace", [g.target(
            f'sum by (namespace) (kube_pod_status_ready{{condition="false",{NS}}}) > 0', "{{namespace}}")],
            "short", width=12),
        g.timeseries("Container restarts (per pod, over 1h)", [g.target(
            f"topk(20, sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{{{NS}}}[1h])) > 0)",
            "{{namespace}}/{{pod}}")], "short", width=12),
        g.table("Containers waiting", [g.target(
            f"sum by (namespace, pod, container, reason) (kube_pod_container_status_waiting_reason{{{NS}}}) > 0",
            table=True)], width=12,
            description="CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError...",
            hide_columns=("Time", "Value")),
    ))


def _resources() -> g.Row:
    cpu = f'container_cpu_usage_seconds_total{{container!="",{NS},{NODE}}}'
    mem = f'container_memory_working_set_bytes{{container!="",{NS},{NODE}}}'
    return g.Row("CPU and memory", (
        g.timeseries("CPU per namespace", [g.target(f"sum by (namespace) (rate({cpu}{g.RATE}))", "{{namespace}}")],
                     "short", stacked=True, description="Cores in use (cAdvisor)."),
        g.timeseries("Memory per namespace", [g.target(f"sum by (namespace) ({mem})", "{{namespace}}")], "bytes",
                     stacked=True, description="Working set (what the OOM killer looks at)."),
        g.timeseries("Top pods by CPU", [g.target(
            f"topk(10, sum by (namespace, pod) (rate({cpu}{g.RATE})))", "{{namespace}}/{{pod}}")], "short"),
        g.timeseries("Top pods by memory", [g.target(
            f"topk(10, sum by (namespace, pod) ({mem}))", "{{namespace}}/{{pod}}")], "bytes"),
    ))


def _storage() -> g.Row:
    used = f"kubelet_volume_stats_used_bytes{{{NS}}}"
    capacity = f"kubelet_volume_stats_capacity_bytes{{{NS}}}"
    return g.Row("Volumes", (
        g.timeseries("Volume usage per claim", [g.target(
            f"max by (namespace, persistentvolumeclaim) ({used}) / max by (namespace, persistentvolumeclaim) ({capacity})",
            "{{namespace}}/{{persistentvolumeclaim}}")], "percentunit", maximum=1,
            thresholds=g.Thresholds(((0.85, "orange"), (0.95, "red"))),
            description="Only mounted volumes report (the kubelet measures what a pod mounts); "
                        "NFS/Filestore/EFS volumes report the share's numbers."),
        g.table("Fullest claims", [g.target(
            f"topk(15, max by (namespace, persistentvolumeclaim) ({used}) / "
            f"max by (namespace, persistentvolumeclaim) ({capacity}))", table=True)], "percentunit", width=12,
            hide_columns=("Time",)),
    ))


def platform_dashboard() -> dict:
    variables = [
        g.query_variable("namespace", "Namespace", "label_values(kube_pod_info, namespace)"),
        g.query_variable("node", "Node", "label_values(kube_node_info, node)"),
    ]
    return g.dashboard(UID, TITLE, "Nodes, pods, CPU, memory and volumes of the cluster the platform runs on.",
                       [_cluster(), _pods(), _resources(), _storage()], variables)
