"""The load test: inference-perf's config per model (stages from the rates, the internal gateway,
streaming, lengths inside the context), the key kept out of the ConfigMap, logs and reports, the
Job renamed only when what it measures changes, the CronJob when scheduled, every object against
the Kubernetes schemas, the egress proven with the policy walker, and the component under the
recording mocks."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from component_programs import run_component_program
from netpol_walk import External, Pod, allowed

from components.cluster.info import GpuPool, Taint
from components.edge.contracts import INTERNAL_GATEWAY, PUBLIC_GATEWAY, envoy_container_port
from components.edge.gateway_specs import HTTP_PORT, envoy_pod_labels
from components.models.catalog_specs import avoid_gpu_nodes
from components.ops import loadtest_specs as s
from components.platform import network_policies
from infra.plan.mocks import SECRET
from infra.plan.validate import validate_manifest

NS, CONTROLLER_NS, GATEWAY_NS, TENANT = "monitoring", "envoy-gateway-system", "genai-gateway", "acme"
INTERNAL_URL = f"http://genai-gateway-internal.{CONTROLLER_NS}.svc.cluster.local"
BASE_URL = f"{INTERNAL_URL}/v1"
PROXY = envoy_pod_labels(INTERNAL_GATEWAY, GATEWAY_NS)
PROXY_PORT = envoy_container_port(HTTP_PORT)
KEY = "sk-acme-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"
LLAMA = s.LoadTestModel("llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", 8192)
SMALL = s.LoadTestModel("qwen/0.5b", "Qwen/Qwen2.5-0.5B-Instruct", 512)
MODELS = (LLAMA, SMALL)
SETTINGS = s.LoadTestSettings(rates=(0.5, 2.0, 8.0), stage_seconds=120, report_storage_gib=5)
GPU_POOL = GpuPool(name="l4", gpu_model="L4", gpu_memory_gib=24, gpus_per_node=1,
                   node_selector={"genai-platform.io/pool": "l4"},
                   taints=(Taint("nvidia.com/gpu", "present", "NoSchedule"),))


def name_of(models=MODELS, settings=SETTINGS, tenant=TENANT, base_url=BASE_URL) -> str:
    return s.run_name(models, base_url, settings, tenant)


def config_of(model: s.LoadTestModel, settings=SETTINGS) -> dict:
    cm = s.config_map(NS, name_of(settings=settings), MODELS, BASE_URL, settings)
    return yaml.safe_load(cm["data"][f"{s.model_slug(model.name)}.yaml"])


def rendered(settings=SETTINGS, hf_token=None, pools=()) -> list[dict]:
    name = name_of(settings=settings)
    spec = s.job_spec(MODELS, settings, name, hf_token is not None, avoid_gpu_nodes(pools))
    workload = (s.job(NS, name, TENANT, spec) if settings.schedule is None
                else s.cronjob(NS, TENANT, settings.schedule, spec))
    return [s.config_map(NS, name, MODELS, BASE_URL, settings), s.credentials_secret(NS, KEY, hf_token),
            s.report_claim(NS, "gp3", settings.report_storage_gib), workload,
            *s.network_policies(NS, CONTROLLER_NS, PROXY, PROXY_PORT)]


def pod_of(workload: dict) -> dict:
    spec = workload["spec"]
    return (spec["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else spec)["template"]["spec"]


# --- inference-perf's config ---------------------------------------------------------------

def test_config_stages_model_gateway_and_streaming():
    cfg = config_of(LLAMA)
    assert cfg["load"]["type"] == "constant"
    assert cfg["load"]["stages"] == [{"rate": 0.5, "duration": 120}, {"rate": 2.0, "duration": 120},
                                     {"rate": 8.0, "duration": 120}]
    assert cfg["server"]["model_name"] == "llama-3.1-8b"
    # inference-perf appends /v1/completions itself: the root of the internal gateway's URL.
    assert cfg["server"]["base_url"] == INTERNAL_URL
    assert cfg["server"]["base_url"] + "/v1" == BASE_URL
    assert cfg["api"] == {"type": "completion", "streaming": True}
    assert cfg["server"]["ignore_eos"] is True
    assert cfg["tokenizer"] == {"pretrained_model_name_or_path": "meta-llama/Llama-3.1-8B-Instruct"}
    # Nothing to download but the tokenizer; a fixed seed sends the same prompts every run.
    assert cfg["data"]["type"] == "synthetic" and "path" not in cfg["data"]
    assert cfg["load"]["base_seed"] == config_of(LLAMA, dataclasses.replace(SETTINGS, rates=(1.0,)))["load"]["base_seed"]
    # Bounded worker processes: left unset, inference-perf starts one per node CPU.
    assert cfg["load"]["num_workers"] == s.NUM_WORKERS
    assert cfg["report"]["request_lifecycle"]["summary"] and cfg["report"]["request_lifecycle"]["per_stage"]
    assert config_of(SMALL)["server"]["model_name"] == "qwen/0.5b"


@pytest.mark.parametrize("max_model_len", [64, 200, 512, 1296, 4096, 131072])
def test_lengths_fit_the_models_context(max_model_len):
    inputs, outputs = s.length_distributions(max_model_len)
    assert inputs["max"] + outputs["max"] + s.SPECIAL_TOKENS_MARGIN <= max_model_len
    for d in (inputs, outputs):
        assert 1 <= d["min"] <= d["mean"] <= d["max"] and d["std_dev"] > 0
    assert inputs["max"] <= s.INPUT_MAX and outputs["max"] <= s.OUTPUT_MAX


def test_small_context_model_gets_shorter_prompts_in_its_config():
    small, large = config_of(SMALL)["data"], config_of(LLAMA)["data"]
    assert small["input_distribution"]["max"] + small["output_distribution"]["max"] <= SMALL.max_model_len
    assert large["input_distribution"]["max"] == s.INPUT_MAX and large["output_distribution"]["max"] == s.OUTPUT_MAX


def test_bad_inputs_are_refused_with_every_reason():
    with pytest.raises(ValueError) as err:
        s.check((LLAMA, dataclasses.replace(LLAMA, max_model_len=32), s.LoadTestModel("llama-3.1-8b", "x", 4096)),
                INTERNAL_URL, dataclasses.replace(SETTINGS, rates=(1.0, 0.0),
                                                  image="quay.io/inference-perf/inference-perf:latest"))
    message = str(err.value)
    for reason in ("distinct", "max_model_len 32", "ending in /v1", "positive", "pinned tag"):
        assert reason in message
    with pytest.raises(ValueError, match="no models"):
        s.check((), BASE_URL, SETTINGS)
    s.check(MODELS, BASE_URL, SETTINGS)
    assert s.INFERENCE_PERF_IMAGE == "quay.io/inference-perf/inference-perf:v0.6.1" and s.pinned(s.INFERENCE_PERF_IMAGE)


# --- the key ---------------------------------------------------------------------------------

def test_key_only_in_the_secret_and_read_from_it_as_env():
    objs = {o["kind"]: o for o in rendered(hf_token="hf_abc")}
    assert KEY not in json.dumps(objs["ConfigMap"]) and KEY not in json.dumps(objs["Job"])
    assert objs["Secret"]["stringData"] == {"OPENAI_API_KEY": KEY, "HF_TOKEN": "hf_abc"}
    (ctr,) = pod_of(objs["Job"])["containers"]
    assert "envFrom" not in ctr
    env = {e["name"]: e for e in ctr["env"]}
    for var in ("OPENAI_API_KEY", "HF_TOKEN"):
        assert env[var]["valueFrom"] == {"secretKeyRef": {"name": s.CREDENTIALS_SECRET, "key": var}}
    no_token = {o["kind"]: o for o in rendered()}
    assert no_token["Secret"]["stringData"] == {"OPENAI_API_KEY": KEY}
    assert "HF_TOKEN" not in {e["name"] for e in pod_of(no_token["Job"])["containers"][0]["env"]}


FAKE_INFERENCE_PERF = '''\
#!{python}
"""Stands in for inference-perf: echoes its key, writes a report with it, fails for 'bad'."""
import os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out = args["--storage.local_storage.path"]
print("config:", open(args["--config_file"]).read().strip(), "api_key:", args.get("--server.api_key"))
with open(os.path.join(out, "config.yaml"), "w") as f:
    f.write("server:\\n  api_key: " + args.get("--server.api_key", "") + "\\n")
with open(os.path.join(out, "summary_lifecycle_metrics.json"), "w") as f:
    f.write("{{}}")
sys.exit(3 if args["--config_file"].endswith("bad.yaml") else 0)
'''


def test_launcher_runs_each_model_in_turn_and_masks_the_key(tmp_path: Path):
    config_dir, reports = tmp_path / "config", tmp_path / "reports"
    config_dir.mkdir()
    for model in ("bad", "good"):
        (config_dir / f"{model}.yaml").write_text(f"model: {model}\n")
    launcher = config_dir / s.LAUNCHER
    launcher.write_text(s.config_data(MODELS, BASE_URL, SETTINGS)[s.LAUNCHER])
    fake = tmp_path / "inference-perf"
    fake.write_text(FAKE_INFERENCE_PERF.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "OPENAI_API_KEY": KEY, "INFERENCE_PERF": str(fake),
           "LOADTEST_CONFIG_DIR": str(config_dir), "LOADTEST_REPORT_DIR": str(reports)}
    run = subprocess.run([sys.executable, str(launcher), "bad", "good"], env=env, capture_output=True, text=True,
                         timeout=60)
    # One model failing fails the run, after the others ran.
    assert run.returncode == 1, run.stderr
    assert KEY not in run.stdout and "api_key: [redacted]" in run.stdout
    assert "model: good" in run.stdout
    (run_dir,) = reports.iterdir()
    assert sorted(p.name for p in run_dir.iterdir()) == ["bad", "good", "status.json"]
    assert json.loads((run_dir / "status.json").read_text())["exitCodes"] == {"bad": 3, "good": 0}
    for model in ("bad", "good"):
        report = (run_dir / model / "config.yaml").read_text()
        assert KEY not in report and "[redacted]" in report
        assert (run_dir / model / "summary_lifecycle_metrics.json").exists()


# --- the workload ----------------------------------------------------------------------------

def test_job_name_follows_what_the_run_measures():
    base = name_of()
    assert base == name_of() and base.startswith("load-test-") and len(base) == len("load-test-") + 8
    assert name_of(settings=dataclasses.replace(SETTINGS, rates=(0.5, 2.0, 16.0))) != base
    assert name_of(settings=dataclasses.replace(SETTINGS, stage_seconds=60)) != base
    assert name_of(settings=dataclasses.replace(SETTINGS, image=s.INFERENCE_PERF_IMAGE + "-1")) != base
    assert name_of(models=(LLAMA,)) != base and name_of(models=(SMALL, LLAMA)) != base
    assert name_of(tenant="globex") != base
    # Where reports go, how big their volume is, and the schedule leave the run alone.
    assert name_of(settings=dataclasses.replace(SETTINGS, report_storage_gib=50)) == base
    assert name_of(settings=dataclasses.replace(SETTINGS, schedule="0 3 * * *")) == base
    assert name_of(base_url=BASE_URL + "/") == base


def test_run_once_job_is_not_awaited_and_bounded():
    job = next(o for o in rendered() if o["kind"] == "Job")
    assert job["metadata"]["name"] == name_of()
    assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    assert job["metadata"]["annotations"][s.TENANT_ANNOTATION] == TENANT
    spec = job["spec"]
    assert spec["backoffLimit"] == 0 and "ttlSecondsAfterFinished" not in spec
    assert spec["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["type"] == "DisruptionTarget"
    assert spec["activeDeadlineSeconds"] == 2 * (3 * 120 + s.MODEL_OVERHEAD_SECONDS)
    pod = pod_of(job)
    (ctr,) = pod["containers"]
    assert ctr["image"] == s.INFERENCE_PERF_IMAGE
    assert ctr["command"] == ["python", f"{s.CONFIG_DIR}/{s.LAUNCHER}"] and ctr["args"] == ["llama-3.1-8b", "qwen_0.5b"]
    assert pod["volumes"][0] == {"name": "config", "configMap": {"name": name_of()}}


def test_scheduled_run_is_a_cronjob_one_at_a_time():
    nightly = dataclasses.replace(SETTINGS, schedule="30 2 * * *")
    kinds = [o["kind"] for o in rendered(nightly)]
    assert "CronJob" in kinds and "Job" not in kinds
    cron = next(o for o in rendered(nightly) if o["kind"] == "CronJob")
    assert cron["metadata"]["name"] == s.NAME
    assert cron["spec"]["schedule"] == "30 2 * * *" and cron["spec"]["timeZone"] == "Etc/UTC"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 2 * (3 * 120 + s.MODEL_OVERHEAD_SECONDS)


def test_secure_cpu_pod_with_report_volume():
    pod = pod_of(next(o for o in rendered(pools=(GPU_POOL,)) if o["kind"] == "Job"))
    (ctr,) = pod["containers"]
    sc = ctr["securityContext"]
    assert sc["readOnlyRootFilesystem"] and sc["runAsNonRoot"] and not sc["allowPrivilegeEscalation"]
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    assert ctr["resources"]["requests"] and ctr["resources"]["limits"]
    assert not any("nvidia.com/gpu" in str(v) for v in ctr["resources"].values())
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"] == [{"key": "genai-platform.io/pool", "operator": "NotIn", "values": ["l4"]}]
    mounts = {m["mountPath"]: m for m in ctr["volumeMounts"]}
    assert mounts[s.CONFIG_DIR]["readOnly"] and s.REPORT_DIR in mounts and s.TMP_DIR in mounts
    assert {"name": "reports", "persistentVolumeClaim": {"claimName": s.REPORT_CLAIM}} in pod["volumes"]
    env = {e["name"]: e.get("value") for e in ctr["env"]}
    assert env["HF_HOME"].startswith(s.TMP_DIR) and env["LOADTEST_REPORT_DIR"] == s.REPORT_DIR
    claim = next(o for o in rendered() if o["kind"] == "PersistentVolumeClaim")
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                             "resources": {"requests": {"storage": "5Gi"}}}


@pytest.mark.parametrize("schedule", [None, "0 4 * * 1"])
def test_every_object_passes_its_schema(schedule):
    for obj in rendered(dataclasses.replace(SETTINGS, schedule=schedule), hf_token="hf_abc", pools=(GPU_POOL,)):
        assert validate_manifest(obj, "1.33") == [], obj["kind"]


# --- network policy --------------------------------------------------------------------------

def test_job_reaches_the_internal_gateway_and_nothing_else_in_cluster():
    policies = [*network_policies.baseline(NS, {}), *s.network_policies(NS, CONTROLLER_NS, PROXY, PROXY_PORT)]
    namespaces = {NS: {}, CONTROLLER_NS: {}, "genai-models": {}, "kube-system": {}}
    job = Pod(NS, s.pod_labels())
    internal = Pod(CONTROLLER_NS, PROXY)
    public = Pod(CONTROLLER_NS, envoy_pod_labels(PUBLIC_GATEWAY, GATEWAY_NS))
    model = Pod("genai-models", {"app.kubernetes.io/component": "model-server", "genai-platform.io/model": "x"})
    dns = Pod("kube-system", {"k8s-app": "kube-dns"})
    assert allowed(policies, namespaces, job, internal, PROXY_PORT)
    assert not allowed(policies, namespaces, job, internal, 19001)
    assert not allowed(policies, namespaces, job, public, PROXY_PORT)
    for port in (8000, 8080, 9002):
        assert not allowed(policies, namespaces, job, model, port)
    assert allowed(policies, namespaces, job, dns, 53, "UDP")
    # Tokenizers from Hugging Face: HTTPS anywhere, nothing else.
    assert allowed(policies, namespaces, job, External("18.160.0.1"), 443)
    assert not allowed(policies, namespaces, job, External("18.160.0.1"), 80)
    # The allowance is the load generator's alone.
    grafana = Pod(NS, {"app.kubernetes.io/name": "grafana"})
    assert not allowed(policies, namespaces, grafana, internal, PROXY_PORT)


# --- the component under the recording mocks -------------------------------------------------

PROGRAM = textwrap.dedent('''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, StorageClasses
    from components.ops.loadtest import LoadTest, LoadTestArgs, LoadTestModel, LoadTestSettings

    provider = k8s.Provider("k8s", kubeconfig="stub")
    cluster = ClusterInfo(kind="existing", name="test", provider=provider, kubernetes_version="1.33", gpu_pools=(),
                          storage=StorageClasses(rwo="standard", rwx=None), protect=True)
    key = pulumi.Output.secret("{key}")
    models = (LoadTestModel("llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", 8192),)
    common = dict(cluster=cluster, models=models, base_url="{base_url}", api_key=key, tenant="acme",
                  gateway_namespace="{controller_ns}", gateway_proxy_selector={proxy!r}, gateway_port={port})
    LoadTest("once", LoadTestArgs(namespace="monitoring", hf_token=pulumi.Output.secret("hf_abc"), **common))
    gate = k8s.core.v1.Namespace("gate", metadata={{"name": "gate"}}, opts=pulumi.ResourceOptions(provider=provider))
    LoadTest("nightly", LoadTestArgs(namespace="monitoring-b", settings=LoadTestSettings(schedule="0 3 * * *"),
                                     **common), pulumi.ResourceOptions(depends_on=[gate]))
''').format(key=KEY, base_url=BASE_URL, controller_ns=CONTROLLER_NS, proxy=PROXY, port=PROXY_PORT)


@pytest.fixture(scope="module")
def loadtest_run(tmp_path_factory):
    return run_component_program(tmp_path_factory.mktemp("loadtest"), PROGRAM, "loadtest-test").monitor


def children(mon, component: str) -> dict[str, object]:
    (parent,) = [r for r in mon.by_type("genai:ops:LoadTest") if r.name == component]
    return {r.type.rpartition(":")[2]: r for r in mon.registrations if r.parent == parent.urn}


def test_component_registers_its_objects_with_the_provider(loadtest_run):
    mon = loadtest_run
    assert mon.violations == []
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    once, nightly = children(mon, "once"), children(mon, "nightly")
    assert set(once) == {"NetworkPolicy", "Secret", "ConfigMap", "PersistentVolumeClaim", "Job"}
    assert set(nightly) == {"NetworkPolicy", "Secret", "ConfigMap", "PersistentVolumeClaim", "CronJob"}
    for r in [*once.values(), *nightly.values()]:
        assert r.provider == provider.urn, r.urn
        assert validate_manifest(r.inputs, "1.33") == [], r.urn
    job = once["Job"]
    assert job.inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    assert {once[k].urn for k in ("Secret", "ConfigMap", "PersistentVolumeClaim", "NetworkPolicy")} <= set(job.dependencies)
    assert nightly["CronJob"].inputs["spec"]["concurrencyPolicy"] == "Forbid"
    # The caller's depends_on (in the program: the gateway's key policy) holds back the run.
    (gate,) = [r for r in mon.registrations if r.name == "gate"]
    assert gate.urn in nightly["CronJob"].dependencies and gate.urn not in job.dependencies
    # Reports are state: the claim follows the cluster's protect setting.
    assert once["PersistentVolumeClaim"].protect is True


def test_component_keeps_the_key_secret(loadtest_run):
    mon = loadtest_run
    once = children(mon, "once")
    assert once["Secret"].inputs["stringData"] == {"OPENAI_API_KEY": SECRET, "HF_TOKEN": SECRET}
    recorded = json.dumps([r.inputs for r in mon.registrations])
    assert KEY not in recorded and "hf_abc" not in recorded
    config = once["ConfigMap"].inputs
    # Neither the key nor a placeholder for it is in any model's config.
    assert SECRET not in json.dumps(config)
    assert all("api_key" not in text for file, text in config["data"].items() if file.endswith(".yaml"))
    assert config["immutable"] is True and config["metadata"]["name"] == once["Job"].inputs["metadata"]["name"]

