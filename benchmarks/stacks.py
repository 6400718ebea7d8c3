"""Per-stack plan times from a cold interpreter, and the cloud SDKs each stack loads.

Each run is a fresh ``python -m infra.plan.probe`` process, so the figure includes importing
the program and its cloud SDK, which dominates on cloud stacks. Median of ``--repeat`` runs.

    .venv/bin/python benchmarks/stacks.py [--repeat 3] [stack ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.plan.runner import available_stacks  # noqa: E402


def probe(stack: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "infra.plan.probe", "--stack", stack], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("stacks", nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'stack':<12} {'target':<9} {'resources':>9} {'program s':>10} {'total s':>8}  cloud SDKs loaded")
    for stack in args.stacks or available_stacks():
        runs = [probe(stack) for _ in range(args.repeat)]
        last = runs[-1]
        program = statistics.median(r["program_seconds"] for r in runs)
        total = statistics.median(r["total_seconds"] for r in runs)
        sdks = ", ".join(last["cloud_sdks"]) or "none"
        print(f"{stack:<12} {last['target']:<9} {last['resources']:>9} {program:>10.3f} {total:>8.3f}  {sdks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
