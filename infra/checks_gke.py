"""Cross-field rules of the gke cluster target."""

from __future__ import annotations

from infra.schema import PlatformConfig

Problem = tuple[str, str]


def gke_problems(cfg: PlatformConfig) -> list[Problem]:
    """Problems in `cluster.gke` and in the GPU pools as the gke target sees them."""
    return []
