"""no-privileged."""

from __future__ import annotations

import pytest

from policies.genai_policies import PolicyContext

CTX = PolicyContext(gpu_operator_namespace="gpu-operator")
RESTRICTED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
              "runAsNonRoot": True}


def test_restricted_container_passes(check, make):
    obj = make.deployment(containers=[make.container(securityContext=RESTRICTED)])
    make.assert_valid(obj)
    assert check("no-privileged", make.k8s(obj), CTX) == []


@pytest.mark.parametrize("sc,needle", [
    ({"privileged": True}, "privileged is true"),
    ({"allowPrivilegeEscalation": True}, "allowPrivilegeEscalation is true"),
    ({"capabilities": {"add": ["SYS_ADMIN"]}}, "SYS_ADMIN"),
    ({"capabilities": {"add": ["CAP_NET_ADMIN"]}}, "NET_ADMIN"),
    ({"capabilities": {"add": ["ALL"]}}, "ALL"),
])
def test_each_escalation_fails(check, make, sc, needle):
    msgs = check("no-privileged", make.k8s(make.deployment(initContainers=[make.container("init", securityContext=sc)])), CTX)
    assert len(msgs) == 1 and msgs[0].startswith("init container init:") and needle in msgs[0]


def test_harmless_capability_passes(check, make):
    sc = {**RESTRICTED, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}
    assert check("no-privileged", make.k8s(make.deployment(containers=[make.container(securityContext=sc)])), CTX) == []


def test_gpu_operator_namespace_is_allowed(check, make):
    obj = make.deployment(namespace="gpu-operator", containers=[make.container(securityContext={"privileged": True})])
    assert check("no-privileged", make.k8s(obj), CTX) == []
    # The allowlist follows the stack's namespace setting, not a name in the rule.
    assert check("no-privileged", make.k8s(obj), PolicyContext(gpu_operator_namespace="nvidia"))


def test_helm_values(check, make):
    assert check("no-privileged", make.release("qdrant", {"containerSecurityContext": {"privileged": False}}), CTX) == []
    msgs = check("no-privileged", make.release("qdrant", {"containerSecurityContext": {"privileged": True}}), CTX)
    assert msgs == ["values containerSecurityContext.privileged is true: set it to false (only the GPU Operator's chart "
                    "may run privileged pods)"]
    assert check("no-privileged", make.release("x", {"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}), CTX)
    # The GPU Operator's chart runs privileged daemonsets by design.
    operator = make.release("gpu-operator", {"driver": {"securityContext": {"privileged": True}}}, namespace="gpu-operator")
    assert check("no-privileged", operator, CTX) == []
