"""Mocked outputs of azure resources and data sources, shaped like real ones."""

from __future__ import annotations

import pulumi

from infra.plan.mocks import fake_id


def new_resource(args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
    return fake_id(args.typ.rsplit(":", 1)[-1].lower(), args.name), dict(args.inputs)


def call(args: pulumi.runtime.MockCallArgs) -> dict:
    return {}
