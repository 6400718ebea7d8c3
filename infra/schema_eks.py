"""Stack settings of the eks cluster target (`cluster.eks`)."""

from __future__ import annotations

from infra.schema_base import Section


class EksConfig(Section):
    region: str = ""
