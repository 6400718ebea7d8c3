"""The secure-defaults helper."""

from __future__ import annotations

import pytest

from components.common.security import Resources, secure_pod_spec

RES = Resources("100m", "128Mi", "500m", "256Mi").to_k8s()


def test_pod_spec_is_hardened():
    spec = secure_pod_spec([{"name": "app", "image": "x:1", "resources": RES}])
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    ctx = spec["containers"][0]["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"] == {"drop": ["ALL"]}


def test_container_without_limits_is_rejected():
    with pytest.raises(ValueError, match="'app' must set resource requests and limits"):
        secure_pod_spec([{"name": "app", "image": "x:1", "resources": {"requests": {"cpu": "1"}}}])
