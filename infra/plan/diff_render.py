"""Rendering a plan diff (``infra.plan.diff``) as the markdown review or as JSON."""

from __future__ import annotations

import json
from typing import Any

from infra.plan.diff import ABSENT, MAX_FIELDS_SHOWN, MAX_VALUE, CostDelta, FieldChange, PlanDiff, _paths


def show(value: Any, limit: int = MAX_VALUE) -> str:
    """A value as inline markdown code, JSON-quoted and cut to ``limit`` characters."""
    text = repr(value) if value is ABSENT else json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "`" + text.replace("`", "'") + "`"


def _field_lines(fields: tuple[FieldChange, ...], indent: str = "") -> list[str]:
    lines = [f"{indent}- `{f.path}`: {show(f.old)} -> {show(f.new)}" for f in fields[:MAX_FIELDS_SHOWN]]
    if len(fields) > MAX_FIELDS_SHOWN:
        lines.append(f"{indent}- … {len(fields) - MAX_FIELDS_SHOWN} more field(s) (see `--json`)")
    return lines


def _usd(value: float, signed: bool = False) -> str:
    sign = ("+" if value >= 0 else "-") if signed else ("-" if value < 0 else "")
    return f"{sign}${abs(value):,.2f}"


def cost_line(cost: CostDelta) -> str:
    """One line: monthly min and max before and after, and their deltas."""
    parts = [f"{label} {_usd(b)} -> {_usd(h)} ({_usd(h - b, signed=True)})"
             for label, b, h in (("min", cost.base[0], cost.head[0]), ("max", cost.base[1], cost.head[1]))]
    return "Cost: monthly " + ", ".join(parts)


def render_markdown(diff: PlanDiff) -> str:
    """The review comment: protected/stateful risks first, then resources, outputs and cost."""
    out = [f"# Plan diff: {diff.base} -> {diff.head}", "",
           f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed; "
           f"{len(diff.outputs)} stack output field(s) changed.", "",
           "## Replacements and deletions of protected or stateful resources", ""]
    out += [f"- **{r.action}** `{r.type}` `{r.name}` ({'; '.join(r.reasons)}): {r.detail}" for r in diff.risks] or ["None."]
    for title, resources in (("Added", diff.added), ("Removed", diff.removed)):
        out += ["", f"## {title} ({len(resources)})", ""]
        out += [f"- `{r.get('type', '')}` `{r.get('name', '')}`" for r in resources] or ["None."]
    out += ["", f"## Changed ({len(diff.changed)})", ""]
    for ch in diff.changed:
        marker = f" — **replaced** (changes {_paths(ch.replace_on)})" if ch.replace_on else ""
        out += [f"- `{ch.type}` `{ch.name}`{marker}"] + _field_lines(ch.fields, indent="  ")
    if not diff.changed:
        out.append("None.")
    out += ["", "## Stack outputs", ""] + (_field_lines(diff.outputs) or ["None changed."])
    if diff.cost:
        out += ["", "## Cost", "", cost_line(diff.cost)]
    out += ["", "Secret values show as `[secret]` on both sides: a change inside a secret can't be seen here."]
    return "\n".join(out) + "\n"


def _field_json(f: FieldChange) -> dict:
    return {"path": f.path, **({"old": f.old} if f.old is not ABSENT else {}),
            **({"new": f.new} if f.new is not ABSENT else {})}


def _ref(resource: dict) -> dict:
    return {"urn": resource["urn"], "type": resource.get("type", ""), "name": resource.get("name", "")}


def to_json(diff: PlanDiff) -> dict:
    """Machine-readable diff; a field's ``old``/``new`` key is missing where the field is absent."""
    return {
        "base": diff.base, "head": diff.head,
        "risks": [{"action": r.action, "urn": r.urn, "type": r.type, "name": r.name,
                   "reasons": list(r.reasons), "detail": r.detail} for r in diff.risks],
        "added": [_ref(r) for r in diff.added], "removed": [_ref(r) for r in diff.removed],
        "changed": [{"urn": c.urn, "type": c.type, "name": c.name, "replaceOn": list(c.replace_on),
                     "fields": [_field_json(f) for f in c.fields]} for c in diff.changed],
        "outputs": [_field_json(f) for f in diff.outputs],
        "cost": None if not diff.cost else {
            "base": dict(zip(("min", "max"), diff.cost.base, strict=True)),
            "head": dict(zip(("min", "max"), diff.cost.head, strict=True)),
            "delta": {"min": diff.cost.head[0] - diff.cost.base[0], "max": diff.cost.head[1] - diff.cost.base[1]}},
    }
