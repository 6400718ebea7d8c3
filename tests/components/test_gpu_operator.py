"""GPU Operator: what reaches the Helm release and the cluster."""

from __future__ import annotations

import yaml

from components.cluster.info import GpuPool, GpuSharing, Taint
from components.platform.gpu_operator_values import (
    GpuOperatorSettings,
    device_plugin_config,
    gpu_operator_values,
    gpu_tolerations,
    platform_node_labels,
)

GPU_TAINT = (Taint("nvidia.com/gpu", "present", "NoSchedule"),)


def pool(name="a100", mode="none", replicas=None, profile=None, taints=GPU_TAINT) -> GpuPool:
    return GpuPool(name, "A100-80GB", 80, 8, {"genai-platform.io/gpu-pool": name}, taints,
                   GpuSharing(mode, replicas, profile))


def settings(**kw) -> GpuOperatorSettings:
    return GpuOperatorSettings(chart_version="v26.7.0", **kw)


def test_managed_driver_and_toolkit_by_default():
    v = gpu_operator_values(settings(), (pool(),))
    assert v["driver"] == {"enabled": True}
    assert v["toolkit"] == {"enabled": True}
    assert v["dcgmExporter"]["serviceMonitor"]["enabled"] is True


def test_preinstalled_driver_turns_operator_driver_and_toolkit_off():
    v = gpu_operator_values(settings(driver="preinstalled", toolkit="preinstalled"), (pool(),))
    assert v["driver"]["enabled"] is False
    assert v["toolkit"]["enabled"] is False


def test_driver_version_pinned_when_given():
    assert gpu_operator_values(settings(driver_version="580.95.05"), (pool(),))["driver"]["version"] == "580.95.05"


def test_service_monitor_switch():
    values = gpu_operator_values(settings(dcgm_service_monitor=False), (pool(),))
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is False


def test_tolerations_cover_every_pool_taint():
    custom = pool("h100", taints=(*GPU_TAINT, Taint("dedicated", "inference", "NoExecute")))
    tol = gpu_tolerations((pool(), custom))
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tol
    assert {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"} in tol
    assert len(tol) == 2
    v = gpu_operator_values(settings(), (pool(), custom))
    assert v["daemonsets"]["tolerations"] == tol
    assert all(t in v["node-feature-discovery"]["worker"]["tolerations"] for t in tol)


def test_no_device_plugin_config_without_sharing():
    assert device_plugin_config((pool(),)) is None
    assert "devicePlugin" not in gpu_operator_values(settings(), (pool(),))


def test_time_slicing_config_per_pool():
    data = device_plugin_config((pool(), pool("l40s", "time-slicing", replicas=4)))
    assert set(data) == {"default", "l40s"}
    cfg = yaml.safe_load(data["l40s"])
    assert cfg["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
    assert "sharing" not in yaml.safe_load(data["default"])
    v = gpu_operator_values(settings(), (pool(), pool("l40s", "time-slicing", replicas=4)))
    assert v["devicePlugin"]["config"] == {"name": "device-plugin-config", "create": False, "default": "default"}


def test_mig_pool_uses_single_strategy_and_labels():
    mig = pool("mig", "mig", profile="1g.10gb")
    assert yaml.safe_load(device_plugin_config((mig,))["mig"])["flags"]["migStrategy"] == "single"
    assert mig.operator_node_labels == {"nvidia.com/device-plugin.config": "mig", "nvidia.com/mig.config": "all-1g.10gb"}
    assert pool().operator_node_labels == {}


def _onprem(run):
    result = run("onprem")
    assert result.error is None
    return result.monitor


def test_release_chart_repository_version(run):
    mon = _onprem(run)
    (rel,) = [r for r in mon.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "gpu-operator"]
    assert rel.inputs["repositoryOpts"] == {"repo": "https://helm.ngc.nvidia.com/nvidia"}
    assert rel.inputs["version"] == "v26.7.0"
    assert rel.inputs["namespace"] == "gpu-operator"
    assert rel.inputs["values"]["devicePlugin"]["config"]["name"] == "device-plugin-config"
    cm = next(r for r in mon.registrations if r.type == "kubernetes:core/v1:ConfigMap"
              and r.inputs["metadata"]["name"] == "device-plugin-config")
    assert cm.urn in rel.dependencies, "the release must wait for the device-plugin ConfigMap"
    ns = next(r for r in mon.registrations if r.type == "kubernetes:core/v1:Namespace"
              and r.inputs["metadata"]["name"] == "gpu-operator")
    assert ns.urn in rel.dependencies


def test_chart_version_override(run):
    mon = run("onprem", overrides={"gpuOperator": {"chartVersion": "v26.3.1"}}).monitor
    (rel,) = [r for r in mon.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "gpu-operator"]
    assert rel.inputs["version"] == "v26.3.1"


def test_operator_namespace_is_privileged_and_isolated(run):
    mon = _onprem(run)
    ns = next(r for r in mon.registrations if r.type == "kubernetes:core/v1:Namespace"
              and r.inputs["metadata"]["name"] == "gpu-operator")
    labels = ns.inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in mon.registrations
                if r.type.endswith(":NetworkPolicy") and r.inputs["metadata"]["namespace"] == "gpu-operator"}
    assert policies["default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    assert {p["port"] for p in policies["allow-metrics-scrape"]["ingress"][0]["ports"]} == {9400}
    assert {p["port"] for p in policies["allow-api-and-registries"]["egress"][0]["ports"]} == {80, 443, 6443}


def test_cpu_only_stack_has_no_gpu_operator(run):
    mon = run("local").monitor
    assert not [r for r in mon.registrations if "GpuOperator" in r.type]
    assert not [r for r in mon.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "gpu-operator"]
    assert all(r.inputs["metadata"]["name"] != "gpu-operator" for r in mon.by_type("kubernetes:core/v1:Namespace"))


def test_gpu_operator_can_be_switched_off_with_pools(run):
    mon = run("onprem", overrides={"gpuOperator": {"enabled": False}}).monitor
    assert not [r for r in mon.registrations if "GpuOperator" in r.type]


# --- per-platform values: what the node image already brings is not installed twice ---

def test_eks_accelerated_amis_bring_driver_and_toolkit():
    for platform in ("eks-al2023", "eks-bottlerocket"):
        v = gpu_operator_values(settings(platform=platform), (pool(),))
        assert v["driver"] == {"enabled": False}
        assert v["toolkit"] == {"enabled": False}
        assert "hostPaths" not in v


def test_eks_driver_stays_off_even_if_managed_was_left_as_default():
    v = gpu_operator_values(settings(platform="eks-al2023", driver="managed", driver_version="580.95.05"), (pool(),))
    assert v["driver"] == {"enabled": False}


def test_gke_follows_nvidias_gke_procedure():
    v = gpu_operator_values(settings(platform="gke", kubernetes_version="1.33"), (pool(),))
    assert v["driver"] == {"enabled": False}
    assert v["hostPaths"] == {"driverInstallDir": "/home/kubernetes/bin/nvidia"}
    assert v["toolkit"]["installDir"] == "/home/kubernetes/bin/nvidia"
    assert v["toolkit"]["enabled"] is True
    assert {"name": "RUNTIME_CONFIG_SOURCE", "value": "file"} in v["toolkit"]["env"]
    assert v["cdi"] == {"enabled": True}


def test_gke_runtime_config_source_only_from_1_33():
    v = gpu_operator_values(settings(platform="gke", kubernetes_version="1.32"), (pool(),))
    assert "env" not in v["toolkit"]


def test_aks_and_generic_let_the_operator_own_the_driver():
    for platform in ("aks", "generic"):
        v = gpu_operator_values(settings(platform=platform), (pool(),))
        assert v["driver"]["enabled"] is True and v["toolkit"]["enabled"] is True


def test_platform_node_labels():
    assert platform_node_labels("gke") == {"gke-no-default-nvidia-gpu-device-plugin": "true"}
    assert platform_node_labels("eks-bottlerocket") == {
        "nvidia.com/gpu.deploy.device-plugin": "false", "nvidia.com/gpu.deploy.mig-manager": "false"}
    assert platform_node_labels("eks-al2023") == {} and platform_node_labels("aks") == {}


def test_every_platforms_values_are_keys_of_the_pinned_chart():
    from infra.plan.validate import validate_helm_values

    for platform in ("generic", "eks-al2023", "eks-bottlerocket", "gke", "aks"):
        values = gpu_operator_values(settings(platform=platform), (pool(), pool("l4", "time-slicing", 4)))
        assert validate_helm_values("gpu-operator", values) == [], platform


def test_gke_mig_pools_reboot_to_repartition():
    mig = pool("a100", "mig", profile="1g.10gb")
    v = gpu_operator_values(settings(platform="gke"), (mig,))
    assert v["migManager"]["env"] == [{"name": "WITH_REBOOT", "value": "true"}]
    assert "migManager" not in gpu_operator_values(settings(platform="gke"), (pool(),))
    assert "migManager" not in gpu_operator_values(settings(platform="generic"), (mig,))
