"""``models[].canary``: a second revision served as ``<name>-canary`` and folded into its model's route."""

from __future__ import annotations

from typing import Any

from infra.models_layer import routed_models
from infra.schema_models import ModelConfig, expand_canaries

REV = "91cad51170dc346986eccefdc2dd33a9da36ead9"
NEW = "0e9e39f249a16976918f6564b8830bc894c89659"


def chat(**fields: Any) -> dict:
    return {"name": "chat", "wellKnown": "qwen2.5-1.5b-instruct-gguf", "revision": REV,
            "serving": {"maxModelLen": 4096}, **fields}


def test_expand_canaries_adds_a_model_with_the_changed_fields():
    stable = ModelConfig.model_validate(chat(canary={"weight": 20, "revision": NEW, "replicas": {"min": 1, "max": 2}}))
    out = expand_canaries([stable])
    assert [m.name for m in out] == ["chat", "chat-canary"]
    c = out[1]
    assert c.revision == NEW and c.replicas.max_replicas == 2 and c.canary is None
    assert c.well_known == stable.well_known and c.serving == stable.serving


def test_canary_is_served_planned_and_routed(run):
    result = run("local", {"models": [chat(canary={"weight": 25, "revision": NEW})]})
    assert result.error is None, result.error
    outputs = {m["name"]: m for m in result.monitor.stack_outputs["models"]}
    assert set(outputs) == {"chat", "chat-canary"}
    assert outputs["chat"]["canary"] == {"weight": 25, "service": "chat-canary"}
    deps = {r.inputs["metadata"]["name"]: r.inputs for r in result.monitor.registrations
            if r.type == "kubernetes:apps/v1:Deployment"}
    args = deps["chat-canary"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "chat-canary" in args      # its server answers to its own name


def _layer_like():
    from components.models.placement import Architecture, ModelRequest, ModelSource
    from infra.models_layer import ModelsLayer

    arch = Architecture(8.0, "bfloat16", 32, 32, 8, 128, 8192)

    def req(name: str) -> ModelRequest:
        return ModelRequest(name=name, task="generate", engine="vllm", source=ModelSource("hf://o/m", REV),
                            architecture=arch)

    class Serving:
        endpoints = {n: {"service": f"{n}.models.svc", "port": 8000, "api": "openai", "openaiBasePath": "/v1"}
                     for n in ("chat", "chat-canary", "other")}

    return ModelsLayer(Serving(), (req("chat"), req("chat-canary"), req("other")), (), {"chat": 10})


def test_routed_models_fold_the_canary_into_its_model():
    routed = {m.name: m for m in routed_models(_layer_like())}
    assert set(routed) == {"chat", "other"}
    c = routed["chat"].canary
    assert (c.service, c.served_name, c.weight) == ("chat-canary", "chat-canary", 10)
    assert not routed["chat"].pooled and routed["other"].pooled
    assert routed["other"].selector == {"genai-platform.io/model": "other", "app.kubernetes.io/component": "model-server"}


def _error(run, models: list[dict]) -> str:
    result = run("local", {"models": models})
    assert result.error is not None
    return str(result.error)


def test_weight_out_of_range(run):
    for w in (0, 100):
        assert "models[0].canary.weight" in _error(run, [chat(canary={"weight": w, "revision": NEW})])


def test_canary_name_taken_by_another_model(run):
    other = chat(name="chat-canary")
    err = _error(run, [chat(canary={"weight": 10, "revision": NEW}), other])
    assert "models[0].canary" in err and "another model's name" in err


def test_canary_identical_to_the_stable(run):
    err = _error(run, [chat(canary={"weight": 10, "revision": REV, "replicas": {"min": 1, "max": 2}})])
    assert "models[0].canary" in err and "serves exactly what the model serves" in err


def test_canary_engine_that_cannot_serve_the_task(run):
    err = _error(run, [chat(canary={"weight": 10, "engine": "tei"})])
    assert "models[0].canary.engine" in err and "not 'generate'" in err


def test_canary_with_its_own_bad_field(run):
    err = _error(run, [chat(canary={"weight": 10, "source": "org/other"})])
    assert "models[0].canary.revision" in err
