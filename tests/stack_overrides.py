"""How tests replace a stack's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml

STACKS = Path(__file__).resolve().parents[1] / "stacks"


def isolate_pools(overrides: Optional[dict[str, Any]], stack: Optional[str] = None) -> Optional[dict[str, Any]]:
    """Overrides that change the GPU pools, minus the stack's models.

    A stack's models name its pools and are sized for them; a test about a pool problem
    replaces the pools and would otherwise also get the models' (correct) complaints, and
    the tenants' (whose apps need a generate model).
    """
    if overrides and "gpuPools" in overrides and "models" not in overrides:
        return without_load_test({**overrides, "models": [], **({} if "tenants" in overrides else {"tenants": []})},
                                  stack)
    if overrides and ("databases" in overrides or "models" in overrides) and "tenants" not in overrides:
        # The stack's tenants need its PostgreSQL and its models; a test that replaces either
        # is about that layer, not the tenants'.
        return without_load_test({**overrides, "tenants": []}, stack)
    if overrides and (overrides.get("tenants") == [] or overrides.get("models") == []):
        return without_load_test(overrides, stack)
    return overrides


def without_load_test(overrides: dict[str, Any], stack: Optional[str]) -> dict[str, Any]:
    """The stack's load test names a tenant and needs a chat model; without them, the stack's
    observability section without its load test."""
    if "observability" in overrides or stack is None:
        return overrides
    config = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text()).get("config") or {}
    observability = config.get("genai-platform:observability")
    if not observability or "loadTest" not in observability:
        return overrides
    return {**overrides, "observability": {k: v for k, v in observability.items() if k != "loadTest"}}
