"""One stack's plan in a fresh interpreter: wall time from a cold start and the cloud SDKs loaded.

    .venv/bin/python -m infra.plan.probe --stack dev

Prints one JSON object. A stack must load only its own cloud's SDK: the others are large and
slow to import. Used by ``benchmarks/stacks.py`` and ``tests/test_cloud_imports.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

CLOUD_SDKS = ("pulumi_aws", "pulumi_gcp", "pulumi_azure_native")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", required=True)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    from infra.plan.render import build
    from infra.plan.runner import load_stack_config, run_program

    cfg = load_stack_config(args.stack)
    run = run_program(cfg)
    program_s = time.perf_counter() - start
    plan = build(cfg, run)
    print(json.dumps({
        "stack": args.stack,
        "target": json.loads(cfg.values.get("genai-platform:cluster", "{}")).get("target", "existing"),
        "resources": len(run.monitor.registrations),
        "errors": len(plan.errors) + (1 if run.error else 0),
        "program_seconds": round(program_s, 3),
        "total_seconds": round(time.perf_counter() - start, 3),
        "cloud_sdks": [m for m in CLOUD_SDKS if m in sys.modules],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
