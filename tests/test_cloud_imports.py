"""A stack loads only its own cloud's SDK: the others are large and slow to import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.plan.runner import available_stacks

ROOT = Path(__file__).resolve().parents[1]
SDK_OF_TARGET = {"existing": None, "eks": "pulumi_aws", "gke": "pulumi_gcp", "aks": "pulumi_azure_native"}


def probe(stack: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "infra.plan.probe", "--stack", stack], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("stack", available_stacks())
def test_stack_imports_only_its_own_cloud_sdk(stack):
    result = probe(stack)
    assert result["errors"] == 0
    own = SDK_OF_TARGET[result["target"]]
    assert result["cloud_sdks"] == ([own] if own else [])


def test_importing_the_program_modules_loads_no_cloud_sdk():
    code = ("import sys, infra.program, infra.config, infra.checks, infra.plan.render; "
            "print([m for m in ('pulumi_aws', 'pulumi_gcp', 'pulumi_azure_native') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
