"""Alert rules for the GPUs, from the GPU Operator's DCGM exporter.

GPU series come from the GPU Operator's dcgm-exporter: its ServiceMonitor (gpu-operator
v26.7.0 assets/state-dcgm-exporter/0500_service_monitor.yaml) sets ``jobLabel: app``, so every
series carries ``job="nvidia-dcgm-exporter"``; GPU labels are ``gpu``, ``UUID``,
``modelName`` and the node name as ``Hostname`` (dcgm-exporter up to 4.5.x) or ``hostname``
(renamed after 4.5.3) — the rules keep both. ``DCGM_FI_DEV_XID_ERRORS`` is a gauge holding the
last XID a GPU reported, with the code also in the ``err_code`` / ``err_msg`` labels; it stays
set until the exporter restarts, which the rules take into account.
"""

from __future__ import annotations

from components.ops.alerts_rules_base import Alert, RuleSettings, Topic, num, sel

DCGM_JOB = "nvidia-dcgm-exporter"
GPU_BY = "Hostname, hostname, gpu, UUID, modelName"
GPU_WHERE = ("GPU {{ $labels.gpu }} ({{ $labels.modelName }}, {{ $labels.UUID }}) on node "
             "{{ $labels.Hostname }}{{ $labels.hostname }}")
XID_DOC = "https://docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html"
# XIDs after which NVIDIA's catalog asks for the GPU to be reset (or the node rebooted) before
# it is trusted again: ECC double-bit / uncontained errors, row-remapping pending or failed,
# NVLink errors, fallen off the bus, GSP firmware timeouts and errors, and XID 154 (the driver
# announcing that a reset or reboot is required).
XID_RESET = (48, 63, 64, 74, 79, 94, 95, 119, 120, 154)
# The engines reserve 90% of a GPU's memory by design (planner.py memory_utilization), so only
# use beyond that margin means something else allocates on the GPU.
GPU_MEMORY_RATIO = 0.97
GPU_TEMP_WARNING_C = 85
GPU_TEMP_CRITICAL_C = 90


def _xid_codes() -> str:
    return "|".join(str(x) for x in XID_RESET)


def gpu_topic(s: RuleSettings) -> Topic:
    gns = s.gpu_operator_namespace
    assert gns is not None
    mns = s.models_namespace or "<models-namespace>"
    exporter = f"kubectl -n {gns} get pods -l app=nvidia-dcgm-exporter -o wide"
    on_node = "kubectl get pods -A -o wide --field-selector spec.nodeName=<node>"
    kernel_log = ("kubectl debug node/<node> -it --profile=sysadmin --image=busybox:1.37 -- "
                  "chroot /host sh -c 'dmesg -T | grep -i xid'")
    return Topic("gpu", (
        Alert(
            "GpuXidRequiresReset",
            f"""
            max by ({GPU_BY}, err_code, err_msg) (
              {sel("DCGM_FI_DEV_XID_ERRORS", f'err_code=~"{_xid_codes()}"')}
            ) > 0
            """,
            "1m", "critical",
            "A GPU reported an XID that requires draining the node and resetting the GPU",
            f"{GPU_WHERE} reported XID {{{{ $labels.err_code }}}} ({{{{ $labels.err_msg }}}}). "
            "Work on this GPU is failing or will fail; it must be drained and reset.",
            f"""The NVIDIA driver logged an XID that NVIDIA's XID catalog ({XID_DOC}) resolves
            with a GPU reset or a node reboot: ECC double-bit or uncontained errors (48, 95),
            contained ECC errors (94), row remapping pending or failed (63, 64), NVLink (74),
            fallen off the bus (79), GSP timeouts and errors (119, 120), or 154 (the driver
            announcing that a reset or reboot is required). dcgm-exporter keeps the last XID
            until it restarts, so this keeps firing until the GPU has been reset.""",
            (
                'PromQL: DCGM_FI_DEV_XID_ERRORS{UUID="<uuid>"}',
                exporter,
                kernel_log,
                on_node,
            ),
            f"""kubectl cordon <node>, then kubectl drain <node> --ignore-daemonsets
            --delete-emptydir-data. Reboot the node (in a cloud: terminate the instance and let
            the node group replace it) or reset the GPU from the driver container (nvidia-smi -r
            -i <gpu>). Then kubectl -n {gns} delete pod -l app=nvidia-dcgm-exporter
            --field-selector spec.nodeName=<node> (clears the kept XID) and kubectl uncordon
            <node>. The same XID again on the same GPU: replace the hardware.""",
        ),
        Alert(
            "GpuXidError",
            f"""
            max by ({GPU_BY}, err_code, err_msg) (
              {sel("DCGM_FI_DEV_XID_ERRORS", f'err_code!~"0|{_xid_codes()}"')} > 0
            )
            unless on (UUID, err_code)
              max by (UUID, err_code) (DCGM_FI_DEV_XID_ERRORS offset 30m)
            """,
            "1m", "warning",
            "A GPU reported a new XID error",
            f"{GPU_WHERE} reported XID {{{{ $labels.err_code }}}} ({{{{ $labels.err_msg }}}}) "
            "within the last 30 minutes.",
            f"""A new XID code appeared on this GPU within the last 30 minutes. The rule compares
            with 30 minutes ago because dcgm-exporter keeps the last XID: it resolves on its own
            and cannot see the same code twice in a row (the kernel log can). Most of these
            (13, 31, 43, 45) come from the application: a CUDA fault in the model server on that
            GPU. The code's meaning: {XID_DOC}.""",
            (
                kernel_log,
                on_node,
                f"kubectl -n {mns} logs deploy/<model> -c server --previous",
                f'PromQL: increase(kube_pod_container_status_restarts_total{{namespace="{mns}"}}[1h])',
            ),
            """Restart the affected model server (kubectl rollout restart deploy/<model>). If the
            XID repeats for different models on the same GPU, drain the node and reset the GPU
            as for GpuXidRequiresReset.""",
        ),
        Alert(
            "GpuMemoryNearlyFull",
            f"""
            max by ({GPU_BY}) (
              DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)
            ) > {num(GPU_MEMORY_RATIO)}
            """,
            "15m", "warning",
            "A GPU's memory is almost exhausted",
            f"{GPU_WHERE} has {{{{ $value | humanizePercentage }}}} of its framebuffer in use.",
            f"""The engines reserve 90% of a GPU (less when it is shared). Beyond
            {num(GPU_MEMORY_RATIO * 100)}% something else allocates on it: a second process, a
            time-slicing neighbour, an engine started with a larger memory share. The next
            allocation fails with CUDA out-of-memory.""",
            (
                'PromQL: DCGM_FI_DEV_FB_USED{UUID="<uuid>"} / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)',
                on_node,
                f"kubectl -n {gns} exec ds/nvidia-driver-daemonset -- nvidia-smi  (where the operator runs the driver)",
            ),
            """Move the extra workload off the GPU pool (GPU workloads must request
            nvidia.com/gpu), or remove a memory-share override from the model's extraArgs in the
            stack and pulumi up.""",
        ),
        Alert(
            "GpuTemperatureHigh",
            f"max by ({GPU_BY}) (DCGM_FI_DEV_GPU_TEMP) > {GPU_TEMP_WARNING_C}",
            "15m", "warning",
            "A GPU runs hot",
            f"{GPU_WHERE} is at {{{{ $value }}}} °C.",
            f"""Sustained temperatures above {GPU_TEMP_WARNING_C} °C make the GPU lower its
            clocks (slower tokens) and age faster.""",
            (
                'PromQL: DCGM_FI_DEV_GPU_TEMP{UUID="<uuid>"}',
                'PromQL: DCGM_FI_DEV_SM_CLOCK{UUID="<uuid>"}',
                'PromQL: DCGM_FI_DEV_POWER_USAGE{UUID="<uuid>"}',
                exporter,
            ),
            """On premises: the chassis fans and the inlet temperature. In a cloud: drain the node
            (kubectl drain <node> --ignore-daemonsets --delete-emptydir-data) and terminate the
            instance.""",
        ),
        Alert(
            "GpuTemperatureCritical",
            f"max by ({GPU_BY}) (DCGM_FI_DEV_GPU_TEMP) > {GPU_TEMP_CRITICAL_C}",
            "5m", "critical",
            "A GPU is overheating",
            f"{GPU_WHERE} is at {{{{ $value }}}} °C.",
            f"""Above {GPU_TEMP_CRITICAL_C} °C the GPU throttles hard and may drop off the bus
            (XID 79).""",
            ('PromQL: DCGM_FI_DEV_GPU_TEMP{UUID="<uuid>"}', exporter, on_node),
            """kubectl cordon <node> and kubectl drain <node> --ignore-daemonsets
            --delete-emptydir-data; fix the cooling or replace the instance before uncordoning.""",
        ),
        Alert(
            "GpuNodesNotMonitored",
            f"""
            count(kube_node_status_capacity{{resource="nvidia_com_gpu"}} > 0)
              > (count({sel("up", f'job="{DCGM_JOB}"')} == 1) or vector(0))
            """,
            "20m", "warning",
            "GPU nodes without a working DCGM exporter",
            "Fewer DCGM exporters report than there are GPU nodes ({{ $value }} GPU nodes): some GPUs' "
            "errors, memory and temperature are not watched.",
            """Fewer dcgm-exporter targets are up than there are nodes offering nvidia.com/gpu,
            so the XID and temperature alerts cannot fire for some GPUs.""",
            (
                f'PromQL: up{{job="{DCGM_JOB}"}}',
                'PromQL: kube_node_status_capacity{resource="nvidia_com_gpu"} > 0',
                exporter,
                f"kubectl -n {gns} get servicemonitor nvidia-dcgm-exporter",
                f"kubectl -n {gns} get pods -l app=nvidia-operator-validator -o wide",
            ),
            f"""The exporter waits for the driver and toolkit validations: a node stuck there shows
            in its nvidia-operator-validator pod's logs. Once the driver is healthy, delete the
            failing exporter pod (kubectl -n {gns} delete pod <pod>).""",
        ),
    ))
