"""InferencePool + endpoint picker values and network policies, checked against the chart."""

from __future__ import annotations

from components.common.security import Resources
from components.edge import pools_specs as ps
from components.edge.contracts import OWNING_GATEWAY_NAME
from components.models import catalog_specs as cs
from components.models import engines
from components.models import server_specs as ss
from components.models.placement import Architecture, ModelRequest, ModelSource, Placement
from infra.plan.validate import has_chart_reference, validate_helm_values, validate_manifest

ARCH = Architecture(8.0, "bfloat16", 32, 32, 8, 128, 131072)
REV = "0e9e39f249a16976918f6564b8830bc894c89659"
RES = Resources("250m", "256Mi", "1", "1Gi")


def _deployment(name: str) -> dict:
    req = ModelRequest(name=name, task="generate", engine="vllm", source=ModelSource("hf://org/model", REV),
                       architecture=ARCH)
    p = Placement(model=name, pool="a100", gpu_model="A100-80GB", gpu_memory_gib=80, tensor_parallel=1,
                  gpus_per_replica=1, max_model_len=8192, gpu_memory_utilization=0.9, needed_gib=30.0,
                  allocated_gib=72.0, weights_gib=15.0, cpu_request="2", cpu_limit="4", memory_request="6Gi",
                  memory_limit="19Gi", shm_size=None)
    vol = cs.server_volume(cs.entry(req, p), cs.CatalogSettings())
    return ss.deployment(req, p, "models", "serving", vol, 1, ss.ServerSettings())


def values(**kw) -> dict:
    args = {"replicas": 1, "resources": RES, "service_monitor": False, **kw}
    return ps.pool_values("llama-pool", ss.selector("llama"), engines.ENGINES["vllm"].http_port, **args)


def test_pool_selects_exactly_the_servers_pods():
    dep = _deployment("llama")
    match = values()["inferencePool"]["modelServers"]["matchLabels"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert match and all(pod_labels[k] == v for k, v in match.items())
    assert match == dep["spec"]["selector"]["matchLabels"]
    # Another model's pods must not match.
    other = _deployment("mistral")["spec"]["template"]["metadata"]["labels"]
    assert not all(other.get(k) == v for k, v in match.items())
    ports = [p["containerPort"] for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]]
    assert values()["inferencePool"]["targetPorts"] == [{"number": ports[0]}]


def test_values_match_the_chart_and_pin_the_picker():
    assert has_chart_reference("inferencepool")
    for v in (values(), values(service_monitor=True, service_monitor_labels={"release": "prom"}, replicas=2)):
        # The chart's values.yaml lists inferencePool.modelServers.matchLabels only in a comment
        # ("REQUIRED"); its inferencepool.yaml template reads exactly that path, which the plan's
        # per-chart allowances admit.
        assert validate_helm_values("inferencepool", v) == []
        rest = {**v, "inferencePool": {k: x for k, x in v["inferencePool"].items() if k != "modelServers"}}
        assert validate_helm_values("inferencepool", rest) == []
    v = values(replicas=2)
    ext = v["inferenceExtension"]
    assert ext["replicas"] == 2
    assert ext["image"] == {"registry": "registry.k8s.io", "repository": "gateway-api-inference-extension/epp",
                            "tag": "v1.5.0", "pullPolicy": "IfNotPresent"}
    assert ext["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert ext["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert v["provider"] == {"name": "none"} and v["inferencePool"]["modelServerType"] == "vllm"
    assert ext["monitoring"]["prometheus"]["enabled"] is False
    assert ps.POOL_CHART.startswith("oci://registry.k8s.io/") and ps.POOL_CHART_VERSION == "v1.5.0"


def test_each_pool_names_its_own_metrics_token_secret():
    # The chart renders a ServiceAccount-token Secret under monitoring.prometheus.auth.secretName
    # (default a fixed name): two pools in one namespace must not render the same Secret.
    a = ps.pool_values("llama-pool", ss.selector("llama"), 8000, replicas=1, resources=RES, service_monitor=True)
    b = ps.pool_values("mistral-pool", ss.selector("mistral"), 8000, replicas=1, resources=RES, service_monitor=True)
    names = {v["inferenceExtension"]["monitoring"]["prometheus"]["auth"]["secretName"] for v in (a, b)}
    assert names == {"llama-pool-epp-metrics-reader", "mistral-pool-epp-metrics-reader"}
    assert "inference-gateway-sa-metrics-reader-secret" not in names
    assert validate_helm_values("inferencepool", a) == []


def test_epp_labels_follow_the_charts_helper():
    assert ps.epp_selector("llama-pool") == {"inferencepool": "llama-pool-epp"}
    long = "m" * 50
    assert ps.epp_name(long) == "m" * 40 + "-epp"


def _by_name(policies: list[dict]) -> dict[str, dict]:
    return {p["metadata"]["name"]: p["spec"] for p in policies}


def test_policies_open_only_the_pickers_paths():
    sel = ss.selector("llama")
    pols = ps.pool_policies("llama-pool", "models", {"a": "b"}, sel, 8000, "envoy-gateway-system", "monitoring")
    for p in pols:
        assert validate_manifest(p, "1.33") == []
    spec = _by_name(pols)
    ing = spec["llama-pool-epp-ingress"]
    assert ing["podSelector"]["matchLabels"] == {"inferencepool": "llama-pool-epp"}
    (rule,) = ing["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9002}]
    (src,) = rule["from"]
    assert src["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "envoy-gateway-system"}
    assert src["podSelector"]["matchExpressions"][0]["key"] == OWNING_GATEWAY_NAME
    egress = spec["llama-pool-epp-egress"]["egress"]
    assert egress[0] == {"to": [{"podSelector": {"matchLabels": sel}}], "ports": [{"protocol": "TCP", "port": 8000}]}
    assert {p["port"] for p in egress[1]["ports"]} == {443, 6443}
    servers = spec["llama-pool-servers-ingress"]
    assert servers["podSelector"]["matchLabels"] == sel
    assert spec["llama-pool-epp-metrics"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 9090}]
    no_metrics = ps.pool_policies("llama-pool", "models", {}, sel, 8000, "eg", None)
    assert "llama-pool-epp-metrics" not in _by_name(no_metrics)
