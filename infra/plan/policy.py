"""The policy pack's rules over a recorded plan: what ``pulumi preview --policy-pack policies`` would report.

The rules live in ``policies/genai_policies`` as pure functions over neutral records; here
each recorded registration becomes such a record (inputs as props, secrets as ``"[secret]"``)
and the stack's config gives the settings the rules read (``protect``, namespaces).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Optional

from infra.plan.mocks import Registration
from policies.genai_policies import PolicyResult, Record, Violation, context_from_config, run_policies


def record_of(reg: Registration) -> Record:
    return Record(type=reg.type, name=reg.name, urn=reg.urn, props=reg.inputs, protect=reg.protect, parent=reg.parent)


def evaluate(registrations: Iterable[Registration], config: Optional[Mapping[str, str]] = None) -> list[PolicyResult]:
    """Every policy's result over the plan of a stack whose config is ``config``."""
    return run_policies((record_of(r) for r in registrations), context_from_config(config or {}))


def check_plan(registrations: Iterable[Registration], config: Optional[Mapping[str, str]] = None) -> list[Violation]:
    """Every violation in the plan, policy by policy."""
    return [v for result in evaluate(registrations, config) for v in result.violations]
