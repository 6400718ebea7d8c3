"""Model servers: pod specs, probes, scheduling, rollout, Service/ServiceMonitor, and a full
ModelServing run under the recording mocks with every rendered object schema-validated."""

from __future__ import annotations

import math
import textwrap

import pytest

from components.models import catalog_specs as cs
from components.models import server_specs as ss
from components.models.placement import Architecture, ModelRequest, ModelSource, Placement
from components.models.serving import pair, pod_security
from infra.plan import runner
from infra.plan.mocks import RecordingMonitor
from infra.plan.render import HELM_RELEASE, is_manifest, release_of
from infra.plan.runner import StackConfig, run_program
from infra.plan.validate import validate_helm_values, validate_manifest

ARCH = Architecture(8.0, "bfloat16", 32, 32, 8, 128, 131072)
REV = "0e9e39f249a16976918f6564b8830bc894c89659"
TOL = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


def request(name="llama", engine="vllm", task="generate", **kw) -> ModelRequest:
    return ModelRequest(name=name, task=task, engine=engine, source=ModelSource("hf://org/model", REV),
                        architecture=ARCH, **kw)


def gpu(model="llama", tp=1, mn=1, mx=1, weights=14.96) -> Placement:
    return Placement(model=model, pool="a100", gpu_model="A100-80GB", gpu_memory_gib=80, tensor_parallel=tp,
                     gpus_per_replica=tp, max_model_len=8192, gpu_memory_utilization=0.9, needed_gib=30.0,
                     allocated_gib=72.0 * tp, weights_gib=weights, cpu_request=str(2 * tp), cpu_limit=str(4 * tp),
                     memory_request="6Gi", memory_limit="19Gi", shm_size=f"{max(2, tp)}Gi" if tp > 1 else None,
                     node_selector={"genai-platform.io/gpu-pool": "a100"}, tolerations=(TOL,),
                     min_replicas=mn, max_replicas=mx)


def cpu(model="embed", mn=1, mx=1) -> Placement:
    return Placement(model=model, pool=None, gpu_model=None, gpu_memory_gib=0, tensor_parallel=1, gpus_per_replica=0,
                     max_model_len=512, gpu_memory_utilization=0.0, needed_gib=1.2, allocated_gib=2.0, weights_gib=0.4,
                     cpu_request="1", cpu_limit="2", memory_request="2Gi", memory_limit="2Gi", shm_size=None,
                     min_replicas=mn, max_replicas=mx)


def volume(req: ModelRequest, placement: Placement):
    return cs.server_volume(cs.entry(req, placement), cs.CatalogSettings())


def deployment(req=None, placement=None, replicas=1) -> dict:
    req, placement = req or request(), placement or gpu()
    return ss.deployment(req, placement, "models", "serving", volume(req, placement), replicas, ss.ServerSettings())


def pod(dep: dict) -> dict:
    return dep["spec"]["template"]["spec"]


def test_gpu_pod_requests_gpus_tolerates_and_follows_the_pool():
    p = pod(deployment(placement=gpu(tp=2)))
    (c,) = p["containers"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "2" == c["resources"]["requests"]["nvidia.com/gpu"]
    assert c["resources"]["limits"]["memory"] == "19Gi" and c["resources"]["requests"]["cpu"] == "4"
    assert p["tolerations"] == [TOL]
    (term,) = p["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "genai-platform.io/gpu-pool", "operator": "In", "values": ["a100"]}]
    assert all("nvidia.com/gpu.product" not in e["key"] for e in term["matchExpressions"])


def test_cpu_pod_has_no_gpu_toleration_or_affinity():
    p = pod(deployment(request("embed", "tei", "embed"), cpu()))
    assert "tolerations" not in p and "affinity" not in p
    assert "nvidia.com/gpu" not in p["containers"][0]["resources"]["limits"]


def test_shm_only_with_tensor_parallelism():
    single = pod(deployment(placement=gpu(tp=1)))
    assert all(v["name"] != "shm" for v in single["volumes"])
    multi = pod(deployment(placement=gpu(tp=4)))
    (shm,) = [v for v in multi["volumes"] if v["name"] == "shm"]
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "4Gi"}
    assert {"name": "shm", "mountPath": "/dev/shm"} in multi["containers"][0]["volumeMounts"]


def test_triton_gets_shm_for_its_python_backend_on_one_gpu():
    req = request(engine="triton-trtllm")
    single = pod(deployment(req=req, placement=gpu(tp=1)))
    (shm,) = [v for v in single["volumes"] if v["name"] == "shm"]
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Gi"}
    assert {"name": "shm", "mountPath": "/dev/shm"} in single["containers"][0]["volumeMounts"]


def test_probes_follow_the_engine_and_the_weights():
    c = pod(deployment(placement=gpu(weights=140.0)))["containers"][0]
    assert c["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    budget = c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"]
    assert budget == 60 + 140 * 10
    assert c["readinessProbe"]["httpGet"]["path"] == "/health" and c["livenessProbe"]["httpGet"]["path"] == "/health"
    small = pod(deployment(placement=gpu(weights=1.0)))["containers"][0]["startupProbe"]["failureThreshold"]
    assert small == math.ceil(70 / 10)
    triton = pod(deployment(request(engine="triton-trtllm")))["containers"][0]
    assert triton["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert triton["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert triton["command"] == ["tritonserver"]


def test_model_is_mounted_read_only_and_waited_for():
    p = pod(deployment())
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in p["containers"][0]["volumeMounts"]
    assert p["volumes"][0]["persistentVolumeClaim"] == {"claimName": "model-catalog", "readOnly": True}
    (init,) = p["initContainers"]
    key = cs.entry(request(), gpu()).key
    assert key in init["command"][2] and "/models/llama/0e9e39f249a1/.catalog-complete.json" in init["command"][2]
    assert init["image"] == p["containers"][0]["image"]


def test_topology_spread_only_when_several_replicas():
    assert "topologySpreadConstraints" not in pod(deployment(placement=gpu(mx=1)))
    (tsc,) = pod(deployment(placement=gpu(mn=1, mx=3)))["topologySpreadConstraints"]
    assert tsc["topologyKey"] == "topology.kubernetes.io/zone" and tsc["whenUnsatisfiable"] == "ScheduleAnyway"
    assert tsc["labelSelector"]["matchLabels"] == ss.selector("llama")


@pytest.mark.parametrize(("placement", "strategy"), [
    (gpu(mx=1), {"type": "Recreate"}),
    (gpu(mn=1, mx=4), {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
    (cpu(mx=1), {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
    (cpu(mx=3), {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
])
def test_rollouts_never_need_extra_gpus(placement, strategy):
    assert ss.rollout_strategy(placement) == strategy


def test_initial_replicas():
    assert ss.initial_replicas(0, 3, autoscaled=True) == 0
    assert ss.initial_replicas(2, 3, autoscaled=True) == 2
    assert ss.initial_replicas(0, 3, autoscaled=False) == 1, "a range nothing scales in still serves"
    assert ss.initial_replicas(2, 2, autoscaled=False) == 2
    assert ss.initial_replicas(0, 0, autoscaled=False) == 0


def test_security_per_engine():
    vllm = pod(deployment())
    sc = vllm["containers"][0]["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["capabilities"] == {"drop": ["ALL"]}
    assert vllm["securityContext"]["runAsNonRoot"] is True
    tgi = pod(deployment(request(engine="tgi")))
    sc = tgi["containers"][0]["securityContext"]
    assert sc["runAsUser"] == 0 and sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert "runAsNonRoot" not in tgi["securityContext"]
    assert tgi["initContainers"][0]["securityContext"]["runAsNonRoot"] is True
    assert pod_security((request(), request("e", "tei", "embed"))) == "restricted"
    assert pod_security((request(), request("t", "tgi"))) == "baseline"


def test_service_monitor_selects_the_service_and_its_port():
    req = request(engine="triton-trtllm")
    svc = ss.service(req, "models", "serving")
    sm = ss.service_monitor(req, "models", "serving", ss.ServerSettings(service_monitor_labels={"release": "prom"}))
    labels = svc["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items())
    port_names = {p["name"] for p in svc["spec"]["ports"]}
    assert {e["port"] for e in sm["spec"]["endpoints"]} <= port_names
    assert sm["spec"]["endpoints"][0] == {"port": "metrics", "path": "/metrics", "interval": "15s"}
    assert svc["spec"]["selector"] == ss.selector("llama") and svc["spec"]["type"] == "ClusterIP"
    assert sm["metadata"]["labels"]["release"] == "prom"
    assert labels["genai-platform.io/model"] == "llama"
    vllm = ss.service_monitor(request(), "models", "serving", ss.ServerSettings())
    assert vllm["spec"]["endpoints"][0]["port"] == "http"


def test_network_policies_open_the_api_to_clients_and_metrics_to_prometheus():
    ns = ss.scraper_namespace("http://prometheus-operated.monitoring.svc:9090")
    assert ns == "monitoring" and ss.scraper_namespace("https://prom.example.com") is None
    api, metrics = ss.network_policies("models", {}, [8000, 8080], [8000, 8002], ns)
    peers = api["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"genai-platform.io/model-clients": "true"}}} in peers
    assert {"podSelector": {}} in peers
    assert metrics["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    for policy in (api, metrics):
        assert validate_manifest(policy, "1.33") == []


@pytest.mark.parametrize(("req", "placement"), [
    (request(), gpu(tp=2, mn=0, mx=3)),
    (request(engine="tgi"), gpu()),
    (request(engine="triton-trtllm"), gpu(tp=2)),
    (request("embed", "tei", "rerank"), cpu(mx=2)),
    (request("small", "llamacpp", weights_file="m.gguf"), cpu("small")),
])
def test_rendered_objects_validate(req, placement):
    objs = [ss.deployment(req, placement, "models", "serving", volume(req, placement), 1, ss.ServerSettings()),
            ss.service(req, "models", "serving"), ss.service_monitor(req, "models", "serving", ss.ServerSettings()),
            ss.disruption_budget(req, "models", "serving")]
    for obj in objs:
        assert validate_manifest(obj, "1.33") == []


def test_requests_and_placements_must_pair_up():
    with pytest.raises(ValueError, match="'b' has no placement.*'c' has no request"):
        pair((request("a"), request("b")), (gpu("a"), gpu("c")))


# --- the whole component under the plan's recording mocks ---------------------------------

PROGRAM = textwrap.dedent('''
    import pulumi
    import pulumi_kubernetes as k8s

    from components.cluster.info import ClusterInfo, GpuPool, ObjectStore, StorageClasses, Taint, WorkloadIdentity
    from components.models.autoscaling_specs import AutoscalingSettings
    from components.models.placement import Architecture, ModelRequest, ModelSource, Placement
    from components.models.serving import ModelServing, ModelServingArgs

    REV = "0e9e39f249a16976918f6564b8830bc894c89659"
    ARCH = Architecture(8.0, "bfloat16", 32, 32, 8, 128, 131072)
    TOL = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}
    pool = GpuPool("a100", "A100-80GB", 80, 8, {"genai-platform.io/gpu-pool": "a100"},
                   (Taint("nvidia.com/gpu", "present", "NoSchedule"),))
    provider = k8s.Provider("k8s", kubeconfig="stub")
    cluster = ClusterInfo(
        kind="eks", name="test", provider=provider, kubernetes_version="1.33", gpu_pools=(pool,),
        storage=StorageClasses(rwo="gp3", rwx="efs"), protect=True,
        identities={"model-downloads": WorkloadIdentity(
            "model-downloads", "models", "model-downloader",
            annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/dl"})},
        object_store=ObjectStore("s3", "platform-bucket", "eu-west-1"),
    )

    def gpu(model, tp, mn, mx):
        return Placement(model=model, pool="a100", gpu_model="A100-80GB", gpu_memory_gib=80, tensor_parallel=tp,
                         gpus_per_replica=tp, max_model_len=8192, gpu_memory_utilization=0.9, needed_gib=30.0,
                         allocated_gib=72.0 * tp, weights_gib=15.0 * tp, cpu_request=str(2 * tp),
                         cpu_limit=str(4 * tp), memory_request="6Gi", memory_limit="40Gi",
                         shm_size=f"{max(2, tp)}Gi" if tp > 1 else None,
                         node_selector={"genai-platform.io/gpu-pool": "a100"}, tolerations=(TOL,),
                         min_replicas=mn, max_replicas=mx)

    def cpu(model, mn, mx):
        return Placement(model=model, pool=None, gpu_model=None, gpu_memory_gib=0, tensor_parallel=1,
                         gpus_per_replica=0, max_model_len=512, gpu_memory_utilization=0.0, needed_gib=1.0,
                         allocated_gib=2.0, weights_gib=0.4, cpu_request="1", cpu_limit="2",
                         memory_request="2Gi", memory_limit="2Gi", shm_size=None, min_replicas=mn, max_replicas=mx)

    def req(name, engine, task, uri="hf://org/model", **kw):
        return ModelRequest(name=name, task=task, engine=engine, source=ModelSource(uri, REV if uri.startswith("hf") else None),
                            architecture=ARCH, **kw)

    requests = (
        req("llama", "vllm", "generate"),
        req("mixtral", "tgi", "generate", uri="s3://platform-bucket/models/mixtral"),
        req("trt", "triton-trtllm", "generate", uri="pvc://engines/llama-trt"),
        req("embed", "tei", "embed"),
        req("rerank", "tei", "rerank"),
        req("small", "llamacpp", "generate", weights_file="m-q4_k_m.gguf"),
    )
    placements = (gpu("llama", 2, 0, 3), gpu("mixtral", 4, 1, 1), gpu("trt", 1, 1, 1),
                  gpu("embed", 1, 1, 2), cpu("rerank", 1, 3), cpu("small", 1, 1))
    serving = ModelServing("models", ModelServingArgs(
        cluster=cluster, namespace="models", requests=requests, placements=placements,
        prometheus_address="http://prometheus-operated.monitoring.svc:9090",
        hf_token=pulumi.Output.secret("hf_plan_token"),
        autoscaling=AutoscalingSettings(wake_queries={"llama": "sum(gateway_pending{model=\\"llama\\"})"}),
    ))
    pulumi.export("endpoints", serving.endpoints)
''')


class OptionsMonitor(RecordingMonitor):
    """Also keeps the resource options the plan's records leave out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.options: dict[str, dict] = {}

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        self.options[urn] = {"ignoreChanges": list(request.ignoreChanges), "retainOnDelete": request.retainOnDelete}
        return super().RegisterResource(request)


@pytest.fixture(scope="module")
def serving_run(tmp_path_factory):
    program = tmp_path_factory.mktemp("serving")
    (program / "__main__.py").write_text(PROGRAM)
    cfg = StackConfig(project="genai-platform", stack="models-test", values={}, secret_keys=[],
                      disabled_default_providers=("kubernetes",))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "RecordingMonitor", OptionsMonitor)
        result = run_program(cfg, program_dir=program)
    assert result.error is None, result.error
    return result.monitor


def test_every_rendered_object_validates(serving_run):
    mon = serving_run
    manifests = [r.inputs for r in mon.registrations if is_manifest(r)]
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "ServiceMonitor", "PodDisruptionBudget", "ScaledObject", "Job",
            "PersistentVolumeClaim", "ConfigMap", "ServiceAccount", "Secret", "NetworkPolicy", "Namespace"} <= kinds
    errors = [e for m in manifests for e in validate_manifest(m, "1.33")]
    assert errors == []
    releases = [release_of(r) for r in mon.by_type(HELM_RELEASE)]
    assert [r["chart"] for r in releases] == ["keda"]
    assert releases[0]["version"] == "2.20.2" and releases[0]["repository"] == "https://kedacore.github.io/charts"
    assert validate_helm_values("keda", releases[0]["values"]) == []
    assert mon.violations == []


def test_everything_uses_the_cluster_provider_and_is_parented(serving_run):
    (provider,) = serving_run.by_type("pulumi:providers:kubernetes")
    k8s_resources = [r for r in serving_run.registrations if r.custom and r.type.startswith("kubernetes:")]
    assert k8s_resources and all(r.provider == provider.urn for r in k8s_resources)
    assert all(r.parent and "genai:models:" in r.parent for r in k8s_resources)


def test_pdb_and_scaled_objects_only_where_replicas_vary(serving_run):
    pdbs = {r.inputs["metadata"]["name"] for r in serving_run.by_type("kubernetes:policy/v1:PodDisruptionBudget")}
    assert pdbs == {"llama", "embed", "rerank"}
    scaled = {r.inputs["metadata"]["name"]: r for r in serving_run.registrations
              if r.type == "kubernetes:keda.sh/v1alpha1:ScaledObject"}
    assert set(scaled) == {"llama", "embed", "rerank"}
    (keda,) = serving_run.by_type(HELM_RELEASE)
    assert all(keda.urn in r.dependencies for r in scaled.values()), "ScaledObjects need KEDA's CRDs first"
    triggers = scaled["llama"].inputs["spec"]["triggers"]
    assert [t["name"] for t in triggers] == ["queue", "demand"]


def test_keda_owns_the_replicas_of_autoscaled_models(serving_run):
    deployments = {r.inputs["metadata"]["name"]: r for r in serving_run.by_type("kubernetes:apps/v1:Deployment")}
    ignored = {name: serving_run.options[r.urn]["ignoreChanges"] for name, r in deployments.items()}
    assert ignored["llama"] == ["spec.replicas"] and ignored["embed"] == ["spec.replicas"]
    assert ignored["mixtral"] == [] and ignored["small"] == []
    replicas = {name: r.inputs["spec"]["replicas"] for name, r in deployments.items()}
    assert replicas == {"llama": 0, "mixtral": 1, "trt": 1, "embed": 1, "rerank": 1, "small": 1}


def test_catalog_claim_is_protected_and_sized(serving_run):
    (claim,) = serving_run.by_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert claim.protect and serving_run.options[claim.urn]["retainOnDelete"]
    # (llama 30 + mixtral 60 + embed 15 + rerank 0.4 + small 0.4 (trt is on its own claim) = 105.8,
    #  + mixtral's 60 again for a revision switch) x 1.3
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == f"{math.ceil((105.8 + 60) * 1.3)}Gi"
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim.inputs["spec"]["storageClassName"] == "efs"


def test_jobs_secret_and_namespace(serving_run):
    jobs = {r.inputs["metadata"]["labels"]["genai-platform.io/model"]: r
            for r in serving_run.by_type("kubernetes:batch/v1:Job")}
    assert set(jobs) == {"llama", "mixtral", "trt", "embed", "rerank", "small"}
    (secret,) = serving_run.by_type("kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == {"token": "[secret]"}, "the token never reaches the plan"
    assert secret.urn in jobs["llama"].dependencies
    (ns,) = [r for r in serving_run.by_type("kubernetes:core/v1:Namespace")
             if r.inputs["metadata"]["name"] == "models"]
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"  # TGI runs as root
    deployments = {r.inputs["metadata"]["name"]: r for r in serving_run.by_type("kubernetes:apps/v1:Deployment")}
    assert all(jobs[m].urn not in d.dependencies for m, d in deployments.items()), \
        "servers start with the downloads, not after them"
    assert deployments["llama"].inputs["spec"]["replicas"] == 0


def test_endpoints_output(serving_run):
    endpoints = serving_run.stack_outputs["endpoints"]
    assert endpoints["llama"] == {"service": "llama.models.svc", "port": 8000, "engine": "vllm", "task": "generate",
                                  "api": "openai", "openaiBasePath": "/v1", "url": "http://llama.models.svc:8000"}
    assert endpoints["trt"]["api"] == "kserve-v2" and endpoints["trt"]["openaiBasePath"] is None
    assert endpoints["rerank"]["api"] == "tei-rerank"
    assert endpoints["embed"]["openaiBasePath"] == "/v1"
