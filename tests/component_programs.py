"""Running a small program that builds one component, under the plan's recording mocks.

Component tests write the program's ``__main__.py`` (a provider and the component) and get the
run back: every registration, with the default Kubernetes provider disabled as in every stack.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from infra.plan.runner import RunResult, StackConfig, run_program


def run_component_program(directory: Path, source: str, stack: str = "component-test") -> RunResult:
    """Run ``source`` as a program in ``directory``; fails the test on a program error."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__main__.py").write_text(textwrap.dedent(source))
    cfg = StackConfig(project="genai-platform", stack=stack, values={}, secret_keys=[],
                      disabled_default_providers=("kubernetes",))
    result = run_program(cfg, program_dir=directory)
    assert result.error is None, result.error
    return result
