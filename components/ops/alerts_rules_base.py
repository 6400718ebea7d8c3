"""What every alert rule is made of, and the small helpers the topic modules share.

An ``Alert`` renders to one Prometheus alerting rule: a ``severity`` label (critical pages,
warning goes to a ticket queue, info only annotates) and three annotations — ``summary`` (one
line), ``description`` (with ``{{ $labels.x }}`` / ``{{ $value }}`` templating) and
``runbook``: what the alert means, how to look (kubectl commands and PromQL with the
platform's real namespaces and labels) and how to fix it.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Optional

from components.ops.contracts import MODEL_METRIC_LABEL

Severity = Literal["critical", "warning", "info"]

# Model servers' series carry the model as this label (ServiceMonitor targetLabels).
MODEL = MODEL_METRIC_LABEL

# Prometheus' duration syntax as the PrometheusRule CRD accepts it for ``for``.
DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")


@dataclass(frozen=True)
class AlertThresholds:
    """The thresholds a stack may set (``observability`` section); the rest are fixed in the rules."""

    ttft_p95_seconds: float = 2.0
    gateway_5xx_ratio: float = 0.05
    pvc_full_ratio: float = 0.85


@dataclass(frozen=True)
class RuleSettings:
    """Which topics get rules and where their workloads run (None: that layer is absent)."""

    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    gpu_operator_namespace: Optional[str] = None
    models_namespace: Optional[str] = None
    data_namespace: Optional[str] = None
    # The Gateways' namespace; their Envoy pods run in Envoy Gateway's controller namespace.
    gateway_namespace: Optional[str] = None
    gateway_proxy_namespace: str = "envoy-gateway-system"
    cert_manager: bool = False
    backups: bool = False
    backups_namespace: str = "velero"
    # Velero Schedule name -> its five-field cron; each gets a "no recent backup" rule.
    backup_schedules: Mapping[str, str] = field(default_factory=dict)
    logs: bool = False
    log_collector: bool = True
    # Where Loki and the collector run (the monitoring namespace).
    monitoring_namespace: str = "monitoring"


def paragraph(text: str, width: int = 100) -> str:
    """Source text re-flowed: the rules' prose is written indented inside Python."""
    return textwrap.fill(" ".join(text.split()), width)


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: Severity
    summary: str
    description: str
    # The runbook: what firing means, commands to look with (kubectl / PromQL), how to fix.
    meaning: str
    checks: tuple[str, ...]
    fix: str

    @property
    def runbook(self) -> str:
        checks = "".join(f"  {c}\n" for c in self.checks)
        return f"{paragraph('Meaning: ' + self.meaning)}\nCheck:\n{checks}{paragraph('Fix: ' + self.fix)}\n"

    def rule(self) -> dict:
        if not DURATION.match(self.for_):
            raise ValueError(f"{self.name}: 'for' {self.for_!r} is not a Prometheus duration")
        return {
            "alert": self.name,
            "expr": textwrap.dedent(self.expr).strip(),
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {"summary": self.summary, "description": self.description, "runbook": self.runbook},
        }


@dataclass(frozen=True)
class Topic:
    """One PrometheusRule: a rule group of alerts about one part of the platform."""

    name: str             # "gpu", "models", ...
    alerts: tuple[Alert, ...]

    def group(self) -> dict:
        return {"name": f"genai-platform.{self.name}", "rules": [a.rule() for a in self.alerts]}


def num(x: float) -> str:
    """A threshold as PromQL reads it: ``2`` not ``2.0``, ``0.05`` not ``5e-02``."""
    return f"{x:.6f}".rstrip("0").rstrip(".")


def sel(metric: str, *matchers: str) -> str:
    """``metric{matchers}``, merging with matchers ``metric`` already carries."""
    if not matchers:
        return metric
    extra = ", ".join(matchers)
    if metric.endswith("}"):
        return f"{metric[:-1]}, {extra}}}"
    return f"{metric}{{{extra}}}"


def ns(namespace: str) -> str:
    return f'namespace="{namespace}"'
