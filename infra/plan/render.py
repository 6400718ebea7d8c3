"""Turns a recorded run into the plan's files and validation results.

Writes ``resources.json``, ``manifests/<namespace|_cluster>/<kind>-<name>.yaml``,
``helm/<release>.yaml`` and ``summary.md`` under ``build/plan/<stack>/``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from infra.plan.mocks import Registration
from infra.plan.policy import evaluate as evaluate_policies
from infra.plan.runner import RunResult, StackConfig
from infra.plan.validate import REFERENCE_DIR, has_chart_reference, validate_helm_values, validate_manifest

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


@dataclass
class Plan:
    stack: StackConfig
    run: RunResult
    manifests: list[dict] = field(default_factory=list)
    releases: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The policy pack's results (policies/genai_policies), per policy.
    policy_results: list = field(default_factory=list)

    @property
    def registrations(self) -> list[Registration]:
        return self.run.monitor.registrations


def is_manifest(reg: Registration) -> bool:
    return (reg.custom and reg.type.startswith("kubernetes:") and reg.type != HELM_RELEASE
            and "apiVersion" in reg.inputs and "kind" in reg.inputs)


def release_of(reg: Registration) -> dict:
    i = reg.inputs
    return {
        "release": i.get("name") or reg.name,
        "chart": i.get("chart"),
        "repository": (i.get("repositoryOpts") or {}).get("repo"),
        "version": i.get("version"),
        "namespace": i.get("namespace"),
        "values": i.get("values") or {},
    }


def build(stack: StackConfig, run: RunResult) -> Plan:
    plan = Plan(stack=stack, run=run)
    if run.error:
        plan.errors.append(run.error)
        return plan
    plan.errors += run.monitor.violations
    if not (REFERENCE_DIR / "crd-schemas").is_dir():
        plan.errors.append(f"reference data not found at {REFERENCE_DIR} (expected ../shared/reference beside the "
                           "repository, or set GENAI_REFERENCE_DIR); custom resources and chart values can't be checked")
    version = json.loads(stack.values.get("genai-platform:cluster", "{}")).get("kubernetesVersion", "1.33")
    for reg in plan.registrations:
        if reg.type == HELM_RELEASE:
            rel = release_of(reg)
            plan.releases.append(rel)
            if not rel["version"]:
                plan.errors.append(f"helm release {rel['release']}: chart version is not pinned")
            # The reference data names a chart by the last segment of its reference
            # (``oci://docker.io/envoyproxy/gateway-helm`` -> ``gateway-helm``).
            chart = rel["chart"].rstrip("/").rsplit("/", 1)[-1]
            if has_chart_reference(chart):
                plan.errors += validate_helm_values(chart, rel["values"])
            else:
                plan.notes.append(f"helm {rel['chart']}: no reference values to check keys against")
        elif is_manifest(reg):
            plan.manifests.append(reg.inputs)
            plan.errors += validate_manifest(reg.inputs, version)
    # The rules `pulumi preview --policy-pack policies` enforces; every violation fails the plan.
    plan.policy_results = evaluate_policies(plan.registrations, stack.values)
    plan.errors += [str(v) for result in plan.policy_results for v in result.violations]
    return plan


def _manifest_path(obj: dict) -> Path:
    meta = obj.get("metadata") or {}
    return Path(meta.get("namespace") or "_cluster") / f"{obj['kind'].lower()}-{meta.get('name', 'unnamed')}.yaml"


def write(plan: Plan, out_dir: Path, summary: str) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "manifests").mkdir(parents=True)
    (out_dir / "helm").mkdir()
    doc = {
        "project": plan.stack.project,
        "stack": plan.stack.stack,
        "resources": [r.to_json() for r in plan.registrations],
        "outputs": plan.run.monitor.stack_outputs,
    }
    (out_dir / "resources.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    for obj in plan.manifests:
        path = out_dir / "manifests" / _manifest_path(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        head = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
        rest = {k: obj[k] for k in sorted(obj) if k not in head}
        path.write_text(yaml.safe_dump({**head, **rest}, sort_keys=False))
    for rel in plan.releases:
        # Release names are unique per namespace (each tenant has its own ``session-store``).
        body = {k: rel[k] for k in ("chart", "repository", "version", "namespace", "values")}
        path = out_dir / "helm" / (rel["namespace"] or "default") / f"{rel['release']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(body, sort_keys=False))
    (out_dir / "summary.md").write_text(summary)
