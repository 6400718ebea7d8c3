"""Shared fixtures: the same recording mocks and runner the offline plan uses."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from infra.plan.runner import RunResult, load_stack_config, run_program


def run_stack(stack: str = "local", overrides: Optional[dict[str, Any]] = None,
              secrets: Optional[dict[str, str]] = None) -> RunResult:
    """Run the program for a stack file, with keys replaced by ``overrides`` (un-namespaced
    keys get the project namespace) and secret values from ``secrets``."""
    return run_program(load_stack_config(stack, overrides=isolate_pools(overrides), secrets=secrets))


def isolate_pools(overrides: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """Overrides that change the GPU pools, minus the stack's models.

    A stack's models name its pools and are sized for them; a test about a pool problem
    replaces the pools and would otherwise also get the models' (correct) complaints.
    """
    if overrides and "gpuPools" in overrides and "models" not in overrides:
        return {**overrides, "models": []}
    return overrides


@pytest.fixture
def run():
    return run_stack
