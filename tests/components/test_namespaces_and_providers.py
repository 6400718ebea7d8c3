"""Namespaces, network policies, providers and parents of everything Kubernetes."""

from __future__ import annotations

import pytest

from components.platform import network_policies


def test_baseline_policies_deny_all_and_allow_dns():
    deny, dns = network_policies.baseline("ns", {})
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    rule = dns["spec"]["egress"][0]
    assert rule["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert rule["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


@pytest.mark.parametrize("stack", ["local", "onprem"])
def test_every_namespace_we_create_has_labels_and_baseline_policies(run, stack):
    mon = run(stack).monitor
    namespaces = [r.inputs["metadata"] for r in mon.by_type("kubernetes:core/v1:Namespace")]
    assert namespaces
    policies = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
                for r in mon.registrations if r.type.endswith(":NetworkPolicy")}
    for meta in namespaces:
        labels = meta["labels"]
        for key in ("name", "instance", "component", "part-of", "managed-by"):
            assert f"app.kubernetes.io/{key}" in labels
        assert labels["app.kubernetes.io/managed-by"] == "pulumi"
        assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.33"
        assert (meta["name"], "default-deny") in policies
        assert (meta["name"], "allow-dns") in policies


def test_platform_namespace_is_restricted(run):
    mon = run("local").monitor
    (ns,) = [r for r in mon.by_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "genai-system"]
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("stack", ["local", "onprem"])
def test_every_kubernetes_resource_has_the_explicit_provider_and_a_parent(run, stack):
    mon = run(stack).monitor
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    k8s = [r for r in mon.registrations if r.custom and r.type.startswith("kubernetes:")]
    assert k8s
    for r in k8s:
        assert r.provider == provider.urn, r.urn
        assert r.parent and "genai:" in r.parent, f"{r.urn} must be parented to a platform component"
    assert mon.violations == []


def test_missing_provider_is_caught_by_the_plan(tmp_path):
    """A Kubernetes resource without a provider would touch someone's ~/.kube/config; with the
    default provider disabled, the recording monitor reports it (and the plan fails)."""
    from infra.plan.runner import load_stack_config, run_program

    (tmp_path / "__main__.py").write_text(
        "import pulumi_kubernetes as k8s\n"
        "k8s.core.v1.Namespace('stray', metadata={'name': 'stray'})\n"
    )
    result = run_program(load_stack_config("local"), program_dir=tmp_path)
    assert result.error is None
    assert len(result.monitor.violations) == 1
    assert "Namespace::stray" in result.monitor.violations[0]
    assert "default kubernetes provider is disabled" in result.monitor.violations[0]


def test_kubeconfig_secret_stays_secret(run):
    secret = "apiVersion: v1\nclusters: []\n# SECRET-MARKER-7f3a"
    mon = run("onprem", secrets={"genai-platform:kubeconfig": secret}).monitor
    (provider,) = mon.by_type("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert provider.inputs["context"] == "onprem-admin"


def test_protect_flows_to_namespaces(run):
    assert all(r.protect for r in run("onprem").monitor.by_type("kubernetes:core/v1:Namespace"))
    assert not any(r.protect for r in run("local").monitor.by_type("kubernetes:core/v1:Namespace"))
