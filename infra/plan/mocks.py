"""Recording mocks: a resource monitor that keeps what the engine would be told.

Serves the offline plan and ``tests/conftest.py``. For every registration it records the
type, name, parent, provider, ``protect``, the dependencies the engine would wait for, and
the inputs (secrets replaced by ``"[secret]"``). Mocked outputs are realistic per type, so
code that reads ids, names or status fields sees what a real deployment returns.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

SECRET = "[secret]"
UNKNOWN = "[unknown]"
_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    provider: Optional[str]
    custom: bool
    protect: bool
    dependencies: list[str]
    inputs: dict
    id: Optional[str] = None
    # Property paths the engine would not diff (e.g. a node count an autoscaler owns).
    ignore_changes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent,
            "provider": self.provider, "custom": self.custom, "protect": self.protect,
            "dependencies": self.dependencies, "inputs": self.inputs,
        }


def scrub(value: Any) -> Any:
    """Plain JSON from wire values: secrets masked, resource references as URNs."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return SECRET
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    # The wire format has only doubles; integers come back as 3.0.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _provider_urn(ref: str) -> Optional[str]:
    # Provider references are "<urn>::<id>"; keep the URN.
    return ref.rsplit("::", 1)[0] if ref else None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, disabled_default_providers: tuple[str, ...] = ()):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.stack_outputs: dict = {}
        self.violations: list[str] = []
        self.disabled_default_providers = disabled_default_providers
        self._stack_urn: Optional[str] = None

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self._stack_urn = urn
            return super().RegisterResource(request)
        inputs = json_format.MessageToDict(request.object)
        package = request.type.split(":", 1)[0]
        if (request.custom and not request.provider and package in self.disabled_default_providers
                and not request.type.startswith("pulumi:providers:")):
            self.violations.append(f"{urn}: no explicit provider, and the default {package} provider is disabled")
        deps = set(request.dependencies)
        for prop in request.propertyDependencies.values():
            deps.update(prop.urns)
        response = super().RegisterResource(request)
        self.registrations.append(Registration(
            urn=urn, type=request.type, name=request.name, parent=request.parent or None,
            provider=_provider_urn(request.provider), custom=bool(request.custom),
            protect=bool(request.protect), dependencies=sorted(deps), inputs=scrub(inputs),
            id=response.id or None, ignore_changes=list(request.ignoreChanges),
        ))
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn == self._stack_urn:
            self.stack_outputs = scrub(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)

    def by_type(self, prefix: str) -> list[Registration]:
        return [r for r in self.registrations if r.type.startswith(prefix)]


KUBECONFIG_STUB = """apiVersion: v1
kind: Config
clusters:
- name: plan
  cluster: {server: "https://plan.invalid:6443"}
contexts:
- name: plan
  context: {cluster: plan, user: plan}
current-context: plan
users:
- name: plan
  user: {token: "[secret]"}
"""


def fake_id(kind: str, name: str) -> str:
    return f"{kind}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


# Cloud resource outputs live in one module per provider package (``infra/plan/mocks_<pkg>.py``),
# each with ``new_resource(args) -> (id, outputs)`` and ``call(args) -> dict``.
_CLOUD_MOCKS = {"aws": "aws", "gcp": "gcp", "azure-native": "azure"}


def _cloud_mock(token: str):
    package = token.split(":", 1)[0]
    module = _CLOUD_MOCKS.get(package)
    return importlib.import_module(f"infra.plan.mocks_{module}") if module else None


class PlatformMocks(pulumi.runtime.Mocks):
    """Outputs shaped like a real deployment's, per resource type."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        t, inputs = args.typ, dict(args.inputs)
        cloud = _cloud_mock(t)
        if cloud is not None:
            return cloud.new_resource(args)
        if t.startswith("pulumi:providers:"):
            return fake_id("provider", args.name), inputs
        if t == "kubernetes:helm.sh/v3:Release":
            name = inputs.get("name") or args.name
            inputs["status"] = {
                "name": name, "namespace": inputs.get("namespace", "default"), "status": "deployed",
                "revision": 1, "chart": inputs.get("chart"), "version": inputs.get("version"),
                "appVersion": inputs.get("version"),
            }
            return f"{inputs.get('namespace', 'default')}/{name}", inputs
        if t.startswith("kubernetes:"):
            meta = dict(inputs.get("metadata") or {})
            meta.setdefault("name", args.name)
            meta["uid"] = fake_id("uid", args.name)
            inputs["metadata"] = meta
            ns = meta.get("namespace")
            return (f"{ns}/{meta['name']}" if ns else meta["name"]), inputs
        if t == "random:index/randomPassword:RandomPassword":
            inputs["result"] = "plan-" + hashlib.sha256(args.name.encode()).hexdigest()[:24]
            return fake_id("password", args.name), inputs
        return fake_id(t.rsplit(":", 1)[-1].lower(), args.name), inputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        cloud = _cloud_mock(args.token)
        return cloud.call(args) if cloud is not None else {}
