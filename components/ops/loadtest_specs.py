"""Pure builders for the load test: inference-perf's config per model, the launcher that runs
the models in turn, the Job (or CronJob), the report claim, the credentials Secret and the
load generator's NetworkPolicy.

inference-perf (kubernetes-sigs/inference-perf v0.6.1; its release workflow publishes
``quay.io/inference-perf/inference-perf:<tag>``) sends requests to ``server.base_url`` plus
``/v1/completions``, so the config gets the gateway's root URL, not its ``/v1`` base URL.
What the config uses, at that tag:

- ``data.type: synthetic``: prompts cut to exact token lengths from the image's bundled corpus,
  with normal input/output length distributions, so no dataset is downloaded. The length-
  controlled generators (synthetic, random) only produce completion requests, hence
  ``api.type: completion``, streamed to measure time to first token and inter-token latency.
- ``server.ignore_eos``: every answer runs to its drawn output length.
- ``tokenizer``: the model's Hugging Face repo, fetched at start (``HF_TOKEN`` for gated ones).
- A fixed ``load.base_seed``, so every run sends the same prompts and runs compare.
- The tenant key only on the command line (``--server.api_key``). inference-perf logs its whole
  config and copies it into the report's ``config.yaml``; the launcher masks the key in both.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import yaml

from components.common.labels import standard_labels
from components.common.security import Resources, secure_pod_spec
from components.platform.network_policies import DNS_PORTS, network_policy, tcp

INFERENCE_PERF_VERSION = "v0.6.1"
INFERENCE_PERF_IMAGE = f"quay.io/inference-perf/inference-perf:{INFERENCE_PERF_VERSION}"

NAME = "load-test"
APP = "inference-perf"
COMPONENT = "load-test"
CONTAINER = "inference-perf"
CREDENTIALS_SECRET = f"{NAME}-credentials"
REPORT_CLAIM = f"{NAME}-reports"
POLICY = "allow-load-test-egress"
TENANT_ANNOTATION = "genai-platform.io/load-test-tenant"
API_KEY_ENV = "OPENAI_API_KEY"                # the tenancy contract's name for a gateway key
HF_TOKEN_ENV = "HF_TOKEN"                     # read by huggingface_hub when the tokenizer is fetched
CONFIG_DIR = "/etc/inference-perf"
REPORT_DIR = "/reports"
TMP_DIR = "/tmp"
TMP_SIZE = "2Gi"                              # tokenizer downloads and Python's temp files
LAUNCHER = "run.py"
HUGGING_FACE_PORT = 443

RESOURCES = Resources(cpu_request="1", memory_request="1Gi", cpu_limit="2", memory_limit="2Gi")
# inference-perf starts one worker process per CPU of the node unless told otherwise.
NUM_WORKERS = 2
WORKER_MAX_CONCURRENCY = 256
BASE_SEED = 20260101
PERCENTILES = [50, 90, 95, 99]
# Per model: tokenizer download, prompt preparation, requests still in flight after the last
# stage (the gateway gives each up to five minutes) and the report.
MODEL_OVERHEAD_SECONDS = 900
STARTING_DEADLINE_SECONDS = 600
HISTORY = 3

# Lengths in tokens, kept below the model's context: input + output + special tokens.
INPUT_MAX, OUTPUT_MAX = 1024, 256
SPECIAL_TOKENS_MARGIN = 16
MIN_MODEL_LEN = 64


@dataclass(frozen=True)
class LoadTestModel:
    name: str                  # model name clients send
    tokenizer: str             # Hugging Face repo id for the tokenizer (the model's source repo)
    max_model_len: int         # bound the random input+output lengths


@dataclass(frozen=True)
class LoadTestSettings:
    image: str = INFERENCE_PERF_IMAGE
    rates: tuple[float, ...] = (1.0, 2.0, 4.0)
    stage_seconds: int = 60
    schedule: Optional[str] = None
    report_storage_gib: int = 1


def check(models: Sequence[LoadTestModel], base_url: str, settings: LoadTestSettings) -> None:
    """Raises ValueError naming every problem, before anything is rendered."""
    problems = []
    if not models:
        problems.append("no models to load-test")
    names = [m.name for m in models]
    if len(set(names)) != len(names) or len({model_slug(n) for n in names}) != len(names):
        problems.append(f"model names must be distinct (also as directory names): {names}")
    problems += [f"model {m.name!r}: max_model_len {m.max_model_len} is below {MIN_MODEL_LEN}"
                 for m in models if m.max_model_len < MIN_MODEL_LEN]
    if not base_url.rstrip("/").endswith("/v1"):
        problems.append(f"base_url {base_url!r} is not an OpenAI base URL ending in /v1")
    if not settings.rates or any(r <= 0 for r in settings.rates):
        problems.append(f"rates must be positive requests per second: {list(settings.rates)}")
    if settings.stage_seconds < 1:
        problems.append(f"stage_seconds must be positive: {settings.stage_seconds}")
    if not pinned(settings.image):
        problems.append(f"image {settings.image!r} must carry a pinned tag")
    if problems:
        raise ValueError("; ".join(problems))


def pinned(image: str) -> bool:
    """A digest, or a tag other than ``latest``."""
    name = image.rpartition("/")[2]
    return "@" in name or (":" in name and name.rpartition(":")[2] not in ("", "latest"))


def model_slug(name: str) -> str:
    """The model's name as one path segment and ConfigMap key (``org/model`` -> ``org_model``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def server_url(base_url: str) -> str:
    """The gateway's root: inference-perf appends ``/v1/...`` itself."""
    return base_url.rstrip("/").removesuffix("/v1")


def _distribution(maximum: int, minimum: int) -> dict:
    return {"type": "normal", "min": max(1, min(minimum, maximum // 4)), "max": maximum,
            "mean": maximum // 2, "std_dev": max(1, maximum // 8)}


def length_distributions(max_model_len: int) -> tuple[dict, dict]:
    """Input and output length distributions whose maxima fit the model's context together."""
    budget = max_model_len - SPECIAL_TOKENS_MARGIN
    scale = min(1.0, budget / (INPUT_MAX + OUTPUT_MAX))
    out_max = max(1, int(OUTPUT_MAX * scale))
    in_max = min(INPUT_MAX, budget - out_max)
    return _distribution(in_max, 32), _distribution(out_max, 16)


def inference_perf_config(model: LoadTestModel, base_url: str, settings: LoadTestSettings) -> dict:
    inputs, outputs = length_distributions(model.max_model_len)
    return {
        "load": {
            "type": "constant",
            "stages": [{"rate": rate, "duration": settings.stage_seconds} for rate in settings.rates],
            "num_workers": NUM_WORKERS,
            "worker_max_concurrency": WORKER_MAX_CONCURRENCY,
            "base_seed": BASE_SEED,
        },
        "api": {"type": "completion", "streaming": True},
        "server": {"type": "vllm", "model_name": model.name, "base_url": server_url(base_url), "ignore_eos": True},
        "tokenizer": {"pretrained_model_name_or_path": model.tokenizer},
        "data": {"type": "synthetic", "input_distribution": inputs, "output_distribution": outputs},
        "report": {
            "request_lifecycle": {"summary": True, "per_stage": True, "per_request": False,
                                  "percentiles": PERCENTILES},
            # No Prometheus client is configured: the gateway's and engines' dashboards cover it.
            "prometheus": {"summary": False, "per_stage": False},
        },
        # The launcher gives each run its own directory under here.
        "storage": {"local_storage": {"path": REPORT_DIR}},
    }


LAUNCHER_SOURCE = '''\
"""Runs inference-perf once per model named on the command line, in that order.

Reports go to $LOADTEST_REPORT_DIR/<run start, UTC>/<model>/, with status.json beside them.
The tenant key reaches inference-perf only on its command line and is masked in everything
the run prints and in the report files. Exits non-zero when any model's run failed.
"""
import datetime
import json
import os
import pathlib
import subprocess
import sys

MASK = "[redacted]"
SECRETS = [v for v in (os.environ.get("OPENAI_API_KEY"), os.environ.get("HF_TOKEN")) if v]


def masked(text):
    for value in SECRETS:
        text = text.replace(value, MASK)
    return text


def run(model, out):
    cmd = [os.environ.get("INFERENCE_PERF", "inference-perf"),
           "--config_file", os.path.join(os.environ["LOADTEST_CONFIG_DIR"], model + ".yaml"),
           "--storage.local_storage.path", str(out)]
    if os.environ.get("OPENAI_API_KEY"):
        cmd += ["--server.api_key", os.environ["OPENAI_API_KEY"]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    for line in proc.stdout:
        sys.stdout.write(masked(line))
        sys.stdout.flush()
    code = proc.wait()
    for path in sorted(out.rglob("*")):
        if path.is_file():
            path.write_text(masked(path.read_text(errors="replace")))
    return code


def main(models):
    started = datetime.datetime.now(datetime.timezone.utc)
    run_dir = pathlib.Path(os.environ["LOADTEST_REPORT_DIR"]) / started.strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for model in models:
        out = run_dir / model
        out.mkdir(parents=True, exist_ok=True)
        print(f"=== load test of {model}: report in {out}", flush=True)
        results[model] = run(model, out)
        print(f"=== load test of {model}: exit code {results[model]}", flush=True)
    finished = datetime.datetime.now(datetime.timezone.utc)
    (run_dir / "status.json").write_text(json.dumps(
        {"started": started.isoformat(), "finished": finished.isoformat(), "exitCodes": results}, indent=2) + "\\n")
    failed = sorted(m for m, code in results.items() if code != 0)
    print(f"=== load test finished: {len(models) - len(failed)} of {len(models)} models passed"
          + (f", failed: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def config_data(models: Sequence[LoadTestModel], base_url: str, settings: LoadTestSettings) -> dict[str, str]:
    """The ConfigMap's files: ``<model>.yaml`` per model and the launcher."""
    data = {f"{model_slug(m.name)}.yaml": yaml.safe_dump(inference_perf_config(m, base_url, settings), sort_keys=False)
            for m in models}
    data[LAUNCHER] = LAUNCHER_SOURCE
    return data


def config_hash(models: Sequence[LoadTestModel], base_url: str, settings: LoadTestSettings, tenant: str) -> str:
    """Eight hex digits of what a run measures: the configs, their order, the image, the tenant."""
    basis = {"data": config_data(models, base_url, settings), "order": [m.name for m in models],
             "image": settings.image, "tenant": tenant}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:8]


def run_name(models: Sequence[LoadTestModel], base_url: str, settings: LoadTestSettings, tenant: str) -> str:
    return f"{NAME}-{config_hash(models, base_url, settings, tenant)}"


def pod_labels() -> dict[str, str]:
    return standard_labels(APP, NAME, COMPONENT)


def labels(name: str) -> dict[str, str]:
    return standard_labels(name, NAME, COMPONENT)


def deadline_seconds(model_count: int, settings: LoadTestSettings) -> int:
    return model_count * (len(settings.rates) * settings.stage_seconds + MODEL_OVERHEAD_SECONDS)


def config_map(namespace: str, name: str, models: Sequence[LoadTestModel], base_url: str,
               settings: LoadTestSettings) -> dict:
    """Named after the run's hash and immutable: a pod always reads the config it started with."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(name)},
            "data": config_data(models, base_url, settings), "immutable": True}


def credentials_secret(namespace: str, api_key: Any, hf_token: Any = None) -> dict:
    data = {API_KEY_ENV: api_key, **({HF_TOKEN_ENV: hf_token} if hf_token is not None else {})}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": CREDENTIALS_SECRET, "namespace": namespace, "labels": labels(CREDENTIALS_SECRET)},
            "stringData": data}


def report_claim(namespace: str, storage_class: str, size_gib: int) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": REPORT_CLAIM, "namespace": namespace, "labels": labels(REPORT_CLAIM),
                         # WaitForFirstConsumer classes bind only when the first run mounts it.
                         "annotations": {"pulumi.com/skipAwait": "true"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": f"{size_gib}Gi"}}}}


def _secret_env(name: str, optional: bool = False) -> dict:
    ref: dict = {"name": CREDENTIALS_SECRET, "key": name}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def pod_spec(models: Sequence[LoadTestModel], settings: LoadTestSettings, config_name: str, hf_token: bool,
             affinity: Optional[dict] = None) -> dict:
    env = [_secret_env(API_KEY_ENV), *([_secret_env(HF_TOKEN_ENV)] if hf_token else []),
           {"name": "LOADTEST_CONFIG_DIR", "value": CONFIG_DIR},
           {"name": "LOADTEST_REPORT_DIR", "value": REPORT_DIR},
           # The image runs as whoever starts it; with a read-only root only /tmp is writable.
           {"name": "HOME", "value": TMP_DIR},
           {"name": "TMPDIR", "value": TMP_DIR},
           {"name": "HF_HOME", "value": f"{TMP_DIR}/huggingface"},
           {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
           {"name": "PYTHONUNBUFFERED", "value": "1"}]
    container = {
        "name": CONTAINER,
        "image": settings.image,
        "command": ["python", f"{CONFIG_DIR}/{LAUNCHER}"],
        "args": [model_slug(m.name) for m in models],
        "env": env,
        "resources": RESOURCES.to_k8s(),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "reports", "mountPath": REPORT_DIR},
                         {"name": "tmp", "mountPath": TMP_DIR}],
    }
    extra: dict = {}
    if affinity is not None:
        extra["affinity"] = affinity
    return secure_pod_spec(
        [container], restartPolicy="Never", enableServiceLinks=False,
        volumes=[{"name": "config", "configMap": {"name": config_name}},
                 {"name": "reports", "persistentVolumeClaim": {"claimName": REPORT_CLAIM}},
                 {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}],
        **extra)


def job_spec(models: Sequence[LoadTestModel], settings: LoadTestSettings, config_name: str, hf_token: bool,
             affinity: Optional[dict] = None) -> dict:
    """No retry of a finished run (a failure is a finding, and a retry doubles the load), except
    when the pod was evicted or preempted, which is no verdict on the gateway."""
    return {
        "backoffLimit": 0,
        "podFailurePolicy": {"rules": [{"action": "Ignore",
                                        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]},
        "activeDeadlineSeconds": deadline_seconds(len(models), settings),
        "template": {"metadata": {"labels": pod_labels()},
                     "spec": pod_spec(models, settings, config_name, hf_token, affinity)},
    }


def job(namespace: str, name: str, tenant: str, spec: dict) -> dict:
    """Kept after it finishes (no TTL): a Job the cluster deleted would run again at the next
    ``pulumi up --refresh``. ``pulumi up`` doesn't wait for it to finish."""
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(name),
                         "annotations": {"pulumi.com/skipAwait": "true", TENANT_ANNOTATION: tenant}},
            "spec": spec}


def cronjob(namespace: str, tenant: str, schedule: str, spec: dict) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": NAME, "namespace": namespace, "labels": labels(NAME),
                         "annotations": {TENANT_ANNOTATION: tenant}},
            "spec": {
                "schedule": schedule,
                "timeZone": "Etc/UTC",
                # One run at a time: two would share the gateway, the tenant's limits and the
                # single-node report volume.
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
                "successfulJobsHistoryLimit": HISTORY,
                "failedJobsHistoryLimit": HISTORY,
                "jobTemplate": {"metadata": {"labels": labels(NAME)}, "spec": spec},
            }}


def network_policies(namespace: str, gateway_namespace: str, gateway_proxy_selector: Mapping[str, str],
                     gateway_port: int) -> list[dict]:
    """The load generator's egress: the internal Gateway's Envoy pods on their listener's
    container port, DNS, and HTTPS anywhere for the tokenizer (Hugging Face and its CDN have no
    stable addresses). It needs no ingress."""
    return [network_policy(POLICY, namespace, standard_labels("network-policy", namespace, COMPONENT), {
        "podSelector": {"matchLabels": pod_labels()},
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": gateway_namespace}},
                     "podSelector": {"matchLabels": dict(gateway_proxy_selector)}}],
             "ports": tcp([gateway_port])},
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                     "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
             "ports": [dict(p) for p in DNS_PORTS]},
            {"ports": tcp([HUGGING_FACE_PORT])},
        ],
    })]
