"""The platform's alert rules as PrometheusRule objects, one per topic.

Topics: storage (always), GPU, models, databases, gateway (each when its layer exists),
certificates (cert-manager installed), backups (Velero installed) and logs (Loki installed).
The rules themselves live in the ``alerts_rules_*`` modules; every rule carries a severity,
a summary, a templated description and a runbook. Prometheus selects every PrometheusRule in
the cluster, so the objects need no special labels.
"""

from __future__ import annotations

from components.common.labels import standard_labels
from components.ops.alerts_rules_base import Alert, AlertThresholds, RuleSettings, Topic
from components.ops.alerts_rules_gpu import gpu_topic
from components.ops.alerts_rules_models import models_topic
from components.ops.alerts_rules_platform import certificates_topic, database_topic, storage_topic
from components.ops.alerts_rules_services import backups_topic, gateway_topic, logs_topic

__all__ = ["Alert", "AlertThresholds", "RuleSettings", "Topic", "topics", "rule_groups", "prometheus_rules"]

API_VERSION = "monitoring.coreos.com/v1"
RULE_PREFIX = "genai-platform"


def topics(s: RuleSettings) -> list[Topic]:
    """Every topic the settings call for, in a stable order."""
    out = [storage_topic(s)]
    if s.gpu_operator_namespace:
        out.append(gpu_topic(s))
    if s.models_namespace:
        out.append(models_topic(s))
    if s.data_namespace:
        out.append(database_topic(s))
    if s.gateway_namespace:
        out.append(gateway_topic(s))
    if s.cert_manager:
        out.append(certificates_topic(s))
    if s.backups:
        out.append(backups_topic(s))
    if s.logs:
        out.append(logs_topic(s))
    return out


def rule_groups(s: RuleSettings) -> list[dict]:
    """The Prometheus rule groups (``{"name", "rules"}``), one per topic."""
    return [t.group() for t in topics(s)]


def prometheus_rules(s: RuleSettings, namespace: str, instance: str = RULE_PREFIX) -> list[dict]:
    """One PrometheusRule per topic, in the monitoring ``namespace``."""
    return [{
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": {"name": f"{RULE_PREFIX}-{t.name}", "namespace": namespace,
                     "labels": standard_labels("alert-rules", instance, "alerting")},
        "spec": {"groups": [t.group()]},
    } for t in topics(s)]
