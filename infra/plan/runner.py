"""Runs the program exactly as the Pulumi language host does, under recording mocks.

Like the host's ``pulumi-language-python-exec``: the stack's config goes into
``PULUMI_CONFIG``/``PULUMI_CONFIG_SECRET_KEYS`` and ``set_all_config``, the working directory
becomes ``infra/``, and ``infra/`` is executed with ``runpy.run_path`` inside
``run_in_stack``. Each run happens in a fresh ``contextvars.Context`` so runs don't share
Pulumi's global state.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import configure

from infra.plan.mocks import PlatformMocks, RecordingMonitor

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
STACKS = ROOT / "stacks"


# Secrets whose value has a structure the program checks get a well-formed stand-in.
PLACEHOLDERS = {
    "genai-platform:alertmanagerReceivers": (
        "receivers:\n"
        "  - name: platform-oncall\n"
        "    webhook_configs:\n"
        "      - url: https://alerts.example.com/plan-placeholder\n"
        "route:\n"
        "  receiver: platform-oncall\n"
    ),
}


class StackFileError(Exception):
    """The stack file itself can't be read (missing, not YAML, no such stack)."""


@dataclass
class StackConfig:
    project: str
    stack: str
    values: dict[str, str]
    secret_keys: list[str]
    disabled_default_providers: tuple[str, ...] = ()


@dataclass
class RunResult:
    monitor: RecordingMonitor
    error: Optional[str] = None
    log: list[str] = field(default_factory=list)


def _as_config_string(value: Any) -> str:
    # The engine hands every value to the program as a string; structured ones as JSON.
    return value if isinstance(value, str) else json.dumps(value)


def _namespaced(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def available_stacks(stacks_dir: Path = STACKS) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, root: Path = ROOT, secrets: Optional[dict[str, str]] = None,
                      overrides: Optional[dict[str, Any]] = None) -> StackConfig:
    """Project defaults from Pulumi.yaml merged with stacks/Pulumi.<stack>.yaml.

    Secure values can't be decrypted offline; each gets a placeholder (or the value given in
    ``secrets``) and stays marked secret. ``overrides`` replace keys, for tests.
    """
    project_file = yaml.safe_load((root / "Pulumi.yaml").read_text())
    project = project_file["name"]
    path = root / project_file.get("stackConfigDir", ".") / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise StackFileError(f"no stack file {path.relative_to(root)}; stacks: {', '.join(available_stacks(path.parent))}")
    try:
        stack_file = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name} is not valid YAML: {exc}") from exc
    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, spec in (project_file.get("config") or {}).items():
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            values[_namespaced(project, key)] = spec.get("value", spec.get("default"))
        elif not isinstance(spec, dict):
            values[_namespaced(project, key)] = spec
    for key, value in (stack_file.get("config") or {}).items():
        full = _namespaced(project, key)
        if isinstance(value, dict) and set(value) == {"secure"}:
            given = {_namespaced(project, k): v for k, v in (secrets or {}).items()}
            value = given.get(full, PLACEHOLDERS.get(full, f"plan-placeholder-for-{full}"))
            secret_keys.append(full)
        values[full] = value
    for key, value in (overrides or {}).items():
        values[_namespaced(project, key)] = value
    for key, value in (secrets or {}).items():
        full = _namespaced(project, key)
        values[full] = value
        if full not in secret_keys:
            secret_keys.append(full)
    disabled = values.get("pulumi:disable-default-providers") or ()
    return StackConfig(
        project=project, stack=stack,
        values={k: _as_config_string(v) for k, v in values.items()},
        secret_keys=sorted(secret_keys),
        disabled_default_providers=tuple(disabled),
    )


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _run(cfg: StackConfig, program_dir: Path, result: RunResult) -> None:
    logger = logging.getLogger(f"genai.plan.{id(result)}")
    logger.propagate = False
    logger.addHandler(_ListHandler(result.log))
    monitor = result.monitor
    configure(pulumi_mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=pulumi_mocks.MockEngine(logger),
        project=cfg.project, stack=cfg.stack, dry_run=False, organization="organization", callbacks=None,
        root_directory=str(program_dir.parent),
    ))
    pulumi.runtime.set_all_config(cfg.values, cfg.secret_keys)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(
            lambda: runpy.run_path(str(program_dir), run_name="__main__")))
    except pulumi.RunError as exc:
        result.error = str(exc)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def run_program(cfg: StackConfig, program_dir: Path = INFRA,
                mocks: Optional[pulumi.runtime.Mocks] = None) -> RunResult:
    """Run the program for ``cfg``; a config error lands in ``result.error``, not a traceback."""
    monitor = RecordingMonitor(mocks or PlatformMocks(), cfg.disabled_default_providers)
    result = RunResult(monitor=monitor)
    env = {"PULUMI_CONFIG": json.dumps(cfg.values), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(cfg.secret_keys)}
    saved_env = {k: os.environ.get(k) for k in env}
    cwd = os.getcwd()
    os.environ.update(env)
    os.chdir(program_dir)
    try:
        contextvars.Context().run(_run, cfg, program_dir, result)
    finally:
        os.chdir(cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return result


__all__ = ["StackConfig", "RunResult", "StackFileError", "load_stack_config", "run_program",
           "available_stacks"]
