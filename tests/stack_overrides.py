"""How tests replace a stack's settings."""

from __future__ import annotations

from typing import Any, Optional


def isolate_pools(overrides: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """Overrides that change the GPU pools, minus the stack's models.

    A stack's models name its pools and are sized for them; a test about a pool problem
    replaces the pools and would otherwise also get the models' (correct) complaints, and
    the tenants' (whose apps need a generate model).
    """
    if overrides and "gpuPools" in overrides and "models" not in overrides:
        return {**overrides, "models": [], **({} if "tenants" in overrides else {"tenants": []})}
    if overrides and ("databases" in overrides or "models" in overrides) and "tenants" not in overrides:
        # The stack's tenants need its PostgreSQL and its models; a test that replaces either
        # is about that layer, not the tenants'.
        return {**overrides, "tenants": []}
    return overrides
