"""no-load-balancer-services."""

from __future__ import annotations

from policies.genai_policies import PolicyContext

CTX = PolicyContext(gateway_namespace="genai-gateway")


def _service(type_: str, namespace: str = "apps") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": namespace},
            "spec": {"type": type_, "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}


def _envoy_proxy(namespace: str) -> dict:
    return {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "EnvoyProxy",
            "metadata": {"name": "genai-public", "namespace": namespace},
            "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyService": {"type": "LoadBalancer"}}}}}


def test_cluster_ip_service_passes(check, make):
    obj = _service("ClusterIP")
    make.assert_valid(obj)
    assert check("no-load-balancer-services", make.k8s(obj), CTX) == []


def test_load_balancer_service_fails(check, make):
    obj = _service("LoadBalancer")
    make.assert_valid(obj)
    msgs = check("no-load-balancer-services", make.k8s(obj), CTX)
    assert len(msgs) == 1 and "ClusterIP" in msgs[0] and "Gateway" in msgs[0]


def test_gateway_envoy_proxy_is_the_one_exception(check, make):
    inside = _envoy_proxy("genai-gateway")
    make.assert_valid(inside)
    assert check("no-load-balancer-services", make.k8s(inside), CTX) == []
    msgs = check("no-load-balancer-services", make.k8s(_envoy_proxy("apps")), CTX)
    assert msgs and msgs[0].startswith("spec.provider.kubernetes.envoyService.type is LoadBalancer")


def test_custom_resource_exposing_a_load_balancer_fails(check, make):
    mongo = {"apiVersion": "psmdb.percona.com/v1", "kind": "PerconaServerMongoDB", "metadata": {"name": "m", "namespace": "data"},
             "spec": {"replsets": [{"name": "rs0", "size": 3, "expose": {"enabled": True, "type": "LoadBalancer"}}]}}
    assert check("no-load-balancer-services", make.k8s(mongo), CTX)


def test_helm_values_walked(check, make):
    assert check("no-load-balancer-services", make.release("qdrant", {"service": {"type": "ClusterIP"}}), CTX) == []
    msgs = check("no-load-balancer-services", make.release("milvus", {"proxy": {"service": {"type": "LoadBalancer"}}}), CTX)
    assert msgs and msgs[0].startswith("values proxy.service.type is LoadBalancer")
    # Charts don't get the gateway's exception, wherever they are installed.
    assert check("no-load-balancer-services", make.release("x", {"service": {"type": "LoadBalancer"}},
                                                           namespace="genai-gateway"), CTX)
