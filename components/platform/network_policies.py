"""Pure builders for the NetworkPolicies every platform namespace gets.

Baseline: deny all ingress and egress, then allow DNS to kube-dns. Namespaces that need more
add narrow allowances built here, so the exceptions are visible in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def network_policy(name: str, namespace: str, labels: Mapping[str, str], spec: dict) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }


_policy = network_policy


def tcp(ports: Iterable[int]) -> list[dict]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def namespace_peer(name: str) -> dict:
    """A peer selecting every pod of one namespace, by the label the API server sets."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def default_deny(namespace: str, labels: dict) -> dict:
    return _policy("default-deny", namespace, labels,
                   {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def allow_dns(namespace: str, labels: dict) -> dict:
    return _policy("allow-dns", namespace, labels, {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{
            "to": [{
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }],
            "ports": DNS_PORTS,
        }],
    })


def allow_egress_ports(name: str, namespace: str, labels: dict, ports: Iterable[int]) -> dict:
    """Egress to any address on the given TCP ports.

    The API server's address is not selectable by labels, and the Service VIP is rewritten to
    the endpoint (443 or 6443) before policy applies, so the port is the narrowest handle.
    """
    return _policy(name, namespace, labels, {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"protocol": "TCP", "port": p} for p in ports]}],
    })


def allow_ingress_ports(name: str, namespace: str, labels: dict, ports: Iterable[int]) -> dict:
    """Ingress from pods in any namespace on the given TCP ports (e.g. metrics scrapes)."""
    return _policy(name, namespace, labels, {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{
            "from": [{"namespaceSelector": {}}],
            "ports": [{"protocol": "TCP", "port": p} for p in ports],
        }],
    })


def baseline(namespace: str, labels: dict) -> list[dict]:
    return [default_deny(namespace, labels), allow_dns(namespace, labels)]
