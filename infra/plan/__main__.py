"""``python -m infra.plan --stack <name>``: render, validate and summarise a stack offline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from infra.plan.cost import cost_json, estimate
from infra.plan.render import build, write
from infra.plan.runner import ROOT, StackFileError, available_stacks, load_stack_config, run_program
from infra.plan.summary import render_summary


def plan_stack(stack: str, out_root: Path) -> int:
    try:
        cfg = load_stack_config(stack)
    except StackFileError as exc:
        print(f"plan {stack}: {exc}", file=sys.stderr)
        return 2
    plan = build(cfg, run_program(cfg))
    out_dir = out_root / stack
    write(plan, out_dir, render_summary(plan))
    # The diff of two plans reads it for the cost delta.
    (out_dir / "cost.json").write_text(json.dumps(cost_json(estimate(plan)), indent=2) + "\n")
    rel = out_dir.relative_to(ROOT) if out_dir.is_relative_to(ROOT) else out_dir
    if plan.errors:
        print(f"plan {stack}: FAILED with {len(plan.errors)} error(s):", file=sys.stderr)
        for err in plan.errors:
            print(f"  {err}", file=sys.stderr)
        print(f"details: {rel}/summary.md", file=sys.stderr)
        return 1
    n = sum(1 for r in plan.registrations if r.custom)
    print(f"plan {stack}: {n} resources, {len(plan.manifests)} Kubernetes objects, "
          f"{len(plan.releases)} Helm releases, all valid. Summary: {rel}/summary.md")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.plan", description=__doc__)
    parser.add_argument("--stack", action="append", help="stack to plan (repeatable); default: all")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "plan")
    args = parser.parse_args(argv)
    stacks = args.stack or available_stacks()
    codes = [plan_stack(s, args.out.resolve()) for s in stacks]
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
