"""The offline plan: every stack renders and validates; files have the documented shape."""

from __future__ import annotations

import json

import pytest
import yaml

from infra.plan.__main__ import main
from infra.plan.render import build, write
from infra.plan.runner import available_stacks, load_stack_config, run_program
from infra.plan.summary import render_summary

STACKS = available_stacks()
RESOURCE_KEYS = {"urn", "type", "name", "parent", "provider", "custom", "protect", "dependencies", "inputs"}


def test_there_are_stacks():
    assert {"local", "onprem"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_plans_with_zero_validation_errors(stack):
    cfg = load_stack_config(stack)
    plan = build(cfg, run_program(cfg))
    assert plan.errors == []
    assert plan.manifests, "every stack renders Kubernetes objects"


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_disables_the_default_kubernetes_provider(stack):
    assert "kubernetes" in load_stack_config(stack).disabled_default_providers


def test_plan_writes_the_documented_files(tmp_path):
    assert main(["--stack", "onprem", "--out", str(tmp_path)]) == 0
    out = tmp_path / "onprem"
    doc = json.loads((out / "resources.json").read_text())
    assert doc["project"] == "genai-platform" and doc["stack"] == "onprem"
    assert doc["resources"] and all(set(r) == RESOURCE_KEYS for r in doc["resources"])
    assert doc["outputs"]["cluster"]["kind"] == "existing"
    by_type = {r["type"] for r in doc["resources"]}
    assert "kubernetes:helm.sh/v3:Release" in by_type
    ns = yaml.safe_load((out / "manifests" / "_cluster" / "namespace-gpu-operator.yaml").read_text())
    assert list(ns)[:3] == ["apiVersion", "kind", "metadata"]
    assert (out / "manifests" / "gpu-operator" / "networkpolicy-default-deny.yaml").exists()
    assert (out / "manifests" / "_cluster" / "storageclass-nfs-rwx.yaml").exists()
    helm = yaml.safe_load((out / "helm" / "gpu-operator" / "gpu-operator.yaml").read_text())
    assert set(helm) == {"chart", "repository", "version", "namespace", "values"}
    assert helm["version"] == "v26.7.0"
    summary = (out / "summary.md").read_text()
    assert "**Validation: PASS**" in summary
    assert "| l40s | L40S | 48 | 4 | time-slicing |" in summary
    # The cost estimate (an existing cluster has no cloud cost) and the component picture.
    assert json.loads((out / "cost.json").read_text())["monthlyUsd"] == {"min": 0.0, "max": 0.0}
    assert "## Estimated monthly cost\n\nNo cloud cost (existing cluster)." in summary
    assert "## Component dependencies" in summary and "```mermaid" in summary


def test_every_manifest_object_is_on_disk(tmp_path):
    cfg = load_stack_config("onprem")
    plan = build(cfg, run_program(cfg))
    write(plan, tmp_path, render_summary(plan))
    assert len(list((tmp_path / "manifests").rglob("*.yaml"))) == len(plan.manifests)
    assert len(list((tmp_path / "helm").rglob("*.yaml"))) == len(plan.releases)
    eg, aieg = "oci://docker.io/envoyproxy/", "oci://registry.k8s.io/gateway-api-inference-extension/charts/"
    assert {r["chart"] for r in plan.releases} == {
        "csi-driver-nfs", "gpu-operator", "keda", "cert-manager", "cloudnative-pg", "psmdb-operator",
        "k8ssandra-operator", "valkey", "qdrant", f"{eg}gateway-crds-helm", f"{eg}gateway-helm",
        f"{eg}ai-gateway-crds-helm", f"{eg}ai-gateway-helm", f"{aieg}inferencepool",
        "kube-prometheus-stack", "loki", "alloy", "velero"}


def test_invalid_object_fails_the_plan(tmp_path):
    (tmp_path / "__main__.py").write_text(
        "import pulumi_kubernetes as k8s\n"
        "p = k8s.Provider('p')\n"
        "k8s.core.v1.ConfigMap('bad', metadata={'name': 'bad'}, data={'k': 'v'},\n"
        "    opts=__import__('pulumi').ResourceOptions(provider=p))\n"
        "k8s.apiextensions.CustomResource('cp', api_version='nvidia.com/v1', kind='ClusterPolicy',\n"
        "    metadata={'name': 'cp'}, spec={'drivr': {}},\n"
        "    opts=__import__('pulumi').ResourceOptions(provider=p))\n"
    )
    cfg = load_stack_config("local")
    plan = build(cfg, run_program(cfg, program_dir=tmp_path))
    assert any("ClusterPolicy _cluster/cp" in e and "drivr" in e for e in plan.errors), plan.errors
    assert "FAIL" in render_summary(plan)


def test_config_error_fails_the_plan_without_files_of_resources():
    cfg = load_stack_config("local", overrides={"protect": "maybe"})
    plan = build(cfg, run_program(cfg))
    assert plan.errors and "genai-platform:protect" in plan.errors[0]
    assert plan.registrations == []


def test_unknown_stack_is_a_clean_error(capsys):
    assert main(["--stack", "nope"]) == 2
    assert "no stack file stacks/Pulumi.nope.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_reaches_the_plan_output(tmp_path, stack):
    marker = "kubeconfig-SECRET-8c1e5d"
    # Cloud targets build their own kubeconfig (the setting is an error there); it must stay secret too.
    target = json.loads(load_stack_config(stack).values.get("genai-platform:cluster", "{}")).get("target", "existing")
    secrets = {"genai-platform:kubeconfig": f"apiVersion: v1\n# {marker}\n"} if target == "existing" else None
    cfg = load_stack_config(stack, secrets=secrets)
    plan = build(cfg, run_program(cfg))
    assert plan.errors == []
    write(plan, tmp_path, render_summary(plan))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_text()
        assert marker not in text, path
        assert "plan-placeholder-for-" not in text, path
    provider = next(r for r in plan.registrations if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
