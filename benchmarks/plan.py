"""Plan benchmark: how far a stack's plan is from the cost of bare registrations.

Prints, for one stack: wall seconds of a full plan run (program + render + validation),
resources registered, wall seconds of the same number of bare resource registrations under
the same recording mocks (the floor), and their ratio. Median of ``--repeat`` runs.

    .venv/bin/python benchmarks/plan.py --stack onprem
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.plan.render import build  # noqa: E402
from infra.plan.runner import load_stack_config, run_program  # noqa: E402

BARE = """
import pulumi
for i in range({n}):
    pulumi.CustomResource("bench:index:Bare", f"r{{i}}", {{"index": i}})
"""


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="onprem")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cfg = load_stack_config(args.stack)
    count = len(run_program(cfg).monitor.registrations)  # warm imports and schema caches

    def full():
        build(cfg, run_program(cfg))

    plan_s = statistics.median(_timed(full) for _ in range(args.repeat))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "__main__.py").write_text(BARE.format(n=count))
        run_program(cfg, program_dir=Path(tmp))
        floor_s = statistics.median(_timed(lambda: run_program(cfg, program_dir=Path(tmp))) for _ in range(args.repeat))
    print(f"stack:                   {args.stack}")
    print(f"resources registered:    {count}")
    print(f"plan wall seconds:       {plan_s:.3f}")
    print(f"floor wall seconds:      {floor_s:.3f}  ({count} bare registrations, same mocks)")
    print(f"ratio plan/floor:        {plan_s / floor_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
