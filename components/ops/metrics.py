"""Every metric name the platform's dashboards and alert rules may use, per exporter.

The names are the ones the pinned exporters really emit (each catalog module cites its source
and version); tests refuse any expression that names something else.
"""

from __future__ import annotations

from components.ops.metrics_catalog import SERVING_METRICS
from components.ops.metrics_catalog_platform import PLATFORM_METRICS


def known_metrics() -> frozenset[str]:
    """Union of every exporter's metric names (Prometheus' ``_bucket``/``_sum``/``_count`` included)."""
    out: set[str] = set()
    for catalog in (SERVING_METRICS, PLATFORM_METRICS):
        for names in catalog.values():
            out |= set(names)
    return frozenset(out)
