"""Stack settings of the aks cluster target (`cluster.aks`)."""

from __future__ import annotations

from infra.schema_base import Section


class AksConfig(Section):
    region: str = ""
