"""Cross-field rules of the eks cluster target."""

from __future__ import annotations

from infra.schema import PlatformConfig

Problem = tuple[str, str]


def eks_problems(cfg: PlatformConfig) -> list[Problem]:
    """Problems in `cluster.eks` and in the GPU pools as the eks target sees them."""
    return []
