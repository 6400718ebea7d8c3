"""Every policy test runs twice: through the pure rule and through the policy pack's adapter.

``check`` runs one policy by name over a record (resource policies) or a list of records
(stack policies) and returns the violation messages; ``make`` builds the records. Its ``pack`` variant builds the
pulumi_policy Policy the pack serves and calls its validate callable with the argument
objects the analyzer builds (props wrapped in pulumi_policy's unknown-checking proxies).
"""

from __future__ import annotations

import copy
from typing import Union

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from infra.plan.validate import validate_manifest
from policies.genai_policies import POLICIES, PolicyContext, Record
from policies.genai_policies.adapters import to_policy

SPECS = {spec.name: spec for spec in POLICIES}
K8S_VERSION = "1.33"


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def pack_resource(record: Record) -> PolicyResource:
    return PolicyResource(record.type, unknown_checking_proxy(copy.deepcopy(dict(record.props))), record.urn,
                          record.name, options(record.protect), None, None, [], {})


def _pure(name: str, subject: Union[Record, list[Record]], ctx: PolicyContext) -> list[str]:
    spec = SPECS[name]
    if spec.scope == "resource":
        return spec.check(subject, ctx)
    return [f.message for f in spec.check(subject, ctx)]


def _pack(name: str, subject: Union[Record, list[Record]], ctx: PolicyContext) -> list[str]:
    policy = to_policy(SPECS[name], context=lambda: ctx)
    got: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        got.append(message)

    if isinstance(subject, Record):
        args = ResourceValidationArgs(subject.type, unknown_checking_proxy(copy.deepcopy(dict(subject.props))),
                                      subject.urn, subject.name, options(subject.protect), None)
    else:
        args = StackValidationArgs([pack_resource(r) for r in subject])
    policy.validate(args, report)
    return got


@pytest.fixture(params=["pure", "pack"])
def check(request):
    return _pure if request.param == "pure" else _pack


def k8s(obj: dict, protect: bool = False, name: str | None = None) -> Record:
    """A record of a Kubernetes object as both paths see it: type token from apiVersion/kind."""
    api, kind = obj["apiVersion"], obj["kind"]
    token = f"kubernetes:{api if '/' in api else 'core/' + api}:{kind}"
    logical = name or obj["metadata"]["name"]
    return Record(type=token, name=logical, urn=f"urn:pulumi:test::genai-platform::{token}::{logical}",
                  props=obj, protect=protect)


def release(chart: str, values: dict, namespace: str = "apps", name: str | None = None, protect: bool = False) -> Record:
    token = "kubernetes:helm.sh/v3:Release"
    rel = name or chart.rsplit("/", 1)[-1]
    return Record(type=token, name=rel, urn=f"urn:pulumi:test::genai-platform::{token}::{rel}", protect=protect,
                  props={"name": rel, "chart": chart, "version": "1.0.0", "namespace": namespace, "values": values})


def assert_valid(obj: dict) -> None:
    """The fixture is a real object of its kind (Kubernetes OpenAPI or the CRD's schema)."""
    assert validate_manifest(obj, K8S_VERSION) == []


def container(name: str = "app", image: str = "ghcr.io/example/app:1.2.3", **extra) -> dict:
    c = {"name": name, "image": image,
         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}}
    c.update(extra)
    return c


def deployment(name: str = "app", namespace: str = "apps", containers: list | None = None, replicas: int | None = None,
               labels: dict | None = None, **pod) -> dict:
    labels = labels or {"app.kubernetes.io/name": name}
    spec: dict = {"selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": containers or [container()], **pod}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


class Make:
    """Record builders shared by the policy tests (the ``make`` fixture)."""

    k8s = staticmethod(k8s)
    release = staticmethod(release)
    container = staticmethod(container)
    deployment = staticmethod(deployment)
    assert_valid = staticmethod(assert_valid)


@pytest.fixture
def make() -> type[Make]:
    return Make
