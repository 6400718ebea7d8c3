"""The genai-platform policies as pure functions over neutral records.

``policies/__main__.py`` serves them to ``pulumi preview --policy-pack policies`` through
:mod:`.adapters`; ``infra/plan/policy.py`` runs the same functions over an offline plan.
"""

from .catalog import POLICIES
from .model import SECRET, UNKNOWN, Finding, PolicyContext, PolicySpec, Record, context_from_config
from .run import PolicyResult, Violation, run_policies

__all__ = ["POLICIES", "SECRET", "UNKNOWN", "Finding", "PolicyContext", "PolicySpec", "Record", "PolicyResult", "Violation",
           "context_from_config", "run_policies"]
