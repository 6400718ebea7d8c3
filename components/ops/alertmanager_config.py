"""Alertmanager's configuration, from the stack's secret ``alertmanagerReceivers``.

The secret is a YAML mapping: ``receivers`` (Alertmanager receivers, each with a unique
``name``), optionally ``route`` (Alertmanager's routing tree; every ``receiver`` it names must
be defined), ``inhibit_rules``, ``global`` (e.g. SMTP settings) and ``time_intervals``.

``alertmanager_config`` always adds the receiver ``null`` and routes ``Watchdog`` (the
always-firing heartbeat) and ``InfoInhibitor`` (a helper alert of the default rules) to it
first; everything else goes down the secret's route, whose default receiver is
``route.receiver`` or ``null``. It keeps the chart's default inhibitions (critical silences
warning and info of the same alert and namespace, warning silences info, ``InfoInhibitor``
silences info) before the secret's own.

``receivers_problems`` checks the secret before anything is built; config loading calls it,
so this module stays free of Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import yaml

NULL_RECEIVER = "null"
# Always firing (Watchdog) or only there to inhibit (InfoInhibitor): nobody is paged for them.
NULL_ROUTED_ALERTS = ("Watchdog", "InfoInhibitor")
GROUP_BY = ["alertname", "namespace"]
# Wait for related alerts before the first notification, batch changes of a group every five
# minutes, and remind of what is still firing twice a day.
GROUP_WAIT = "30s"
GROUP_INTERVAL = "5m"
REPEAT_INTERVAL = "12h"
ALLOWED_KEYS = ("receivers", "route", "inhibit_rules", "global", "time_intervals")

DEFAULT_INHIBIT_RULES = [
    {"source_matchers": ["severity = critical"], "target_matchers": ["severity =~ warning|info"],
     "equal": ["namespace", "alertname"]},
    {"source_matchers": ["severity = warning"], "target_matchers": ["severity = info"],
     "equal": ["namespace", "alertname"]},
    {"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info"],
     "equal": ["namespace"]},
    # InfoInhibitor itself never notifies anyone.
    {"target_matchers": ["alertname = InfoInhibitor"]},
]

_HINT = ("a YAML mapping with 'receivers' (a list of Alertmanager receivers, each with a unique 'name'), "
         "optionally 'route' and 'inhibit_rules'")


def _parse(text: str) -> tuple[Any, Optional[str]]:
    try:
        return yaml.safe_load(text), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        return None, f"<root>: not valid YAML{where}: {problem}"


def _route_problems(route: Any, path: str, names: set[str]) -> list[str]:
    if not isinstance(route, Mapping):
        return [f"{path}: must be a mapping (an Alertmanager route)"]
    out = []
    receiver = route.get("receiver")
    if receiver is not None and receiver not in names:
        out.append(f"{path}.receiver: {receiver!r} is not a receiver; define it under receivers")
    children = route.get("routes")
    if children is None:
        return out
    if not isinstance(children, list):
        return [*out, f"{path}.routes: must be a list of routes"]
    for i, child in enumerate(children):
        out += _route_problems(child, f"{path}.routes[{i}]", names)
    return out


def receivers_problems(text: str) -> list[str]:
    """Every problem of the secret's text, each naming its path (empty when it is usable)."""
    doc, error = _parse(text)
    if error is not None:
        return [error]
    if not isinstance(doc, Mapping):
        return [f"<root>: must be {_HINT}"]
    out = [f"{key}: unknown key; allowed: {', '.join(ALLOWED_KEYS)}" for key in doc if key not in ALLOWED_KEYS]
    receivers = doc.get("receivers")
    if not isinstance(receivers, list) or not receivers:
        return [*out, f"receivers: required, {_HINT}"]
    names: set[str] = set()
    for i, receiver in enumerate(receivers):
        if not isinstance(receiver, Mapping):
            out.append(f"receivers[{i}]: must be a mapping with a 'name'")
            continue
        name = receiver.get("name")
        if not isinstance(name, str) or not name:
            out.append(f"receivers[{i}].name: required, a non-empty string")
        elif name == NULL_RECEIVER:
            out.append(f"receivers[{i}].name: {NULL_RECEIVER!r} is reserved (the platform's receiver that "
                       "drops alerts); route to it without defining it")
        elif name in names:
            out.append(f"receivers[{i}].name: {name!r} is defined twice")
        else:
            names.add(name)
    if "route" in doc:
        out += _route_problems(doc["route"], "route", names | {NULL_RECEIVER})
    rules = doc.get("inhibit_rules")
    if rules is not None and not (isinstance(rules, list) and all(isinstance(r, Mapping) for r in rules)):
        out.append("inhibit_rules: must be a list of Alertmanager inhibit rules")
    return out


def alertmanager_config(text: Optional[str]) -> dict:
    """The whole Alertmanager configuration; ``text`` None sends every alert to ``null``.

    Raises ValueError listing the problems of an unusable ``text``.
    """
    doc: Mapping = {}
    if text is not None:
        problems = receivers_problems(text)
        if problems:
            raise ValueError("alertmanagerReceivers: " + "; ".join(problems))
        doc = yaml.safe_load(text)
    route = dict(doc.get("route") or {})
    null_routes = [{"receiver": NULL_RECEIVER, "matchers": [f'alertname = "{alert}"']} for alert in NULL_ROUTED_ALERTS]
    config: dict = {**({"global": doc["global"]} if doc.get("global") is not None else {})}
    config.update({
        "route": {
            "group_by": list(GROUP_BY),
            "group_wait": GROUP_WAIT,
            "group_interval": GROUP_INTERVAL,
            "repeat_interval": REPEAT_INTERVAL,
            **route,
            "receiver": route.get("receiver", NULL_RECEIVER),
            "routes": [*null_routes, *(route.get("routes") or [])],
        },
        "receivers": [{"name": NULL_RECEIVER}, *doc.get("receivers", [])],
        "inhibit_rules": [*DEFAULT_INHIBIT_RULES, *(doc.get("inhibit_rules") or [])],
    })
    if doc.get("time_intervals") is not None:
        config["time_intervals"] = doc["time_intervals"]
    return config


def alertmanager_yaml(text: Optional[str]) -> str:
    """``alertmanager_config`` as the YAML the operator reads from the Secret."""
    return yaml.safe_dump(alertmanager_config(text), sort_keys=False)
