"""Entry point the Pulumi language host runs (``main: infra/`` in Pulumi.yaml).

The host executes this directory with runpy, so ``sys.path[0]`` is ``infra/`` and the working
directory may be anything; the repository root is put on the path explicitly so the sibling
``components`` package and ``infra`` itself import the same way under the host, the offline
plan and the tests.
"""

import pathlib
import sys

_ROOT = str(pathlib.Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from infra import config, program  # noqa: E402

program.run(config.load())
