"""The offline runner: recorded registrations -> violations -> plan errors and the summary's Policies section."""

from __future__ import annotations

from infra.plan.mocks import PlatformMocks, RecordingMonitor, Registration
from infra.plan.policy import check_plan, evaluate, record_of
from infra.plan.render import build
from infra.plan.runner import RunResult, StackConfig, load_stack_config
from infra.plan.summary import render_summary
from policies.genai_policies import POLICIES, context_from_config

STACK = "urn:pulumi:dev::genai-platform::pulumi:pulumi:Stack::genai-platform-dev"


def _reg(obj: dict, type_: str, name: str, protect: bool = False) -> Registration:
    return Registration(urn=f"urn:pulumi:dev::genai-platform::{type_}::{name}", type=type_, name=name, parent=STACK,
                        provider="urn:pulumi:dev::genai-platform::pulumi:providers:kubernetes::k8s", custom=True,
                        protect=protect, dependencies=[], inputs=obj)


def _namespace() -> Registration:
    return _reg({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}, "kubernetes:core/v1:Namespace", "apps")


def _deny() -> Registration:
    return _reg({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": "default-deny", "namespace": "apps"},
                 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
                "kubernetes:networking.k8s.io/v1:NetworkPolicy", "apps-default-deny")


def _lb_service() -> Registration:
    return _reg({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "apps"},
                 "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}},
                "kubernetes:core/v1:Service", "web")


def _pvc(protect: bool) -> Registration:
    return _reg({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "apps"},
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
                "kubernetes:core/v1:PersistentVolumeClaim", "data", protect)


def test_record_of_keeps_what_the_rules_read():
    reg = _pvc(True)
    r = record_of(reg)
    assert (r.type, r.name, r.urn, r.props, r.protect, r.parent) == (reg.type, reg.name, reg.urn, reg.inputs, True, STACK)


def test_check_plan_names_policy_resource_and_fix():
    violations = check_plan([_namespace(), _lb_service()])
    assert [(v.policy, v.urn) for v in violations] == [
        ("no-load-balancer-services", _lb_service().urn), ("default-deny-per-namespace", _namespace().urn)]
    assert str(violations[0]).startswith("policy no-load-balancer-services: Service apps/web: type is LoadBalancer:")
    assert str(violations[1]).startswith("policy default-deny-per-namespace: Namespace apps: has no default-deny")
    assert check_plan([_namespace(), _deny()]) == []


def test_stack_config_switches_protection_on():
    regs = [_namespace(), _deny(), _pvc(False)]
    assert check_plan(regs, {"genai-platform:protect": "false"}) == []
    found = check_plan(regs, {"genai-platform:protect": "true"})
    assert [v.policy for v in found] == ["protected-stateful", "protected-stateful"]     # the claim and its namespace


def test_evaluate_counts_per_policy():
    results = {r.policy: r for r in evaluate([_namespace(), _deny(), _lb_service()])}
    assert list(results) == [s.name for s in POLICIES]
    lb = results["no-load-balancer-services"]
    assert (lb.checked, lb.failed, lb.passed) == (3, 1, 2)
    assert (results["default-deny-per-namespace"].checked, results["default-deny-per-namespace"].failed) == (1, 0)


def _plan(regs: list[Registration]):
    monitor = RecordingMonitor(PlatformMocks())
    monitor.registrations = regs
    stack = StackConfig(project="genai-platform", stack="dev", values={"genai-platform:protect": "false"}, secret_keys=[])
    return build(stack, RunResult(monitor=monitor))


def test_render_adds_violations_as_errors_and_summary_counts():
    plan = _plan([_namespace(), _deny(), _lb_service()])
    assert [e for e in plan.errors if e.startswith("policy ")] == [
        "policy no-load-balancer-services: Service apps/web: type is LoadBalancer: make it ClusterIP and publish it "
        "through the platform's Gateway (an HTTPRoute)"]
    summary = render_summary(plan)
    assert "## Policies" in summary
    assert "| no-load-balancer-services | 3 | 2 | 1 |" in summary
    assert "| default-deny-per-namespace | 1 | 1 | 0 |" in summary
    clean = _plan([_namespace(), _deny()])
    assert not [e for e in clean.errors if e.startswith("policy ")]


def test_local_stack_has_no_violations(run):
    result = run("local")
    assert result.error is None
    assert [str(v) for v in check_plan(result.monitor.registrations, load_stack_config("local").values)] == []


def test_context_defaults_are_the_schema_defaults():
    from infra.schema import NamespacesConfig
    from infra.schema_edge import GatewayConfig

    defaults = context_from_config({})
    assert defaults.gpu_operator_namespace == NamespacesConfig().gpu_operator
    assert defaults.gateway_namespace == GatewayConfig.model_fields["namespace"].default
    assert defaults.stack_protected is False
    assert context_from_config(load_stack_config("prod-aws").values).stack_protected is True
