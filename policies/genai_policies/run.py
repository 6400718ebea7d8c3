"""Running every policy over a whole set of records at once (the offline path)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .catalog import POLICIES
from .k8s import describe
from .model import PolicyContext, PolicySpec, Record


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    resource: str      # readable: "Deployment genai-models/vllm", "helm release keda/keda"
    message: str

    def __str__(self) -> str:
        return f"policy {self.policy}: {self.resource}: {self.message}"


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    description: str
    checked: int       # records the policy is about
    failed: int        # of those (or others it named), how many have a violation
    violations: tuple[Violation, ...]

    @property
    def passed(self) -> int:
        return max(self.checked - self.failed, 0)


def run_policies(records: Iterable[Record], ctx: PolicyContext,
                 policies: Iterable[PolicySpec] = POLICIES) -> list[PolicyResult]:
    records = list(records)
    by_urn = {r.urn: r for r in records}
    results = []
    for spec in policies:
        found: list[Violation] = []
        if spec.scope == "resource":
            for r in records:
                found += [Violation(spec.name, r.urn, describe(r), m) for m in spec.check(r, ctx)]  # type: ignore[arg-type]
        else:
            for f in spec.check(records, ctx):  # type: ignore[arg-type]
                target = by_urn.get(f.urn)
                found.append(Violation(spec.name, f.urn, describe(target) if target else f.urn or "stack", f.message))
        results.append(PolicyResult(
            policy=spec.name, description=spec.description,
            checked=sum(1 for r in records if spec.subjects(r, ctx)),
            failed=len({v.urn for v in found}), violations=tuple(found),
        ))
    return results
