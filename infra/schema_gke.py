"""Stack settings of the gke cluster target (`cluster.gke`)."""

from __future__ import annotations

from infra.schema_base import Section


class GkeConfig(Section):
    region: str = ""
