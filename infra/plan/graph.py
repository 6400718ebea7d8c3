"""The plan's dependency picture: which top-level component waits for which.

A reviewer reads the order a deployment would follow from ``summary.md`` without tracing
hundreds of URNs. The picture has one node per top-level component (a ``genai:<layer>:<Type>``
component registered directly under the stack), grouped by layer, and an arrow A --> B when a
resource anywhere under B waits for a resource anywhere under A. "Waits for" means what the
engine waits for: the recorded ``dependencies`` and the resource's explicit provider (a
Kubernetes object waits for the provider the cluster component hands out, so the cluster comes
first even where no ``depends_on`` says so). Arrows implied by others are left out (transitive
reduction) so the picture stays readable. Top-level resources that are not components pass
order through: A -> x -> B becomes A --> B.

Components can legitimately wait on each other in both directions (a child of A waits for one
of B and another child of B for one of A); such a group shares a level, keeps all its arrows
and is named under the picture, instead of failing the summary.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from infra.plan.mocks import Registration

STACK_TYPE = "pulumi:pulumi:Stack"
_COMPONENT_TYPE = re.compile(r"^genai:([A-Za-z0-9_-]+):([A-Za-z0-9_]+)$")

Graph = dict[str, set[str]]


class HasRegistrations(Protocol):
    """What the picture needs from a plan (``infra.plan.render.Plan`` has it)."""

    @property
    def registrations(self) -> list[Registration]: ...


def _urn_type(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<qualified type>::<name>; the name may itself contain "::".
    parts = urn.split("::", 3)
    return parts[2].rsplit("$", 1)[-1] if len(parts) == 4 else ""


def _is_top(reg: Registration) -> bool:
    return reg.parent is None or _urn_type(reg.parent) == STACK_TYPE


def _is_component(reg: Registration) -> bool:
    return _is_top(reg) and not reg.custom and _COMPONENT_TYPE.match(reg.type) is not None


def _label(reg: Registration) -> str:
    """``genai:edge:Gateway`` named ``gateway`` -> ``edge:Gateway gateway`` (unique per stack)."""
    return f"{reg.type.split(':', 1)[1]} {reg.name}"


def _layer(reg: Registration) -> str:
    return reg.type.split(":")[1]


def _owners(regs: Sequence[Registration]) -> dict[str, str]:
    """Each resource's top-level registration (itself when it is top-level)."""
    by_urn = {r.urn: r for r in regs}
    owner: dict[str, str] = {}
    for reg in regs:
        node = reg
        while not _is_top(node) and node.parent in by_urn:
            node = by_urn[node.parent]
        owner[reg.urn] = node.urn
    return owner


def _top_graph(regs: Sequence[Registration], owner: dict[str, str]) -> Graph:
    """Arrows between top-level registrations: from what is waited for to what waits."""
    succ: Graph = defaultdict(set)
    for reg in regs:
        waits = [*reg.dependencies, *([reg.provider] if reg.provider else [])]
        for dep in waits:
            src, dst = owner.get(dep), owner[reg.urn]
            if src is not None and src != dst:
                succ[src].add(dst)
    return succ


def _component_graph(components: Iterable[str], top: Graph) -> Graph:
    """Arrows between components, passing through top-level registrations that are not components."""
    comps = set(components)
    out: Graph = {c: set() for c in comps}
    for start in comps:
        seen: set[str] = set()
        stack = sorted(top.get(start, ()))
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in comps:
                if node != start:
                    out[start].add(node)
            else:
                stack.extend(sorted(top.get(node, ())))
    return out


def _strongly_connected(succ: Graph) -> list[frozenset[str]]:
    """Tarjan's strongly connected components, visiting nodes in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(succ[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(frozenset(group))

    for node in sorted(succ):
        if node not in index:
            visit(node)
    return groups


def _levels(succ: Graph, group_of: dict[str, frozenset[str]]) -> dict[str, int]:
    """Longest-path level of every node on the graph of groups: 0 waits for nothing."""
    preds: dict[frozenset[str], set[frozenset[str]]] = defaultdict(set)
    for src, dsts in succ.items():
        for dst in dsts:
            if group_of[src] != group_of[dst]:
                preds[group_of[dst]].add(group_of[src])
    memo: dict[frozenset[str], int] = {}

    def level(group: frozenset[str]) -> int:
        if group not in memo:
            memo[group] = 1 + max((level(p) for p in preds[group]), default=-1)
        return memo[group]

    return {node: level(group_of[node]) for node in succ}


def _reduced(succ: Graph, group_of: dict[str, frozenset[str]]) -> set[tuple[str, str]]:
    """Arrows not implied by a longer path (arrows inside a mutually waiting group all stay)."""
    gsucc: dict[frozenset[str], set[frozenset[str]]] = defaultdict(set)
    for src, dsts in succ.items():
        for dst in dsts:
            if group_of[src] != group_of[dst]:
                gsucc[group_of[src]].add(group_of[dst])
    reach: dict[frozenset[str], set[frozenset[str]]] = {}

    def reachable(group: frozenset[str]) -> set[frozenset[str]]:
        if group not in reach:
            reach[group] = set().union(*({n, *reachable(n)} for n in gsucc[group])) if gsucc[group] else set()
        return reach[group]

    keep: set[tuple[str, str]] = set()
    for src, dsts in succ.items():
        for dst in dsts:
            a, b = group_of[src], group_of[dst]
            if a == b or not any(b in reachable(other) for other in gsucc[a] if other != b):
                keep.add((src, dst))
    return keep


class _Picture:
    """The component graph of a plan, keyed by label, with levels and mutually waiting groups."""

    def __init__(self, plan: HasRegistrations):
        regs = list(plan.registrations)
        comps = sorted((r for r in regs if _is_component(r)), key=lambda r: r.urn)
        self.label = {r.urn: _label(r) for r in comps}
        self.layer = {_label(r): _layer(r) for r in comps}
        owner = _owners(regs)
        by_urn = _component_graph(self.label, _top_graph(regs, owner))
        self.succ: Graph = {self.label[a]: {self.label[b] for b in bs} for a, bs in by_urn.items()}
        groups = _strongly_connected(self.succ)
        self.group_of = {node: group for group in groups for node in group}
        self.cycles = sorted(sorted(g) for g in groups if len(g) > 1)
        self.level = _levels(self.succ, self.group_of)
        self.edges = _reduced(self.succ, self.group_of)


def layer_order(plan: HasRegistrations) -> list[list[str]]:
    """Components in deployment waves: each wave waits only for earlier ones.

    Entries are labels such as ``edge:Gateway gateway``, sorted within a wave. Components that
    wait on each other share a wave.
    """
    pic = _Picture(plan)
    waves: dict[int, list[str]] = defaultdict(list)
    for node, lvl in pic.level.items():
        waves[lvl].append(node)
    return [sorted(waves[lvl]) for lvl in sorted(waves)]


def _safe_ids(labels: Sequence[str], prefix: str) -> dict[str, str]:
    """Mermaid ids from labels: letters, digits and ``_`` only, unique, never a keyword."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for label in labels:
        base = prefix + re.sub(r"[^A-Za-z0-9_]", "_", label)
        ident, n = base, 2
        while ident in used:
            ident, n = f"{base}_{n}", n + 1
        used.add(ident)
        ids[label] = ident
    return ids


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def dependency_section(plan: HasRegistrations) -> list[str]:
    """Markdown lines for ``summary.md``: a mermaid flowchart of the components, by layer.

    Starts with a blank line and ends without one, so it can go before any other section of the
    summary (each of which opens with its own blank line or heading).
    """
    pic = _Picture(plan)
    out = ["", "## Component dependencies", ""]
    if not pic.succ:
        return out + ["No components in this stack."]
    out += ["An arrow points from a component to one that waits for it (its `dependencies` or its "
            "provider); arrows implied by a longer path are left out.", "", "```mermaid", "flowchart TD"]
    order = sorted(pic.succ, key=lambda n: (pic.level[n], n))
    rank = {n: i for i, n in enumerate(order)}
    node_id = _safe_ids(order, "n_")
    # Layers in the order their components come up on average: cluster and platform first, tenants last.
    waves = {lay: [pic.level[n] for n in order if pic.layer[n] == lay] for lay in set(pic.layer.values())}
    layers = sorted(waves, key=lambda lay: (sum(waves[lay]) / len(waves[lay]), lay))
    layer_id = _safe_ids(layers, "layer_")
    for lay in layers:
        out.append(f"  subgraph {layer_id[lay]} [{_quoted('genai:' + lay)}]")
        out += [f"    {node_id[n]}[{_quoted(n)}]" for n in order if pic.layer[n] == lay]
        out.append("  end")
    out += [f"  {node_id[a]} --> {node_id[b]}" for a, b in sorted(pic.edges, key=lambda e: (rank[e[0]], rank[e[1]]))]
    out.append("```")
    if pic.cycles:
        out += ["", "Components that wait on each other (one wave): "
                + "; ".join(", ".join(f"`{n}`" for n in group) for group in pic.cycles)]
    return out


__all__ = ["dependency_section", "layer_order"]
