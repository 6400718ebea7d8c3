"""The genai-platform CrossGuard policy pack: ``pulumi preview --policy-pack policies``.

Every policy is mandatory: a violation fails the preview or update. The rules themselves are
pure functions in ``genai_policies`` (``make plan`` runs the same functions offline).
``PolicyPack(...)`` starts the analyzer server and never returns, so it is only built when the
CLI runs this directory; importing the module builds nothing.
"""

from genai_policies.adapters import build_policies
from pulumi_policy import EnforcementLevel, PolicyPack

PACK_NAME = "genai-platform"


def main() -> None:
    PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=build_policies())


if __name__ == "__main__":
    main()
