"""Helpers shared by the EKS tests: stack files, overrides and cached runs."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from infra.plan.mocks import Registration
from infra.plan.runner import ROOT, RunResult

NS = "genai-platform"


def stack_config(stack: str) -> dict:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def cluster_with(stack: str, **eks: Any) -> dict:
    """The stack's ``cluster`` setting with keys of ``cluster.eks`` replaced (None removes one)."""
    cluster = copy.deepcopy(stack_config(stack)[f"{NS}:cluster"])
    for key, value in eks.items():
        if value is None:
            cluster["eks"].pop(key, None)
        else:
            cluster["eks"][key] = value
    return cluster


def pools_of(stack: str) -> list[dict]:
    return copy.deepcopy(stack_config(stack)[f"{NS}:gpuPools"])



def of_type(result: RunResult, type_token: str) -> list[Registration]:
    return [r for r in result.monitor.registrations if r.type == type_token]


def one(result: RunResult, type_token: str, name: str) -> Registration:
    (found,) = [r for r in of_type(result, type_token) if r.name == name]
    return found
