"""Fixtures shared by the component tests."""

from __future__ import annotations

import json
from typing import Optional

import pytest

from infra.plan.runner import RunResult

_CACHE: dict[str, RunResult] = {}


@pytest.fixture
def eks(run):
    """``run`` with results kept per (stack, overrides): the stacks are deterministic."""
    def cached(stack: str, overrides: Optional[dict] = None) -> RunResult:
        key = json.dumps([stack, overrides], sort_keys=True)
        if key not in _CACHE:
            result = run(stack, overrides)
            assert result.error is None, result.error
            _CACHE[key] = result
        return _CACHE[key]
    return cached
