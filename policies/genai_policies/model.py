"""The neutral shapes every rule works on, whichever path feeds it.

``pulumi preview --policy-pack policies`` hands the rules pulumi_policy's argument objects;
``make plan`` hands them the recorded registrations. Both are turned into :class:`Record`
first, so a rule never knows which path it runs in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

# How both paths spell values they can't show: the offline mocks' markers, and what the
# pack's adapter turns pulumi_policy's unknown sentinels and secrets into.
SECRET = "[secret]"
UNKNOWN = "[unknown]"

PROJECT = "genai-platform"


@dataclass(frozen=True)
class Record:
    """One resource: its type token, logical name, URN, properties and ``protect`` option."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    parent: Optional[str] = None


@dataclass(frozen=True)
class Finding:
    """What a rule reports: the offending resource's URN and what to change."""

    urn: str
    message: str


@dataclass(frozen=True)
class PolicyContext:
    """The stack settings some rules depend on, read from the stack's own config.

    Both paths have it: the CLI passes the stack's config to the policy pack in
    ``PULUMI_CONFIG`` and the offline plan loads the same files. Defaults are the schema's.
    """

    stack_protected: bool = False
    gpu_operator_namespace: str = "gpu-operator"
    gateway_namespace: str = "genai-gateway"


def _config_value(values: Mapping[str, Any], key: str) -> Any:
    # The engine passes keys as ``project:key`` (what pulumi.Config reads too).
    return values.get(f"{PROJECT}:{key}")


def _structured(value: Any) -> dict:
    # Structured settings reach programs (and the pack) as JSON strings.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def context_from_config(values: Mapping[str, Any]) -> PolicyContext:
    """The policy context of a stack whose config (``project:key`` -> value) is ``values``."""
    protect = _config_value(values, "protect")
    namespaces = _structured(_config_value(values, "namespaces"))
    gateway = _structured(_config_value(values, "gateway"))
    defaults = PolicyContext()
    return PolicyContext(
        stack_protected=str(protect).strip().lower() == "true",
        gpu_operator_namespace=namespaces.get("gpuOperator") or defaults.gpu_operator_namespace,
        gateway_namespace=gateway.get("namespace") or defaults.gateway_namespace,
    )


ResourceCheck = Callable[[Record, PolicyContext], list[str]]
StackCheck = Callable[[list[Record], PolicyContext], list[Finding]]
Subjects = Callable[[Record, PolicyContext], bool]


@dataclass(frozen=True)
class PolicySpec:
    """A policy: its kebab-case name, what it asks for, and the pure function that checks it.

    A ``resource`` check returns messages about the one record it is given; a ``stack`` check
    returns findings naming the records they are about. ``subjects`` says which records the
    policy is about, for the pass/fail counts of a report.
    """

    name: str
    description: str
    scope: Literal["resource", "stack"]
    check: Union[ResourceCheck, StackCheck] = field(repr=False)
    subjects: Subjects = field(repr=False, default=lambda record, ctx: True)
