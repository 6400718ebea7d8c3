"""Tests for infra.plan.graph: the component dependency picture of a plan."""

from __future__ import annotations

import re
from typing import Optional

import pytest

from infra.plan.graph import dependency_section, layer_order
from infra.plan.mocks import PlatformMocks, RecordingMonitor, Registration
from infra.plan.render import Plan, build
from infra.plan.runner import RunResult, StackConfig, load_stack_config, run_program

STACK_URN = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"
SAFE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def reg(type_: str, name: str, parent: Optional[Registration] = None, *, custom: bool = True,
        deps: tuple[Registration, ...] = (), provider: Optional[Registration] = None) -> Registration:
    """A registration as the recording monitor would store it (URN qualified by the parent's type)."""
    parent_type = parent.type if parent else "pulumi:pulumi:Stack"
    return Registration(
        urn=f"urn:pulumi:s::p::{parent_type}${type_}::{name}", type=type_, name=name,
        parent=parent.urn if parent else STACK_URN, provider=provider.urn if provider else None,
        custom=custom, protect=False, dependencies=sorted(d.urn for d in deps), inputs={})


def component(type_: str, name: str, parent: Optional[Registration] = None) -> Registration:
    return reg(type_, name, parent, custom=False)


def plan_of(regs: list[Registration]) -> Plan:
    monitor = RecordingMonitor(PlatformMocks())
    monitor.registrations.extend(regs)
    return Plan(stack=StackConfig(project="p", stack="s", values={}, secret_keys=[]), run=RunResult(monitor=monitor))


def parse(lines: list[str]) -> tuple[dict[str, str], dict[str, str], set[tuple[str, str]]]:
    """The mermaid block: node id -> label, node id -> subgraph title, arrows; anything else fails."""
    start = lines.index("```mermaid")
    body = lines[start + 1:lines.index("```", start + 1)]
    assert body[0] == "flowchart TD"
    nodes: dict[str, str] = {}
    group_of: dict[str, str] = {}
    edges: set[tuple[str, str]] = set()
    group: Optional[str] = None
    for line in body[1:]:
        if m := re.fullmatch(r'  subgraph (\w+) \["([^"]*)"\]', line):
            assert group is None and SAFE_ID.match(m[1])
            group = m[2]
        elif line == "  end":
            assert group is not None
            group = None
        elif m := re.fullmatch(r'    (\w+)\["([^"]*)"\]', line):
            assert group is not None and m[1] not in nodes and SAFE_ID.match(m[1])
            nodes[m[1]], group_of[m[1]] = m[2], group
        elif m := re.fullmatch(r"  (\w+) --> (\w+)", line):
            assert m[1] in nodes and m[2] in nodes, f"arrow between undeclared ids: {line}"
            edges.add((nodes[m[1]], nodes[m[2]]))
        else:
            pytest.fail(f"unexpected line in the mermaid block: {line!r}")
    assert group is None
    return nodes, group_of, edges


def reaches(edges: set[tuple[str, str]], src: str, dst: str) -> bool:
    seen, todo = set(), [src]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if a == node and b not in seen:
                seen.add(b)
                todo.append(b)
    return dst in seen


CLUSTER, SYSTEM, MODELS = "cluster:ExistingCluster cluster", "platform:Namespace system", "models:ModelServing models"
GATEWAY, ROUTES, TENANT = "edge:Gateway gateway", "edge:ModelRoutes model-routes", "tenancy:Tenant tenant a.b"


def synthetic() -> list[Registration]:
    """cluster -> system namespace -> {models, gateway} -> routes -> (a top-level password) -> tenant."""
    cluster = component("genai:cluster:ExistingCluster", "cluster")
    k8s = reg("pulumi:providers:kubernetes", "cluster-k8s", cluster)
    system = component("genai:platform:Namespace", "system")
    ns = reg("kubernetes:core/v1:Namespace", "system", system, provider=k8s)
    models = component("genai:models:ModelServing", "models")
    server = component("genai:models:ModelServer", "chat", models)
    deploy = reg("kubernetes:apps/v1:Deployment", "chat", server, provider=k8s, deps=(ns,))
    gateway = component("genai:edge:Gateway", "gateway")
    gw = reg("kubernetes:gateway.networking.k8s.io/v1:Gateway", "gateway", gateway, provider=k8s, deps=(ns,))
    routes = component("genai:edge:ModelRoutes", "model-routes")
    route = reg("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "chat", routes, provider=k8s, deps=(gw, deploy))
    key = reg("random:index/randomPassword:RandomPassword", "tenant-key", deps=(route,))
    tenant = component("genai:tenancy:Tenant", "tenant a.b")
    app = reg("kubernetes:apps/v1:Deployment", "app", tenant, provider=k8s, deps=(key, ns))
    return [cluster, k8s, system, ns, models, server, deploy, gateway, gw, routes, route, key, tenant, app]


def test_waves_follow_dependencies_and_providers():
    assert layer_order(plan_of(synthetic())) == [[CLUSTER], [SYSTEM], [GATEWAY, MODELS], [ROUTES], [TENANT]]


def test_picture_keeps_only_arrows_not_implied_by_others():
    _, _, edges = parse(dependency_section(plan_of(synthetic())))
    assert edges == {(CLUSTER, SYSTEM), (SYSTEM, MODELS), (SYSTEM, GATEWAY), (MODELS, ROUTES),
                     (GATEWAY, ROUTES), (ROUTES, TENANT)}


def test_only_top_level_components_are_drawn_grouped_by_layer():
    nodes, group_of, _ = parse(dependency_section(plan_of(synthetic())))
    assert sorted(nodes.values()) == sorted([CLUSTER, SYSTEM, MODELS, GATEWAY, ROUTES, TENANT])
    for ident, label in nodes.items():
        assert group_of[ident] == "genai:" + label.split(":", 1)[0]
    assert len(set(group_of.values())) == 5


def test_ids_are_safe_and_unique_when_names_collide_after_cleaning():
    regs = [component("genai:data:Cache", "a-b"), component("genai:data:Cache", "a_b"),
            component("genai:data:Cache", "end")]
    lines = dependency_section(plan_of(regs))
    nodes, _, _ = parse(lines)
    assert sorted(nodes.values()) == ["data:Cache a-b", "data:Cache a_b", "data:Cache end"]
    assert len(nodes) == 3 and all(SAFE_ID.match(i) and i != "end" for i in nodes)


def test_output_does_not_depend_on_registration_order():
    regs = synthetic()
    assert dependency_section(plan_of(regs)) == dependency_section(plan_of(list(reversed(regs))))
    assert layer_order(plan_of(regs)) == layer_order(plan_of(list(reversed(regs))))


def test_components_waiting_on_each_other_share_a_wave_and_are_named():
    a, b, c = (component("genai:data:Store", n) for n in "abc")
    b1 = reg("kubernetes:core/v1:Secret", "b1", b)
    a1 = reg("kubernetes:core/v1:Secret", "a1", a, deps=(b1,))
    a2 = reg("kubernetes:core/v1:Secret", "a2", a)
    b2 = reg("kubernetes:core/v1:Secret", "b2", b, deps=(a2,))
    c1 = reg("kubernetes:core/v1:Secret", "c1", c, deps=(b2,))
    plan = plan_of([a, b, c, a1, a2, b1, b2, c1])
    assert layer_order(plan) == [["data:Store a", "data:Store b"], ["data:Store c"]]
    lines = dependency_section(plan)
    _, _, edges = parse(lines)
    assert edges == {("data:Store a", "data:Store b"), ("data:Store b", "data:Store a"), ("data:Store b", "data:Store c")}
    assert lines[-1] == "Components that wait on each other (one wave): `data:Store a`, `data:Store b`"


def test_a_plan_without_components_says_so():
    lines = dependency_section(plan_of([reg("random:index/randomPassword:RandomPassword", "pw")]))
    assert lines == ["", "## Component dependencies", "", "No components in this stack."]
    assert layer_order(plan_of([])) == []


@pytest.fixture(scope="module")
def onprem() -> Plan:
    cfg = load_stack_config("onprem")
    plan = build(cfg, run_program(cfg))
    assert plan.errors == []
    return plan


def by_kind(labels, prefix: str) -> list[str]:
    return [n for n in labels if n.startswith(prefix)]


def test_onprem_picture_parses_and_shows_every_component(onprem):
    nodes, _, _ = parse(dependency_section(onprem))
    tops = [r for r in onprem.registrations if r.parent and r.parent.endswith("pulumi:pulumi:Stack::genai-platform-onprem")]
    assert sorted(nodes.values()) == sorted(f"{r.type[len('genai:'):]} {r.name}" for r in tops)


def test_onprem_cluster_before_models_and_data(onprem):
    nodes, _, edges = parse(dependency_section(onprem))
    data = by_kind(nodes.values(), "data:")
    assert data and "models:ModelServing models" in nodes.values()
    for target in ["models:ModelServing models", *data]:
        assert reaches(edges, "cluster:ExistingCluster cluster", target), target


def test_onprem_gateway_before_model_routes(onprem):
    _, _, edges = parse(dependency_section(onprem))
    assert reaches(edges, "edge:Gateway gateway", "edge:ModelRoutes model-routes")
    assert reaches(edges, "models:ModelServing models", "edge:ModelRoutes model-routes")


def test_onprem_tenant_namespaces_come_up_before_the_data_layer(onprem):
    """Nothing in the data layer waits for a tenant namespace (its policies name them), but the
    namespaces come up in an earlier wave than any database, and before their tenants."""
    waves = layer_order(onprem)
    wave = {label: i for i, labels in enumerate(waves) for label in labels}
    namespaces, data = by_kind(wave, "tenancy:Namespace "), by_kind(wave, "data:")
    assert namespaces and data
    assert max(wave[n] for n in namespaces) < min(wave[d] for d in data)
    _, _, edges = parse(dependency_section(onprem))
    for ns in namespaces:
        assert reaches(edges, ns, "tenancy:Tenant " + ns.split(" ", 1)[1].removesuffix("-ns"))


def test_onprem_has_no_cycles(onprem):
    waves = layer_order(onprem)
    flat = [label for labels in waves for label in labels]
    assert len(flat) == len(set(flat))
    wave = {label: i for i, labels in enumerate(waves) for label in labels}
    lines = dependency_section(onprem)
    _, _, edges = parse(lines)
    assert all(wave[a] < wave[b] for a, b in edges)
    assert not any(line.startswith("Components that wait on each other") for line in lines)
