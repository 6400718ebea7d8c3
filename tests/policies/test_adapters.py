"""The policy pack itself: how pulumi_policy's arguments reach the rules, and the pack's files."""

from __future__ import annotations

import importlib.util
import json
import runpy
from pathlib import Path

import pulumi_policy
import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Secret, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies.genai_policies import POLICIES, SECRET, UNKNOWN, PolicyContext
from policies.genai_policies.adapters import build_policies, plain, stack_context

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"


def test_plain_unwraps_proxies_unknowns_and_secrets():
    props = unknown_checking_proxy({"spec": {"image": UNKNOWN_STRING_VALUE, "ports": [{"port": 80}]}})
    with pytest.raises(UnknownValueError):
        props["spec"]["image"]          # what a rule reading the proxy directly would hit in a preview
    assert plain(props) == {"spec": {"image": UNKNOWN, "ports": [{"port": 80}]}}
    assert plain({"password": Secret("hunter2")}) == {"password": SECRET}


def test_stack_context_reads_the_stack_config_the_cli_passes(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({
        "genai-platform:protect": "true",
        "genai-platform:namespaces": json.dumps({"gpuOperator": "nvidia-system"}),
        "genai-platform:gateway": json.dumps({"hostname": "api.example.com", "namespace": "edge"}),
    }))
    assert stack_context() == PolicyContext(stack_protected=True, gpu_operator_namespace="nvidia-system",
                                            gateway_namespace="edge")
    monkeypatch.delenv("PULUMI_CONFIG")
    assert stack_context() == PolicyContext()


def test_build_policies_one_per_rule_of_the_right_kind():
    built = build_policies(context=PolicyContext)
    assert [p.name for p in built] == [s.name for s in POLICIES]
    for policy, spec in zip(built, POLICIES, strict=True):
        assert isinstance(policy, ResourceValidationPolicy if spec.scope == "resource" else StackValidationPolicy)
        assert policy.description == spec.description


def _struct(obj: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(obj)
    return s


def _servicer(ctx: PolicyContext) -> _PolicyAnalyzerServicer:
    # What PolicyPack(...) serves over gRPC, driven here without a server or the CLI.
    return _PolicyAnalyzerServicer("genai-platform", "0.1.0", build_policies(context=lambda: ctx),
                                   EnforcementLevel.MANDATORY)


SERVICE_URN = "urn:pulumi:dev::genai-platform::kubernetes:core/v1:Service::web"


def test_analyze_request_end_to_end():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "apps"},
               "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    request = proto.AnalyzeRequest(type="kubernetes:core/v1:Service", properties=_struct(service), urn=SERVICE_URN,
                                   name="web", options=proto.AnalyzerResourceOptions(protect=False))
    response = _servicer(PolicyContext()).Analyze(request, None)
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [("no-load-balancer-services", proto.MANDATORY)]
    assert "make it ClusterIP" in response.diagnostics[0].message


def test_analyze_request_with_values_unknown_during_preview():
    # An image computed from another resource's output is unknown in a preview: no violation, no crash.
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "apps"},
                  "spec": {"template": {"spec": {"containers": [{
                      "name": "web", "image": UNKNOWN_STRING_VALUE,
                      "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]}}}}
    request = proto.AnalyzeRequest(type="kubernetes:apps/v1:Deployment", properties=_struct(deployment),
                                   urn="urn:pulumi:dev::genai-platform::kubernetes:apps/v1:Deployment::web", name="web")
    assert list(_servicer(PolicyContext()).Analyze(request, None).diagnostics) == []


def test_analyze_stack_request_end_to_end():
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    ns_urn = "urn:pulumi:dev::genai-platform::kubernetes:core/v1:Namespace::apps"
    bucket_urn = "urn:pulumi:prod::genai-platform::aws:s3/bucket:Bucket::models"
    request = proto.AnalyzeStackRequest(resources=[
        proto.AnalyzerResource(type="kubernetes:core/v1:Namespace", properties=_struct(namespace), urn=ns_urn, name="apps",
                               options=proto.AnalyzerResourceOptions(protect=True)),
        proto.AnalyzerResource(type="aws:s3/bucket:Bucket", properties=_struct({"bucket": "models"}), urn=bucket_urn,
                               name="models", options=proto.AnalyzerResourceOptions(protect=False)),
    ])
    response = _servicer(PolicyContext(stack_protected=True)).AnalyzeStack(request, None)
    found = sorted((d.policyName, d.urn) for d in response.diagnostics)
    assert found == [("default-deny-per-namespace", ns_urn), ("protected-stateful", bucket_urn)]
    unprotected = _servicer(PolicyContext()).AnalyzeStack(request, None)
    assert [d.policyName for d in unprotected.diagnostics] == ["default-deny-per-namespace"]


class _FakePack:
    calls: list[dict] = []

    def __init__(self, **kwargs):
        _FakePack.calls.append(kwargs)


def test_main_module_imports_without_serving_and_main_builds_the_pack(monkeypatch):
    _FakePack.calls = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", _FakePack)
    monkeypatch.syspath_prepend(str(PACK))
    spec = importlib.util.spec_from_file_location("genai_policy_pack_main", PACK / "__main__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert _FakePack.calls == []
    module.main()
    [call] = _FakePack.calls
    assert call["name"] == "genai-platform" and call["enforcement_level"] is EnforcementLevel.MANDATORY
    assert [p.name for p in call["policies"]] == [s.name for s in POLICIES]


def test_pack_directory_runs_as_the_cli_runs_it(monkeypatch):
    # pulumi's python policy host does runpy.run_path(<pack dir>, run_name="__main__").
    _FakePack.calls = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", _FakePack)
    runpy.run_path(str(PACK), run_name="__main__")
    assert len(_FakePack.calls) == 1 and len(_FakePack.calls[0]["policies"]) == len(POLICIES)


def _pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            out[name.strip().lower()] = version.strip()
    return out


def test_pack_project_file_and_pins():
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    # The language host resolves a relative virtualenv against the pack directory.
    assert (PACK / project["runtime"]["options"]["virtualenv"]).resolve() == (ROOT / ".venv").resolve()
    pack = _pins(PACK / "requirements.txt")
    project_pins = {**_pins(ROOT / "requirements.txt"), **_pins(ROOT / "requirements-dev.txt")}
    assert set(pack) == {"pulumi", "pulumi-policy"}
    assert all(project_pins.get(name) == version for name, version in pack.items())
