"""``no-privileged``: no privileged containers, privilege escalation or admin capabilities.

The one exception is the NVIDIA GPU Operator: its daemonsets (driver, container toolkit,
device plugin, DCGM) load kernel modules and write host paths on GPU nodes, so they run
privileged by design. The operator creates them itself in its namespace; we only install
its chart. That namespace (``namespaces.gpuOperator`` of the stack) and that chart are the
whole allowlist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .k8s import chart_name, containers, is_release, namespace_of, pod_spec, walk
from .model import PolicyContext, Record

PRIVILEGED_CHARTS = frozenset({"gpu-operator"})
# Capabilities that amount to root on the node (or its network); ALL includes them.
FORBIDDEN_CAPABILITIES = frozenset({"SYS_ADMIN", "NET_ADMIN", "ALL"})


def _true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _capability(name: object) -> str:
    text = str(name).strip().upper()
    return text[4:] if text.startswith("CAP_") else text


def _added(caps: object) -> list[str]:
    add = caps.get("add") if isinstance(caps, Mapping) else None
    if not isinstance(add, Sequence) or isinstance(add, str):
        return []
    return sorted({_capability(c) for c in add} & FORBIDDEN_CAPABILITIES)


def container_problems(c: Mapping) -> list[str]:
    sc = c.get("securityContext") or {}
    out = []
    if _true(sc.get("privileged")):
        out.append("securityContext.privileged is true: remove it")
    if _true(sc.get("allowPrivilegeEscalation")):
        out.append("securityContext.allowPrivilegeEscalation is true: set it to false")
    added = _added(sc.get("capabilities"))
    if added:
        out.append(f"securityContext.capabilities.add has {', '.join(added)}: drop them (drop ALL, add only "
                   "what the process needs, e.g. NET_BIND_SERVICE)")
    return out


def no_privileged(record: Record, ctx: PolicyContext) -> list[str]:
    if is_release(record):
        if chart_name(record) in PRIVILEGED_CHARTS:
            return []
        out = []
        for path, key, value in walk(record.props.get("values") or {}):
            if key in ("privileged", "allowPrivilegeEscalation") and _true(value):
                out.append(f"values {path} is true: set it to false (only the GPU Operator's chart may run "
                           "privileged pods)")
            elif key == "capabilities":
                added = _added(value)
                if added:
                    out.append(f"values {path}.add has {', '.join(added)}: drop them")
        return out
    spec = pod_spec(record)
    if spec is None or namespace_of(record) == ctx.gpu_operator_namespace:
        return []
    return [f"{label}: {problem}" for label, c in containers(spec, ephemeral=True) for problem in container_problems(c)]
