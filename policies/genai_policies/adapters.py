"""pulumi_policy glue: the policy pack's validate callables, each a thin shell around a rule.

The CLI hands a resource policy ``ResourceValidationArgs`` (``props`` are the resource's
inputs: for Kubernetes objects ``apiVersion``, ``kind``, ``metadata``, ``spec``...; for a Helm
``Release`` its ``chart``, ``values``, ``namespace``...) and a stack policy
``StackValidationArgs`` (every resource with its ``props`` and options). Both become
:class:`Record`; values the engine can't know yet during a preview become ``"[unknown]"`` and
secrets ``"[secret]"``, exactly as in the offline plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import proxy as _proxy
from pulumi_policy import secret as _secret

from .catalog import POLICIES
from .model import SECRET, UNKNOWN, PolicyContext, PolicySpec, Record, context_from_config

_UNKNOWNS = frozenset({
    _proxy.UNKNOWN_BOOLEAN_VALUE, _proxy.UNKNOWN_NUMBER_VALUE, _proxy.UNKNOWN_STRING_VALUE,
    _proxy.UNKNOWN_ARRAY_VALUE, _proxy.UNKNOWN_ASSET_VALUE, _proxy.UNKNOWN_ARCHIVE_VALUE,
    _proxy.UNKNOWN_OBJECT_VALUE,
})
# pulumi_policy wraps props in proxies that raise on unknown values; their raw content sits
# behind the "__target" key.
_PROXIES = (_proxy._DictProxy, _proxy._ListProxy, _secret._DictSecretsProxy, _secret._ListSecretsProxy)


def plain(value: Any) -> Any:
    """Plain dicts, lists and scalars from pulumi_policy's props."""
    if isinstance(value, _PROXIES):
        value = value["__target"]
    if isinstance(value, Secret):
        return SECRET
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in value]
    if isinstance(value, str) and value in _UNKNOWNS:
        return UNKNOWN
    return value


def record_of_args(args: ResourceValidationArgs) -> Record:
    return Record(type=args.resource_type, name=args.name, urn=args.urn, props=plain(args.props),
                  protect=bool(args.opts.protect) if args.opts else False,
                  parent=args.opts.parent if args.opts else None)


def records_of_stack(args: StackValidationArgs) -> list[Record]:
    return [Record(type=r.resource_type, name=r.name, urn=r.urn, props=plain(r.props),
                   protect=bool(r.opts.protect) if r.opts else False,
                   parent=r.parent.urn if r.parent is not None else None)
            for r in args.resources]


def stack_context() -> PolicyContext:
    """The running stack's settings: the CLI passes its config to the pack in ``PULUMI_CONFIG``."""
    return context_from_config(pulumi.runtime.get_config_env())


def to_policy(spec: PolicySpec, context: Callable[[], PolicyContext] = stack_context) -> Policy:
    if spec.scope == "resource":
        def validate_resource(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            for message in spec.check(record_of_args(args), context()):  # type: ignore[arg-type]
                report_violation(message, None)

        return ResourceValidationPolicy(name=spec.name, description=spec.description, validate=validate_resource)

    def validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for finding in spec.check(records_of_stack(args), context()):  # type: ignore[arg-type]
            report_violation(finding.message, finding.urn or None)

    return StackValidationPolicy(name=spec.name, description=spec.description, validate=validate_stack)


def build_policies(specs: Iterable[PolicySpec] = POLICIES,
                   context: Callable[[], PolicyContext] = stack_context) -> list[Policy]:
    """The pack's policies, one pulumi_policy Policy per rule."""
    return [to_policy(spec, context) for spec in specs]
