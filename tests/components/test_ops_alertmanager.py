"""Alertmanager's configuration from the ``alertmanagerReceivers`` secret: the null receiver and
its routes, the secret's receivers and route merged in, and every problem of a bad secret named
by its path."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from components.ops import alertmanager_config as ac

RECEIVERS = textwrap.dedent("""
    global:
      smtp_smarthost: smtp.example.com:587
    receivers:
      - name: oncall
        pagerduty_configs:
          - routing_key: key-123
      - name: team-chat
        slack_configs:
          - api_url: https://hooks.example.com/abc
            channel: "#alerts"
    route:
      receiver: team-chat
      group_wait: 10s
      routes:
        - receiver: oncall
          matchers: ['severity = "critical"']
        - receiver: "null"
          matchers: ['alertname = "Noisy"']
    inhibit_rules:
      - source_matchers: ['alertname = "NodeDown"']
        target_matchers: ['severity = "warning"']
        equal: [node]
""")


def receivers(config: dict) -> list[str]:
    return [r["name"] for r in config["receivers"]]


def route_receivers(route: dict) -> list[str]:
    return [route["receiver"], *(r for child in route.get("routes", []) for r in route_receivers(child))]


# --- the configuration ------------------------------------------------------------------------

def test_without_a_secret_everything_goes_to_null():
    c = ac.alertmanager_config(None)
    assert receivers(c) == ["null"]
    r = c["route"]
    assert r["receiver"] == "null"
    assert r["group_by"] == ["alertname", "namespace"]
    assert (r["group_wait"], r["group_interval"], r["repeat_interval"]) == ("30s", "5m", "12h")
    assert r["routes"] == [{"receiver": "null", "matchers": ['alertname = "Watchdog"']},
                           {"receiver": "null", "matchers": ['alertname = "InfoInhibitor"']}]
    assert "global" not in c


def test_watchdog_and_info_inhibitor_reach_null_before_the_secrets_routes():
    r = ac.alertmanager_config(RECEIVERS)["route"]
    first, second = r["routes"][:2]
    assert first == {"receiver": "null", "matchers": ['alertname = "Watchdog"']}
    assert second == {"receiver": "null", "matchers": ['alertname = "InfoInhibitor"']}
    # Neither lets the alert continue down the tree to a paging receiver.
    assert "continue" not in first and "continue" not in second


def test_secret_receivers_route_and_inhibitions_are_merged():
    c = ac.alertmanager_config(RECEIVERS)
    assert receivers(c) == ["null", "oncall", "team-chat"]
    assert c["receivers"][1]["pagerduty_configs"] == [{"routing_key": "key-123"}]
    r = c["route"]
    assert r["receiver"] == "team-chat"
    # The secret's own settings win over the defaults; the rest stay.
    assert r["group_wait"] == "10s" and r["repeat_interval"] == "12h"
    assert r["routes"][2:] == [{"receiver": "oncall", "matchers": ['severity = "critical"']},
                               {"receiver": "null", "matchers": ['alertname = "Noisy"']}]
    assert c["inhibit_rules"][:len(ac.DEFAULT_INHIBIT_RULES)] == ac.DEFAULT_INHIBIT_RULES
    assert c["inhibit_rules"][-1]["equal"] == ["node"]
    assert c["global"] == {"smtp_smarthost": "smtp.example.com:587"}


def test_every_route_receiver_is_defined():
    for text in (None, RECEIVERS, "receivers: [{name: a}]\n"):
        c = ac.alertmanager_config(text)
        assert set(route_receivers(c["route"])) <= set(receivers(c))


def test_default_receiver_is_null_without_a_route_receiver():
    c = ac.alertmanager_config("receivers: [{name: a}]\nroute: {routes: [{receiver: a, matchers: ['x = \"1\"']}]}\n")
    assert c["route"]["receiver"] == "null"
    assert c["route"]["routes"][-1]["receiver"] == "a"


def test_yaml_round_trips_to_the_same_config():
    assert yaml.safe_load(ac.alertmanager_yaml(RECEIVERS)) == ac.alertmanager_config(RECEIVERS)


def test_an_invalid_secret_fails_instead_of_dropping_alerts():
    with pytest.raises(ValueError, match=r"route\.receiver: 'pager' is not a receiver"):
        ac.alertmanager_config("receivers: [{name: a}]\nroute: {receiver: pager}\n")


def test_default_inhibitions_match_the_charts_defaults():
    # kube-prometheus-stack's own config, which our Secret replaces, inhibits the same way.
    from infra.plan.validate import REFERENCE_DIR

    chart = yaml.safe_load((REFERENCE_DIR / "chart-values" / "kube-prometheus-stack" / "values.yaml").read_text())
    normalise = lambda rules: [{k: sorted(v) for k, v in r.items()} for r in rules]  # noqa: E731
    assert normalise(ac.DEFAULT_INHIBIT_RULES) == normalise(chart["alertmanager"]["config"]["inhibit_rules"])


# --- problems of the secret ---------------------------------------------------------------------

def test_a_good_secret_has_no_problems():
    assert ac.receivers_problems(RECEIVERS) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("receivers: [name: a\n", "<root>: not valid YAML"),
    ("just text", "<root>: must be a YAML mapping with 'receivers'"),
    ("", "<root>: must be a YAML mapping with 'receivers'"),
    ("route: {receiver: a}\n", "receivers: required"),
    ("receivers: []\n", "receivers: required"),
    ("receivers: {name: a}\n", "receivers: required"),
    ("receivers: [oncall]\n", "receivers[0]: must be a mapping with a 'name'"),
    ("receivers: [{webhook_configs: []}]\n", "receivers[0].name: required"),
    ("receivers: [{name: a}, {name: a}]\n", "receivers[1].name: 'a' is defined twice"),
    ("receivers: [{name: 'null'}]\n", "receivers[0].name: 'null' is reserved"),
    ("receivers: [{name: a}]\nroute: {receiver: pager}\n",
     "route.receiver: 'pager' is not a receiver; define it under receivers"),
    ("receivers: [{name: a}]\nroute: {receiver: a, routes: [{receiver: a}, {receiver: pager}]}\n",
     "route.routes[1].receiver: 'pager' is not a receiver; define it under receivers"),
    ("receivers: [{name: a}]\nroute: {routes: [{routes: [{receiver: b}]}]}\n",
     "route.routes[0].routes[0].receiver: 'b' is not a receiver"),
    ("receivers: [{name: a}]\nroute: [a]\n", "route: must be a mapping"),
    ("receivers: [{name: a}]\nroute: {routes: {receiver: a}}\n", "route.routes: must be a list"),
    ("receivers: [{name: a}]\ninhibit_rules: {equal: [x]}\n", "inhibit_rules: must be a list"),
    ("receivers: [{name: a}]\nroutes: []\n", "routes: unknown key"),
])
def test_each_problem_names_its_path(text, expected):
    problems = ac.receivers_problems(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_null_may_be_routed_to_without_being_defined():
    assert ac.receivers_problems("receivers: [{name: a}]\nroute: {receiver: 'null'}\n") == []


def test_every_problem_is_reported_at_once():
    text = "receivers: [{name: a}, {name: a}, {name: 'null'}]\nroute: {receiver: x, routes: [{receiver: y}]}\n"
    assert len(ac.receivers_problems(text)) == 4


def test_unparseable_yaml_says_where():
    (problem,) = ac.receivers_problems("receivers:\n  - name: a\n   bad: [\n")
    assert "line" in problem and "column" in problem
