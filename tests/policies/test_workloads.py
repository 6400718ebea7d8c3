"""requests-and-limits and pinned-images."""

from __future__ import annotations

import pytest

from policies.genai_policies import PolicyContext
from policies.genai_policies.workloads import image_problem

CTX = PolicyContext()


def _cronjob(make, containers: list, init: list | None = None) -> dict:
    pod = {"containers": containers, "restartPolicy": "OnFailure"}
    if init:
        pod["initContainers"] = init
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "sync", "namespace": "apps"},
            "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": pod}}}}}


def test_requests_and_limits_pass(check, make):
    obj = make.deployment(containers=[make.container()], initContainers=[make.container("init")])
    make.assert_valid(obj)
    assert check("requests-and-limits", make.k8s(obj), CTX) == []


@pytest.mark.parametrize("drop", [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")])
def test_requests_and_limits_each_missing_key_fails(check, make, drop):
    c = make.container()
    del c["resources"][drop[0]][drop[1]]
    msgs = check("requests-and-limits", make.k8s(make.deployment(containers=[c])), CTX)
    assert len(msgs) == 1 and f"resources.{drop[0]}.{drop[1]}" in msgs[0] and "container app" in msgs[0]


def test_requests_and_limits_init_container_of_a_cronjob(check, make):
    init = make.container("migrate")
    del init["resources"]
    obj = _cronjob(make, [make.container()], [init])
    make.assert_valid(obj)
    msgs = check("requests-and-limits", make.k8s(obj), CTX)
    assert len(msgs) == 1 and msgs[0].startswith("init container migrate:")


@pytest.mark.parametrize("kind,api", [("StatefulSet", "apps/v1"), ("DaemonSet", "apps/v1"), ("Job", "batch/v1")])
def test_requests_and_limits_other_workloads(check, make, kind, api):
    obj = make.deployment(containers=[{"name": "app", "image": "busybox:1.36"}])
    obj.update(apiVersion=api, kind=kind)
    assert check("requests-and-limits", make.k8s(obj), CTX)


def test_requests_and_limits_bare_pod(check, make):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "apps"},
           "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}}
    assert check("requests-and-limits", make.k8s(pod), CTX)


def test_requests_and_limits_ignores_non_workloads(check, make):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "apps"},
           "spec": {"ports": [{"port": 80}]}}
    assert check("requests-and-limits", make.k8s(svc), CTX) == []


@pytest.mark.parametrize("image,pinned", [
    ("ghcr.io/example/app:1.2.3", True),
    ("registry.local:5000/app:2.0", True),
    ("app@sha256:" + "a" * 64, True),
    ("docker.io/library/busybox:1.36@sha256:" + "b" * 64, True),
    ("busybox", False),
    ("registry.local:5000/app", False),
    ("ghcr.io/example/app:latest", False),
    ("app:", False),
])
def test_image_problem(image, pinned):
    assert (image_problem(image) is None) is pinned


def test_pinned_images_pass_and_fail(check, make):
    good = make.deployment(containers=[make.container()])
    assert check("pinned-images", make.k8s(good), CTX) == []
    bad = make.deployment(containers=[make.container(image="nginx:latest"), make.container("side", image="envoy")],
                          initContainers=[make.container("init", image="busybox:1.36")])
    msgs = check("pinned-images", make.k8s(bad), CTX)
    assert len(msgs) == 2
    assert "container app" in msgs[0] and "latest" in msgs[0]
    assert "container side" in msgs[1] and "no tag" in msgs[1]


def test_pinned_images_custom_resource_field(check, make):
    cluster = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg", "namespace": "data"},
               "spec": {"instances": 1, "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5", "storage": {"size": "1Gi"}}}
    make.assert_valid(cluster)
    assert check("pinned-images", make.k8s(cluster), CTX) == []
    cluster["spec"]["imageName"] = "ghcr.io/cloudnative-pg/postgresql"
    msgs = check("pinned-images", make.k8s(cluster), CTX)
    assert len(msgs) == 1 and msgs[0].startswith("spec.imageName:")


def test_pinned_images_helm_values_only_explicit_latest(check, make):
    # No tag means the chart's appVersion, fixed by the pinned chart version.
    assert check("pinned-images", make.release("valkey", {"image": {"repository": "valkey/valkey"}}), CTX) == []
    assert check("pinned-images", make.release("valkey", {"image": {"tag": "8.1.3"}}), CTX) == []
    msgs = check("pinned-images", make.release("valkey", {"image": {"tag": "latest"}, "sidecar": {"imageTag": "latest"}}), CTX)
    assert [m.split(":")[0] for m in msgs] == ["values image.tag", "values sidecar.imageTag"]
    assert check("pinned-images", make.release("x", {"proxy": {"image": "envoyproxy/envoy:latest"}}), CTX)


def test_pinned_images_helm_values_pass_through_containers(check, make):
    # Whole containers in the values (init containers, plugins) are rendered as they are.
    pinned = {"initContainers": [{"name": "plugin", "image": "velero/velero-plugin-for-aws:v1.12.2"}]}
    assert check("pinned-images", make.release("velero", pinned), CTX) == []
    msgs = check("pinned-images", make.release("velero", {"initContainers": [{"name": "plugin", "image": "velero/plugin"}]}), CTX)
    assert msgs == ["values initContainers[0].image: image 'velero/plugin' has no tag (it means latest): pin a version "
                    "tag or a digest (never latest)"]
    # A repository with its tag beside it is not a container.
    exporter = {"exporter": {"name": "e", "image": "redis-exporter", "tag": "v1"}}
    assert check("pinned-images", make.release("x", exporter), CTX) == []
