"""``no-load-balancer-services``: the gateway is the platform's only way in.

Every cloud load balancer is a public (or at least routable) entry that skips TLS, API keys
and rate limits. The platform declares exactly one: the Envoy proxy Service of its Gateway,
configured by the EnvoyProxy objects in the gateway namespace (``gateway.namespace`` of the
stack). Everything else stays ClusterIP and is reached through a route.
"""

from __future__ import annotations

from collections.abc import Mapping

from .k8s import api_kind, get, is_kind, is_release, namespace_of, walk
from .model import PolicyContext, Record

LOAD_BALANCER = "LoadBalancer"
ENVOY_PROXY = ("gateway.envoyproxy.io", "EnvoyProxy")
# Field names charts and operators use for a Service type (``expose.exposeType`` in Percona's).
TYPE_KEYS = ("type", "serviceType", "exposeType")


def _load_balancer_paths(value: object, root: str) -> list[str]:
    return [path for path, key, item in walk(value, root) if key in TYPE_KEYS and item == LOAD_BALANCER]


def no_load_balancer_services(record: Record, ctx: PolicyContext) -> list[str]:
    fix = "make it ClusterIP and publish it through the platform's Gateway (an HTTPRoute)"
    if is_release(record):
        return [f"values {path} is LoadBalancer: {fix}" for path in _load_balancer_paths(record.props.get("values") or {}, "")]
    kind = api_kind(record)
    if kind is None:
        return []
    if is_kind(record, "Service"):
        return [f"type is LoadBalancer: {fix}"] if get(record.props, "spec", "type") == LOAD_BALANCER else []
    if kind == ENVOY_PROXY and namespace_of(record) == ctx.gateway_namespace:
        return []
    spec = record.props.get("spec")
    if not isinstance(spec, Mapping):
        return []
    return [f"{path} is LoadBalancer: {fix}" for path in _load_balancer_paths(spec, "spec")]
