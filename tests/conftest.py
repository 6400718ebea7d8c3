"""Shared fixtures: the same recording mocks and runner the offline plan uses."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from stack_overrides import isolate_pools

from infra.plan.runner import RunResult, load_stack_config, run_program


def run_stack(stack: str = "local", overrides: Optional[dict[str, Any]] = None,
              secrets: Optional[dict[str, str]] = None) -> RunResult:
    """Run the program for a stack file, with keys replaced by ``overrides`` (un-namespaced
    keys get the project namespace; replacing ``gpuPools`` drops the stack's models, see
    ``isolate_pools``) and secret values from ``secrets``."""
    return run_program(load_stack_config(stack, overrides=isolate_pools(overrides, stack), secrets=secrets))


@pytest.fixture
def run():
    return run_stack
