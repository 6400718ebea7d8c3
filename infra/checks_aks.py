"""Cross-field rules of the aks cluster target."""

from __future__ import annotations

from infra.schema import PlatformConfig

Problem = tuple[str, str]


def aks_problems(cfg: PlatformConfig) -> list[Problem]:
    """Problems in `cluster.aks` and in the GPU pools as the aks target sees them."""
    return []
