"""Tests for infra.plan.validate against the pinned reference data."""

import copy

from infra.plan import validate
from infra.plan.validate import (
    REFERENCE_DIR,
    has_chart_reference,
    validate_helm_values,
    validate_manifest,
)

K8S = "1.33"
UNKNOWN = "helm {chart}: {key}: not a value of the chart (check spelling or the chart version)"



def test_reference_data_is_present():
    """Without ../shared/reference, CRDs and chart values can't be checked: fail, don't skip."""
    assert (REFERENCE_DIR / "README.md").is_file(), f"no reference data at {REFERENCE_DIR}"


def deployment(**spec_overrides):
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80}],
                        "resources": {
                            "requests": {"cpu": "250m", "memory": "128Mi"},
                            "limits": {"cpu": 1, "memory": "256Mi", "nvidia.com/gpu": 1},
                        },
                    }],
                },
            },
        },
    }
    obj["spec"].update(spec_overrides)
    return obj


# --- Kubernetes objects -------------------------------------------------------------


def test_valid_core_objects_pass():
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    assert validate_manifest(namespace, K8S) == []
    assert validate_manifest(deployment(), K8S) == []


def test_misspelled_field_names_its_path():
    obj = deployment()
    obj["spec"]["replica"] = obj["spec"].pop("replicas")
    assert validate_manifest(obj, K8S) == ["Deployment apps/web: spec.replica: unknown field"]


def test_configmap_data_must_be_strings():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
           "data": {"port": 8080, "host": "db"}}
    errors = validate_manifest(obj, K8S)
    assert len(errors) == 1
    assert errors[0].startswith("ConfigMap _cluster/cfg: data.port: ")
    assert "string" in errors[0]


def test_all_errors_are_collected():
    obj = deployment(replicas="two", paused="no")
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    errors = validate_manifest(obj, K8S)
    paths = sorted(e.split(": ")[1] for e in errors)
    assert paths == ["spec.paused", "spec.replicas",
                     "spec.template.spec.containers.0.imagePullPolice"]


def test_two_unknown_fields_in_one_object_give_two_errors():
    obj = deployment(replica=1, strategyy={})
    assert sorted(validate_manifest(obj, K8S)) == [
        "Deployment apps/web: spec.replica: unknown field",
        "Deployment apps/web: spec.strategyy: unknown field",
    ]


def test_none_values_are_dropped_before_validation():
    # The bundled Kubernetes schemas accept null almost everywhere; CRD schemas do not.
    obj = {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
           "metadata": {"name": "ebs"}, "driver": "ebs.csi.aws.com",
           "deletionPolicy": "Delete", "parameters": None}
    before = copy.deepcopy(obj)
    assert validate_manifest(obj, K8S) == []
    assert obj == before  # the caller's object is not modified
    dep = deployment(replicas=None, strategy=None)
    dep["spec"]["template"]["spec"]["containers"][0]["command"] = None
    assert validate_manifest(dep, K8S) == []


def test_custom_resource_unknown_spec_key_fails():
    obj = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
           "metadata": {"name": "cluster-policy"},
           "spec": {"driverr": {"enabled": False}}}
    errors = validate_manifest(obj, K8S)
    assert "ClusterPolicy _cluster/cluster-policy: spec.driverr: unknown field" in errors


def test_valid_custom_resource_passes():
    obj = {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
           "metadata": {"name": "ebs", "annotations": None},
           "driver": "ebs.csi.aws.com", "deletionPolicy": "Delete"}
    assert validate_manifest(obj, K8S) == []
    del obj["driver"]
    assert validate_manifest(obj, K8S) == [
        "VolumeSnapshotClass _cluster/ebs: <root>: 'driver' is a required property"]


def test_missing_version_of_known_crd_group_is_an_error():
    obj = {"apiVersion": "nvidia.com/v9", "kind": "ClusterPolicy", "metadata": {"name": "x"}}
    [error] = validate_manifest(obj, K8S)
    assert "ClusterPolicy" in error and "v9" in error


def test_unknown_kind_is_an_error_unless_allowlisted(monkeypatch):
    obj = {"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": "apps"}}
    [error] = validate_manifest(obj, K8S)
    assert error.startswith("Widget apps/w: <root>: ")
    assert "SCHEMALESS_ALLOWLIST" in error
    monkeypatch.setitem(validate.SCHEMALESS_ALLOWLIST, ("example.com/v1", "Widget"), "test")
    assert validate_manifest(obj, K8S) == []


def test_group_suffix_does_not_borrow_a_builtin_schema():
    # apps.example.com/v1 maps to the same file name as apps/v1 in kubernetes-validate.
    obj = deployment()
    obj["apiVersion"] = "apps.example.com/v1"
    [error] = validate_manifest(obj, K8S)
    assert "no schema" in error


def test_kubernetes_version_selects_bundled_schemas():
    device_class = {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
                    "metadata": {"name": "gpu"}, "spec": {}}
    assert validate_manifest(device_class, "1.34") == []  # resource.k8s.io/v1 is GA in 1.34
    assert "no schema" in validate_manifest(device_class, "1.33")[0]
    [error] = validate_manifest(device_class, "1.99")
    assert "newer than the newest" in error


# --- Helm values ----------------------------------------------------------------------


def test_known_gpu_operator_values_pass():
    values = {"driver": {"enabled": False}, "dcgmExporter": {"serviceMonitor": {"enabled": True}}}
    assert validate_helm_values("gpu-operator", values) == []


def test_misspelled_helm_key_is_reported():
    assert validate_helm_values("gpu-operator", {"driver": {"enabeld": False}}) == [
        UNKNOWN.format(chart="gpu-operator", key="driver.enabeld")]


def test_free_form_values_accept_anything():
    values = {
        "daemonsets": {
            "tolerations": [{"key": "dedicated", "operator": "Exists"}],
            "labels": {"team": "ml"},  # default {}
        },
        # Free-form by name even though the defaults list other keys.
        "operator": {"resources": {"limits": {"nvidia.com/gpu": 0}},
                     "nodeSelector": {"pool": "system"}},
    }
    assert validate_helm_values("gpu-operator", values) == []
    # ... but only where the README says so: daemonsets has no nodeSelector value.
    assert validate_helm_values("gpu-operator", {"daemonsets": {"nodeSelector": {}}}) == [
        UNKNOWN.format(chart="gpu-operator", key="daemonsets.nodeSelector")]


def test_subchart_keys_are_walked_against_the_subchart_defaults():
    # gc.interval exists only in the node-feature-discovery chart's own values.
    good = {"node-feature-discovery": {"gc": {"interval": "1h"}, "master": {"replicaCount": 2}}}
    assert validate_helm_values("gpu-operator", good) == []
    bad = {"node-feature-discovery": {"master": {"replicaCountt": 2}}}
    [error] = validate_helm_values("gpu-operator", bad)
    assert "node-feature-discovery.master.replicaCountt" in error


def test_schema_rejects_wrongly_typed_value():
    [error] = validate_helm_values("cert-manager", {"crds": {"enabled": "yes"}})
    assert error.startswith("helm cert-manager: crds.enabled: ")
    assert "boolean" in error
    assert validate_helm_values("cert-manager", {"crds": {"enabled": True}}) == []


def test_unknown_key_is_reported_once_for_charts_with_a_schema():
    errors = validate_helm_values("cert-manager", {"crds": {"enabeld": True}})
    assert errors == [UNKNOWN.format(chart="cert-manager", key="crds.enabeld")]


def test_chart_without_reference_is_not_checked():
    assert not has_chart_reference("no-such-chart")
    assert has_chart_reference("gpu-operator")
    assert validate_helm_values("no-such-chart", {"anything": 1}) == []
