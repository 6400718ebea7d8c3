"""Reading Kubernetes objects and Helm releases out of records: kinds, pod templates, values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Optional

from .model import Record

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Core and batch/apps groups the workload kinds above belong to.
_WORKLOAD_GROUPS = {"", "core", "apps", "batch"}


def api_kind(record: Record) -> Optional[tuple[str, str]]:
    """``(group, kind)`` of a Kubernetes object, from its type token; None for anything else.

    ``kubernetes:apps/v1:Deployment`` -> ``("apps", "Deployment")``; the core group is ``""``.
    """
    parts = record.type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or record.type == HELM_RELEASE:
        return None
    group = parts[1].rsplit("/", 1)[0] if "/" in parts[1] else ""
    return ("" if group == "core" else group), parts[2]


def is_kind(record: Record, kind: str, group: str = "") -> bool:
    return api_kind(record) == (group, kind)


def is_release(record: Record) -> bool:
    return record.type == HELM_RELEASE


def get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def name_of(record: Record) -> str:
    if is_release(record):
        return str(record.props.get("name") or record.name)
    return str(get(record.props, "metadata", "name") or record.name)


def namespace_of(record: Record) -> Optional[str]:
    if is_release(record):
        return record.props.get("namespace")
    return get(record.props, "metadata", "namespace")


def describe(record: Record) -> str:
    """A short, readable name for messages: ``Deployment genai-models/vllm``."""
    ns = namespace_of(record)
    where = f"{ns}/{name_of(record)}" if ns else name_of(record)
    if is_release(record):
        return f"helm release {where}"
    kind = api_kind(record)
    if kind is not None:
        return f"{kind[1]} {where}"
    return f"{record.type} {record.name}"


def chart_name(record: Record) -> str:
    """The chart's own name: ``oci://docker.io/envoyproxy/gateway-helm`` -> ``gateway-helm``."""
    return str(record.props.get("chart") or "").rstrip("/").rsplit("/", 1)[-1]


def pod_spec(record: Record) -> Optional[Mapping]:
    """The pod spec of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)."""
    kind = api_kind(record)
    if kind is None or kind[0] not in _WORKLOAD_GROUPS or kind[1] not in POD_SPEC_PATHS:
        return None
    spec = get(record.props, *POD_SPEC_PATHS[kind[1]])
    return spec if isinstance(spec, Mapping) else None


def pod_labels(record: Record) -> Mapping:
    kind = api_kind(record)
    if kind is None or kind[1] not in POD_SPEC_PATHS:
        return {}
    path = ("metadata", "labels") if kind[1] == "Pod" else POD_SPEC_PATHS[kind[1]][:-1] + ("metadata", "labels")
    labels = get(record.props, *path)
    return labels if isinstance(labels, Mapping) else {}


def containers(spec: Mapping, ephemeral: bool = False) -> Iterator[tuple[str, Mapping]]:
    """``(label, container)`` for every container and init container (and ephemeral ones if asked)."""
    fields = ["initContainers", "containers"] + (["ephemeralContainers"] if ephemeral else [])
    for field in fields:
        items = spec.get(field)
        if not isinstance(items, Sequence) or isinstance(items, str):
            continue
        for index, c in enumerate(items):
            if isinstance(c, Mapping):
                label = "init container" if field == "initContainers" else (
                    "ephemeral container" if field == "ephemeralContainers" else "container")
                yield f"{label} {c.get('name') or index}", c


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """``(path, key, value)`` for every key of every mapping nested in ``value``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key), item
            yield from walk(item, here)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def mappings(value: Any, path: str = "") -> Iterator[tuple[str, Mapping]]:
    """``(path, mapping)`` for ``value`` and every mapping nested in it."""
    if isinstance(value, Mapping):
        yield path, value
        for key, item in value.items():
            yield from mappings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for index, item in enumerate(value):
            yield from mappings(item, f"{path}[{index}]")


def selector_matches(selector: Any, labels: Mapping) -> bool:
    """Whether a LabelSelector selects pods labelled ``labels`` (an empty selector selects all)."""
    if not isinstance(selector, Mapping):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
