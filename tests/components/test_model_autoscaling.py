"""Autoscaling: KEDA's chart values and policies, and the ScaledObject of each model."""

from __future__ import annotations

import pytest

from components.models import autoscaling_specs as a
from components.models.autoscaling_specs import AutoscalingSettings, KedaSettings
from components.models.placement import Architecture, ModelRequest, ModelSource, Placement
from infra.plan.validate import validate_helm_values, validate_manifest

ARCH = Architecture(8.0, "bfloat16", 32, 32, 8, 128, 131072)
PROM = "http://prometheus-operated.monitoring.svc:9090"
WAKE = AutoscalingSettings(wake_queries={"llama": 'sum(gateway_requests_in_flight{model="llama"})'})


def request(name="llama", engine="vllm", task="generate") -> ModelRequest:
    return ModelRequest(name=name, task=task, engine=engine, source=ModelSource("hf://org/model", "a" * 40),
                        architecture=ARCH)


def placement(mn=1, mx=4, on_gpu=True, model="llama") -> Placement:
    return Placement(model=model, pool="a100" if on_gpu else None, gpu_model="A100-80GB" if on_gpu else None,
                     gpu_memory_gib=80 if on_gpu else 0, tensor_parallel=1, gpus_per_replica=1 if on_gpu else 0,
                     max_model_len=8192, gpu_memory_utilization=0.9 if on_gpu else 0.0, needed_gib=20.0,
                     allocated_gib=72.0, weights_gib=15.0, cpu_request="2", cpu_limit="4", memory_request="6Gi",
                     memory_limit="19Gi", shm_size=None, min_replicas=mn, max_replicas=mx)


def scaled(req=None, p=None, settings=None) -> dict:
    return a.scaled_object(req or request(), p or placement(), "models", "serving", PROM, settings or AutoscalingSettings())


def test_no_scaled_object_when_the_replica_count_is_fixed():
    assert scaled(p=placement(mn=2, mx=2)) is None
    assert scaled(p=placement(mn=0, mx=1)) is None, "without a wake query min 0 becomes 1 = max"
    assert not a.autoscaled("llama", placement(mn=3, mx=3), KedaSettings(), AutoscalingSettings())
    assert not a.autoscaled("llama", placement(mn=1, mx=3), KedaSettings(enabled=False), AutoscalingSettings())
    assert a.autoscaled("llama", placement(mn=1, mx=3), KedaSettings(), AutoscalingSettings())


def test_queue_trigger_and_bounds():
    so = scaled()
    spec = so["spec"]
    assert spec["scaleTargetRef"] == {"name": "llama"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 4)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    meta = trigger["metadata"]
    assert meta["serverAddress"] == PROM
    assert meta["query"] == 'sum(vllm:num_requests_waiting{namespace="models",service="llama"}) or vector(0)'
    assert meta["threshold"] == "4"
    assert all(isinstance(v, str) for v in meta.values())
    assert so["metadata"]["labels"]["genai-platform.io/model"] == "llama"
    assert "initialCooldownPeriod" not in spec
    assert validate_manifest(so, "1.33") == []


@pytest.mark.parametrize(("engine", "task", "metric", "target"), [
    ("tgi", "generate", "tgi_queue_size", "4"),
    ("tei", "embed", "te_queue_size", "32"),
    ("llamacpp", "generate", "llamacpp:requests_deferred", "2"),
    ("triton-trtllm", "generate", "nv_trt_llm_request_metrics", "4"),
])
def test_each_engine_scales_on_its_own_queue(engine, task, metric, target):
    (trigger,) = scaled(request(engine=engine, task=task))["spec"]["triggers"]
    assert trigger["metadata"]["query"].startswith(f"sum({metric}{{")
    assert trigger["metadata"]["threshold"] == target


def test_queue_target_can_be_overridden_per_engine():
    so = scaled(settings=AutoscalingSettings(queue_targets={"vllm": 10}))
    assert so["spec"]["triggers"][0]["metadata"]["threshold"] == "10"


def test_scale_to_zero_needs_a_wake_query():
    held = scaled(p=placement(mn=0, mx=3))
    assert held["spec"]["minReplicaCount"] == 1 and len(held["spec"]["triggers"]) == 1
    so = scaled(p=placement(mn=0, mx=3), settings=WAKE)
    spec = so["spec"]
    assert spec["minReplicaCount"] == 0
    queue, demand = spec["triggers"]
    assert queue["metadata"]["activationThreshold"] == "0"
    assert demand["name"] == "demand" and demand["metadata"]["query"] == WAKE.wake_queries["llama"]
    assert demand["metadata"]["activationThreshold"] == "0"
    assert int(demand["metadata"]["threshold"]) >= 1_000_000, "the demand trigger only activates"
    assert spec["initialCooldownPeriod"] == (60 + 15 * 10) + 900
    assert validate_manifest(so, "1.33") == []
    assert a.replica_bounds("llama", placement(mn=0, mx=3), WAKE) == (0, 3)
    assert a.replica_bounds("other", placement(mn=0, mx=3, model="other"), WAKE) == (1, 3)


def test_gpu_models_scale_down_slowly_and_cpu_models_quickly():
    gpu = scaled()["spec"]
    cpu = scaled(request("embed", "tei", "embed"), placement(on_gpu=False, model="embed"))["spec"]
    assert gpu["cooldownPeriod"] == 900 and cpu["cooldownPeriod"] == 300
    g = gpu["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    c = cpu["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert g["scaleDown"]["stabilizationWindowSeconds"] == 600
    assert c["scaleDown"]["stabilizationWindowSeconds"] == 120
    assert g["scaleUp"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 120}]
    assert c["scaleUp"]["policies"][0]["type"] == "Percent"
    assert gpu["advanced"]["restoreToOriginalReplicaCount"] is False


def test_keda_values_are_keys_of_the_pinned_chart():
    assert validate_helm_values("keda", a.keda_values(KedaSettings())) == []
    with_monitors = a.keda_values(KedaSettings(replicas=2, service_monitors=True))
    assert with_monitors["operator"]["replicaCount"] == 2
    assert validate_helm_values("keda", with_monitors) == []
    assert a.keda_values(KedaSettings())["crds"] == {"install": True}
    assert (a.KEDA_CHART, a.KEDA_REPOSITORY, a.KEDA_VERSION) == ("keda", "https://kedacore.github.io/charts", "2.20.2")


def test_keda_namespace_policies():
    policies = {p["metadata"]["name"]: p["spec"] for p in a.keda_network_policies("keda", {}, PROM)}
    assert {p["port"] for p in policies["allow-prometheus"]["egress"][0]["ports"]} == {9090}
    assert {p["port"] for p in policies["allow-api-server-callbacks"]["ingress"][0]["ports"]} == {6443, 9443}
    assert {p["port"] for p in policies["allow-operator-grpc"]["ingress"][0]["ports"]} == {9666}
    for p in a.keda_network_policies("keda", {}, PROM):
        assert validate_manifest(p, "1.33") == []


def test_keda_metrics_are_scrapable_when_its_service_monitors_are_on():
    names = {p["metadata"]["name"] for p in a.keda_network_policies("keda", {}, PROM)}
    assert "allow-metrics-scrape" not in names
    policies = {p["metadata"]["name"]: p for p in a.keda_network_policies("keda", {}, PROM, scraped=True)}
    (rule,) = policies["allow-metrics-scrape"]["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert validate_manifest(policies["allow-metrics-scrape"], "1.33") == []
    (outside,) = [p for p in a.keda_network_policies("keda", {}, "https://thanos.example.com", scraped=True)
                  if p["metadata"]["name"] == "allow-metrics-scrape"]
    assert outside["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"genai-platform.io/metrics-scraper": "true"}}}]


@pytest.mark.parametrize(("address", "port"), [
    (PROM, 9090), ("https://thanos.example.com", 443), ("http://prometheus.monitoring", 80), ("prom:9091", 9091),
])
def test_prometheus_port(address, port):
    assert a.prometheus_port(address) == port
