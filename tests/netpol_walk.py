"""A small evaluator of Kubernetes NetworkPolicy semantics, for proving isolation in tests.

Model: namespaces (name -> labels; ``kubernetes.io/metadata.name`` is added as the API server
does), pods (namespace, labels, optional IP and named container ports) and external
addresses. ``allowed`` answers whether a connection is admitted: the source pod's egress and
the destination pod's ingress must both allow it (an external end has no policies).

Semantics followed (networking.k8s.io/v1):
- a pod is isolated in a direction when a policy of its namespace selects it and lists that
  direction in ``policyTypes`` (default: Ingress, plus Egress when the policy has ``egress``);
  isolated traffic passes when any selecting policy has a rule that matches it;
- a rule without ``from``/``to`` matches every peer, without ``ports`` every port;
- a peer with only ``podSelector`` means pods of the policy's namespace; with only
  ``namespaceSelector`` every pod of the matching namespaces; with both, the pods matching
  the pod selector in those namespaces; an empty selector matches everything;
- ``ipBlock`` matches external addresses, and pods only when the pod has an IP (whether a
  CNI applies ipBlocks to pod IPs is implementation-defined; giving pods IPs tests the
  stricter reading);
- ports match by protocol (default TCP), number and ``endPort`` range; a named port matches
  the destination's container port of that name, and any port when the destination's ports
  are unknown (``ports=None``), so a proof of denial never relies on a guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

PROTOCOLS = ("TCP", "UDP", "SCTP")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    name: str = ""
    ip: Optional[str] = None
    ports: Optional[Mapping[str, int]] = None      # named container ports; None: unknown

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name or dict(self.labels)}"


@dataclass(frozen=True)
class External:
    ip: str

    def __str__(self) -> str:
        return self.ip


Endpoint = Union[Pod, External]


def selector_matches(selector: Optional[Mapping], labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a label set."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In":
            ok = present and labels[key] in values
        elif op == "NotIn":
            ok = not present or labels[key] not in values
        elif op == "Exists":
            ok = present
        elif op == "DoesNotExist":
            ok = not present
        else:
            raise ValueError(f"unknown selector operator {op!r}")
        if not ok:
            return False
    return True


def _namespace_labels(namespaces: Mapping[str, Mapping[str, str]], name: str) -> dict[str, str]:
    if name not in namespaces:
        raise KeyError(f"namespace {name!r} is not in the model")
    return {**namespaces[name], NAMESPACE_NAME_LABEL: name}


def policy_types(spec: Mapping) -> list[str]:
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def _ip_in_block(ip: str, block: Mapping) -> bool:
    addr = ipaddress.ip_address(ip)
    if addr not in ipaddress.ip_network(block["cidr"], strict=False):
        return False
    return not any(addr in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])


def _peer_matches(peer: Mapping, policy_ns: str, namespaces: Mapping[str, Mapping[str, str]],
                  other: Endpoint) -> bool:
    if "ipBlock" in peer:
        ip = other.ip
        return ip is not None and _ip_in_block(ip, peer["ipBlock"])
    if isinstance(other, External):
        return False
    pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
    if ns_sel is None:
        in_scope = other.namespace == policy_ns
    else:
        in_scope = selector_matches(ns_sel, _namespace_labels(namespaces, other.namespace))
    return in_scope and (pod_sel is None or selector_matches(pod_sel, other.labels))


def _port_matches(entry: Mapping, port: int, protocol: str, dst: Endpoint) -> bool:
    if entry.get("protocol", "TCP") != protocol:
        return False
    want = entry.get("port")
    if want is None:
        return True
    if isinstance(want, str):
        known = dst.ports if isinstance(dst, Pod) else {}
        if known is None:
            return True
        return known.get(want) == port
    return want <= port <= entry.get("endPort", want)


def _rule_matches(rule: Mapping, peers_key: str, policy_ns: str, namespaces: Mapping[str, Mapping[str, str]],
                  other: Endpoint, dst: Endpoint, port: int, protocol: str) -> bool:
    peers = rule.get(peers_key)
    if peers and not any(_peer_matches(p, policy_ns, namespaces, other) for p in peers):
        return False
    entries = rule.get("ports")
    return not entries or any(_port_matches(e, port, protocol, dst) for e in entries)


def _direction_allows(policies: Iterable[Mapping], namespaces: Mapping[str, Mapping[str, str]], pod: Pod,
                      direction: str, other: Endpoint, dst: Endpoint, port: int, protocol: str) -> bool:
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolated = False
    for policy in policies:
        ns = policy["metadata"]["namespace"]
        spec = policy["spec"]
        if ns != pod.namespace or direction not in policy_types(spec):
            continue
        if not selector_matches(spec.get("podSelector", {}), pod.labels):
            continue
        isolated = True
        if any(_rule_matches(r, peers_key, ns, namespaces, other, dst, port, protocol)
               for r in spec.get(rules_key) or []):
            return True
    return not isolated


def allowed(policies: Sequence[Mapping], namespaces: Mapping[str, Mapping[str, str]], src: Endpoint,
            dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether ``src`` may open a connection to ``dst`` on ``port``/``protocol``."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}")
    if isinstance(src, Pod) and not _direction_allows(policies, namespaces, src, "Egress", dst, dst, port, protocol):
        return False
    return not (isinstance(dst, Pod)
                and not _direction_allows(policies, namespaces, dst, "Ingress", src, dst, port, protocol))


def critical_ports(policies: Iterable[Mapping], pods: Iterable[Pod] = ()) -> list[int]:
    """Ports that together cover every case the policies distinguish.

    Port matching only changes at a policy's port or just past its ``endPort``, so checking
    each boundary, its neighbours and the ends of the range is as good as checking all 65535.
    """
    edges = {1, 65535}
    named = {n for p in pods for n in (p.ports or {}).values()}
    for policy in policies:
        spec = policy["spec"]
        for rule in [*(spec.get("ingress") or []), *(spec.get("egress") or [])]:
            for entry in rule.get("ports") or []:
                port = entry.get("port")
                if isinstance(port, int):
                    edges |= {port - 1, port, port + 1, entry.get("endPort", port) + 1}
    edges |= {n + d for n in named for d in (-1, 0, 1)}
    return sorted(p for p in edges if 1 <= p <= 65535)


def reachable_ports(policies: Sequence[Mapping], namespaces: Mapping[str, Mapping[str, str]], src: Endpoint,
                    dst: Endpoint, protocols: Sequence[str] = PROTOCOLS) -> list[tuple[str, int]]:
    """Every (protocol, port) class on which ``src`` reaches ``dst``; empty means fully isolated."""
    pods = [e for e in (src, dst) if isinstance(e, Pod)]
    ports = critical_ports(policies, pods)
    return [(proto, port) for proto in protocols for port in ports
            if allowed(policies, namespaces, src, dst, port, proto)]
