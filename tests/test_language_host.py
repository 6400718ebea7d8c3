"""The program runs the way the Pulumi language host runs it.

The host's ``pulumi-language-python-exec`` sets the config from ``PULUMI_CONFIG``, changes
into the program directory (``infra/``) and executes it with ``runpy.run_path``; the
repository root is not on ``sys.path``. This test replays that in a fresh interpreter whose
own script lives outside the repository, so nothing but the program's own path setup can
make ``components`` importable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infra.plan.runner import INFRA, load_stack_config

HOST = '''
import asyncio, json, os, runpy, sys
import pulumi
from pulumi.runtime import mocks

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return args.name + "-id", dict(args.inputs)
    def call(self, args):
        return {}

monitor = mocks.MockMonitor(Mocks())
pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
pulumi.runtime.settings.configure(mocks.MockSettings(
    monitor=monitor, monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
    engine=mocks.MockEngine(None), project="genai-platform", stack="local", dry_run=False,
    organization="o", callbacks=None))
assert not any(os.path.abspath(p or ".") == os.path.abspath(sys.argv[1]) for p in sys.path), "repo root leaked"
os.chdir(sys.argv[2])
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
try:
    loop.run_until_complete(pulumi.runtime.run_in_stack(lambda: runpy.run_path(".", run_name="__main__")))
except pulumi.RunError as e:
    print(str(e), file=sys.stderr)
    sys.exit(1)
types = sorted({urn.split("::")[2].split("$")[-1] for urn in monitor.resources})
print(json.dumps(types))
'''


def _host(tmp_path: Path, overrides=None) -> subprocess.CompletedProcess:
    cfg = load_stack_config("local", overrides=overrides)
    script = tmp_path / "exec_host.py"
    script.write_text(HOST)
    env = {**os.environ, "PULUMI_CONFIG": json.dumps(cfg.values), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(cfg.secret_keys)}
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, str(script), str(INFRA.parent), str(INFRA)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_program_runs_under_the_language_host(tmp_path):
    proc = _host(tmp_path)
    assert proc.returncode == 0, proc.stderr
    types = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "genai:cluster:ExistingCluster" in types
    assert "kubernetes:core/v1:Namespace" in types
    assert "pulumi:providers:kubernetes" in types


def test_config_error_under_the_language_host_is_clean(tmp_path):
    proc = _host(tmp_path, overrides={"gpuPool": []})
    assert proc.returncode == 1
    assert "genai-platform:gpuPool: unknown key; did you mean 'gpuPools'?" in proc.stderr
    assert "Traceback" not in proc.stderr
