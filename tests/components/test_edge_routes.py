"""Model routes: one rule per model, pools vs. backends, canary weights, path routes, grants."""

from __future__ import annotations

import asyncio

from components.edge import routes_specs as rs
from components.edge.contracts import MODEL_HEADER, MODEL_PATH_ROUTE, OPENAI_ROUTE, Canary, RoutedModel
from components.models import server_specs as ss
from infra.plan.validate import validate_manifest

GW, MODELS = "genai-gateway", "models"
LABELS = {"app.kubernetes.io/name": "model-routes"}


def model(name, engine="vllm", task="generate", api="openai", openai=True, port=8000, canary=None) -> RoutedModel:
    return RoutedModel(name=name, service=name, port=port, engine=engine, task=task, api=api, openai=openai,
                       selector=ss.selector(name), canary=canary)


CHAT = model("chat")
SMALL = model("small", engine="llamacpp", port=8080)
EMBED = model("embed", engine="tei", task="embed", port=80)
RERANK = model("rerank", engine="tei", task="rerank", api="tei-rerank", openai=False, port=80)
TRITON = model("trt", engine="triton-trtllm", api="kserve-v2", openai=False)
CANARIED = model("llama", canary=Canary(service="llama-canary", served_name="llama-canary", weight=10))
ALL = (CHAT, SMALL, EMBED, RERANK, TRITON, CANARIED)


def every_object(models=ALL) -> list[dict]:
    objs = [rs.openai_route(models, GW, MODELS, LABELS, "300s"), rs.path_route(models, GW, MODELS, LABELS, "120s"),
            rs.reference_grant(models, GW, MODELS, LABELS)]
    for service, port in rs.backend_services(models):
        objs.append(rs.ai_service_backend(service, GW, LABELS))
        objs.append(rs.eg_backend(service, port, GW, MODELS, LABELS))
    return [o for o in objs if o is not None]


def rules(route: dict) -> dict[str, dict]:
    return {r["matches"][0]["headers"][0]["value"]: r for r in route["spec"]["rules"]}


def test_one_rule_per_openai_model_matched_by_name():
    route = rs.openai_route(ALL, GW, MODELS, LABELS, "300s")
    assert route["metadata"]["name"] == OPENAI_ROUTE and route["apiVersion"] == "aigateway.envoyproxy.io/v1beta1"
    by_model = rules(route)
    assert sorted(by_model) == ["chat", "embed", "llama", "small"]
    for name, rule in by_model.items():
        assert rule["matches"] == [{"headers": [{"type": "Exact", "name": MODEL_HEADER, "value": name}]}]
        assert rule["timeouts"] == {"request": "300s"}
    assert {c["metadataKey"] for c in route["spec"]["llmRequestCosts"]} == {
        "llm_input_token", "llm_output_token", "llm_total_token"}
    parents = route["spec"]["parentRefs"]
    assert [(p["name"], p["sectionName"]) for p in parents] == [("genai", "https"), ("genai-internal", "http")]


def test_vllm_goes_to_its_pool_other_engines_to_backends():
    by_model = rules(rs.openai_route(ALL, GW, MODELS, LABELS, "300s"))
    assert by_model["chat"]["backendRefs"] == [{"group": "inference.networking.k8s.io", "kind": "InferencePool",
                                                "name": "chat-pool", "namespace": MODELS}]
    assert by_model["small"]["backendRefs"] == [{"name": "model-small"}]
    backend = rs.eg_backend("small", 8080, GW, MODELS, LABELS)
    assert backend["spec"]["endpoints"] == [{"fqdn": {"hostname": "small.models.svc.cluster.local", "port": 8080}}]
    ai = rs.ai_service_backend("small", GW, LABELS)
    assert ai["spec"]["backendRef"] == {"group": "gateway.envoyproxy.io", "kind": "Backend", "name": "model-small"}
    assert ai["metadata"]["namespace"] == backend["metadata"]["namespace"] == GW


def test_canary_splits_weights_and_rewrites_the_model_name():
    assert not CANARIED.pooled
    refs = rules(rs.openai_route(ALL, GW, MODELS, LABELS, "300s"))["llama"]["backendRefs"]
    assert sum(r["weight"] for r in refs) == 100
    stable, canary = refs
    assert stable == {"name": "model-llama", "weight": 90}
    assert canary == {"name": "model-llama-canary", "weight": 10, "modelNameOverride": "llama-canary"}
    assert ("llama-canary", 8000) in rs.backend_services(ALL) and ("llama", 8000) in rs.backend_services(ALL)
    assert ("chat", 8000) not in rs.backend_services(ALL)


def test_non_openai_models_are_served_by_path():
    route = rs.path_route(ALL, GW, MODELS, LABELS, "120s")
    assert route["metadata"]["name"] == MODEL_PATH_ROUTE
    by_path = {r["matches"][0]["path"]["value"]: r for r in route["spec"]["rules"]}
    assert sorted(by_path) == ["/models/rerank/", "/models/trt/"]
    rule = by_path["/models/rerank/"]
    assert rule["matches"][0]["path"]["type"] == "PathPrefix"
    assert rule["filters"] == [{"type": "URLRewrite", "urlRewrite": {
        "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}]
    assert rule["backendRefs"] == [{"kind": "Service", "name": "rerank", "namespace": MODELS, "port": 80}]
    assert rule["timeouts"] == {"request": "120s"}
    assert rs.route_names(ALL) == (OPENAI_ROUTE, MODEL_PATH_ROUTE)
    assert rs.route_names((CHAT,)) == (OPENAI_ROUTE,) and rs.path_route((CHAT,), GW, MODELS, LABELS, "1s") is None
    assert rs.route_names((RERANK,)) == (MODEL_PATH_ROUTE,)


def test_reference_grant_allows_the_routes_into_the_models_namespace():
    grant = rs.reference_grant(ALL, GW, MODELS, LABELS)
    assert grant["metadata"]["namespace"] == MODELS
    assert {(f["kind"], f["namespace"]) for f in grant["spec"]["from"]} == {("HTTPRoute", GW), ("AIGatewayRoute", GW)}
    assert {(t["group"], t["kind"]) for t in grant["spec"]["to"]} == {
        ("inference.networking.k8s.io", "InferencePool"), ("", "Service")}
    assert rs.reference_grant((SMALL,), GW, MODELS, LABELS) is None


def test_every_object_passes_schema_validation():
    objs = every_object()
    kinds = {o["kind"] for o in objs}
    assert kinds == {"AIGatewayRoute", "HTTPRoute", "ReferenceGrant", "AIServiceBackend", "Backend"}
    for o in objs:
        if o["kind"] == "Backend":
            continue      # no gateway.envoyproxy.io Backend schema in the reference data; see below
        assert validate_manifest(o, "1.33") == [], o["kind"]


def test_backend_uses_only_fields_of_envoy_gateways_backend_type():
    # api/v1alpha1/backend_types.go (Envoy Gateway v1.9.0): spec.endpoints[].fqdn.{hostname, port}.
    spec = rs.eg_backend("llama", 8000, GW, MODELS, LABELS)["spec"]
    assert set(spec) == {"endpoints"}
    (ep,) = spec["endpoints"]
    assert set(ep) == {"fqdn"} and set(ep["fqdn"]) == {"hostname", "port"} and isinstance(ep["fqdn"]["port"], int)


def test_component_registers_pools_routes_and_names_them():
    import pulumi

    registered: list[tuple[str, dict]] = []

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            registered.append((args.typ, args.inputs))
            return [f"{args.name}_id", args.inputs]

        def call(self, args):
            return {}

    # Earlier tests may have closed the loop; the mocks need one of their own.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(Mocks(), preview=False)
    from components.cluster.info import ClusterInfo, StorageClasses
    from components.edge.routes import ModelRoutes, ModelRoutesArgs

    cluster = ClusterInfo(kind="existing", name="c", provider=None, kubernetes_version="1.33", gpu_pools=(),  # type: ignore[arg-type]
                          storage=StorageClasses(rwo="standard", rwx=None))

    @pulumi.runtime.test
    def check():
        routes = ModelRoutes("model-routes", ModelRoutesArgs(
            cluster=cluster, gateway_namespace=GW, models_namespace=MODELS,
            controller_namespace="envoy-gateway-system", models=ALL))
        assert routes.route_names == (OPENAI_ROUTE, MODEL_PATH_ROUTE)
        assert routes.pools == {"chat": "chat-pool"}
        return pulumi.Output.from_input(None)

    check()
    releases = [i for t, i in registered if t == "kubernetes:helm.sh/v3:Release"]
    assert [(r["name"], r["namespace"], r["version"]) for r in releases] == [("chat-pool", MODELS, "v1.5.0")]
    kinds = sorted(i.get("kind", "") for t, i in registered if t.startswith("kubernetes:") and "kind" in i)
    assert kinds.count("AIGatewayRoute") == 1 and kinds.count("HTTPRoute") == 1
    assert kinds.count("ReferenceGrant") == 1
