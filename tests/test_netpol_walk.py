"""The NetworkPolicy evaluator on hand-written policies whose outcome Kubernetes documents."""

from __future__ import annotations

import pytest
from netpol_walk import External, Pod, allowed, critical_ports, policy_types, reachable_ports, selector_matches

NAMESPACES = {"a": {"team": "a"}, "b": {"team": "b"}, "mon": {"role": "monitoring"}}
WEB_A = Pod("a", {"app": "web"}, "web")
DB_A = Pod("a", {"app": "db"}, "db")
WEB_B = Pod("b", {"app": "web"}, "web")
PROM = Pod("mon", {"app": "prometheus"}, "prometheus")


def policy(ns: str, spec: dict, name: str = "p") -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def deny_all(ns: str) -> dict:
    return policy(ns, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "deny")


def test_no_policies_allow_everything():
    assert allowed([], NAMESPACES, WEB_A, WEB_B, 80)
    assert allowed([], NAMESPACES, External("203.0.113.7"), WEB_A, 443, "UDP")


def test_default_deny_blocks_both_directions_only_in_its_namespace():
    pols = [deny_all("a")]
    assert not allowed(pols, NAMESPACES, WEB_A, DB_A, 5432)
    assert not allowed(pols, NAMESPACES, WEB_A, WEB_B, 80), "a's egress is denied"
    assert not allowed(pols, NAMESPACES, WEB_B, WEB_A, 80), "a's ingress is denied"
    assert allowed(pols, NAMESPACES, WEB_B, PROM, 9090), "b and mon have no policies"


def test_ingress_only_policy_leaves_egress_open():
    pols = [policy("a", {"podSelector": {"matchLabels": {"app": "db"}}})]
    assert policy_types(pols[0]["spec"]) == ["Ingress"]
    assert not allowed(pols, NAMESPACES, WEB_A, DB_A, 5432)
    assert allowed(pols, NAMESPACES, DB_A, WEB_B, 80)


def test_same_namespace_pod_selector_does_not_reach_other_namespaces():
    pols = [deny_all("a"), deny_all("b"),
            policy("a", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                         "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                      "ports": [{"protocol": "TCP", "port": 5432}]}]}, "db-in"),
            policy("a", {"podSelector": {}, "policyTypes": ["Egress"],
                         "egress": [{"to": [{"podSelector": {}}]}]}, "same-ns-out"),
            policy("b", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}, "b-out")]
    assert allowed(pols, NAMESPACES, WEB_A, DB_A, 5432)
    assert not allowed(pols, NAMESPACES, WEB_A, DB_A, 5433)
    assert not allowed(pols, NAMESPACES, WEB_A, DB_A, 5432, "UDP")
    assert not allowed(pols, NAMESPACES, DB_A, DB_A, 5432), "db is not labelled web"
    assert not allowed(pols, NAMESPACES, WEB_B, DB_A, 5432), "same labels in another namespace"


def test_cross_namespace_needs_both_egress_and_ingress():
    ingress = policy("a", {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                           "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}]}, "in")
    egress = policy("b", {"podSelector": {}, "policyTypes": ["Egress"],
                          "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "a"}},
                                              "podSelector": {"matchLabels": {"app": "web"}}}]}]}, "out")
    base = [deny_all("a"), deny_all("b")]
    assert not allowed([*base, ingress], NAMESPACES, WEB_B, WEB_A, 80)
    assert not allowed([*base, egress], NAMESPACES, WEB_B, WEB_A, 80)
    assert allowed([*base, ingress, egress], NAMESPACES, WEB_B, WEB_A, 80)
    assert not allowed([*base, ingress, egress], NAMESPACES, WEB_B, DB_A, 80), "egress names web pods only"


def test_namespace_and_pod_selector_in_one_peer_is_and_in_two_peers_is_or():
    both = {"namespaceSelector": {"matchLabels": {"role": "monitoring"}},
            "podSelector": {"matchLabels": {"app": "prometheus"}}}
    either = [{"namespaceSelector": {"matchLabels": {"role": "monitoring"}}},
              {"podSelector": {"matchLabels": {"app": "prometheus"}}}]
    grafana = Pod("mon", {"app": "grafana"}, "grafana")
    and_pols = [policy("a", {"podSelector": {}, "ingress": [{"from": [both]}]})]
    or_pols = [policy("a", {"podSelector": {}, "ingress": [{"from": either}]})]
    assert allowed(and_pols, NAMESPACES, PROM, WEB_A, 8080)
    assert not allowed(and_pols, NAMESPACES, grafana, WEB_A, 8080)
    assert allowed(or_pols, NAMESPACES, grafana, WEB_A, 8080)


def test_match_expressions():
    labels = {"tier": "api", "zone": "x"}
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "web"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["api"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "gone", "operator": "NotIn", "values": ["x"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, labels)
    assert selector_matches({}, labels) and not selector_matches(None, labels)
    with pytest.raises(ValueError, match="operator"):
        selector_matches({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, labels)


def test_ip_blocks_match_external_addresses_and_pods_with_ips():
    pols = [deny_all("a"), policy("a", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
        "ports": [{"protocol": "TCP", "port": 443}]}]}, "https-out")]
    assert allowed(pols, NAMESPACES, WEB_A, External("198.51.100.4"), 443)
    assert not allowed(pols, NAMESPACES, WEB_A, External("10.1.2.3"), 443)
    assert not allowed(pols, NAMESPACES, WEB_A, External("198.51.100.4"), 80)
    assert not allowed(pols, NAMESPACES, WEB_A, WEB_B, 443), "a pod without an IP is no ipBlock peer"
    assert allowed(pols, NAMESPACES, WEB_A, Pod("b", {}, ip="192.0.2.9"), 443)
    assert not allowed(pols, NAMESPACES, WEB_A, Pod("b", {}, ip="10.4.0.9"), 443)


def test_port_ranges_and_named_ports():
    pols = [policy("a", {"podSelector": {}, "ingress": [{"ports": [{"port": 8000, "endPort": 8010},
                                                                    {"port": "metrics"}]}]})]
    named = Pod("a", {"app": "web"}, ports={"metrics": 9100})
    assert allowed(pols, NAMESPACES, WEB_B, named, 8005)
    assert not allowed(pols, NAMESPACES, WEB_B, named, 8011)
    assert allowed(pols, NAMESPACES, WEB_B, named, 9100)
    assert not allowed(pols, NAMESPACES, WEB_B, named, 9101)
    assert allowed(pols, NAMESPACES, WEB_B, WEB_A, 9101), "unknown container ports: a named port may be any"


def test_critical_ports_cover_every_boundary():
    pols = [policy("a", {"podSelector": {}, "ingress": [{"ports": [{"port": 8000, "endPort": 8010}]}]})]
    assert critical_ports(pols) == [1, 7999, 8000, 8001, 8011, 65535]
    assert reachable_ports(pols, NAMESPACES, WEB_B, WEB_A, ("TCP",)) == [("TCP", 8000), ("TCP", 8001)]
    assert reachable_ports([deny_all("a")], NAMESPACES, WEB_B, WEB_A) == []


def test_unknown_namespace_is_an_error():
    with pytest.raises(KeyError, match="nowhere"):
        allowed([policy("a", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]})],
                NAMESPACES, Pod("nowhere", {}), WEB_A, 80)
