"""Storage classes and the NFS CSI driver."""

from __future__ import annotations

from components.platform.storage_specs import NfsSettings, nfs_chart_values, nfs_snapshot_class, nfs_storage_class

NFS = NfsSettings(server="nfs.example", share="/exports/genai", class_name="nfs-rwx", sub_dir="${pvc.metadata.name}")


def test_storage_class_points_at_the_share():
    sc = nfs_storage_class(NFS, protect=False)
    assert sc["provisioner"] == "nfs.csi.k8s.io"
    assert sc["parameters"] == {"server": "nfs.example", "share": "/exports/genai", "subDir": "${pvc.metadata.name}"}
    assert sc["reclaimPolicy"] == "Delete"
    assert sc["mountOptions"] == ["nfsvers=4.1"]


def test_protect_retains_volumes_and_snapshots():
    assert nfs_storage_class(NFS, protect=True)["reclaimPolicy"] == "Retain"
    assert nfs_snapshot_class("nfs-rwx", protect=True)["deletionPolicy"] == "Retain"


def test_chart_values_install_snapshot_controller_only_when_asked():
    installed = nfs_chart_values("install", 1)["externalSnapshotter"]
    assert installed == {"enabled": True, "customResourceDefinitions": {"enabled": True}}
    assert nfs_chart_values("existing", 1)["externalSnapshotter"]["enabled"] is False
    assert nfs_chart_values("none", 2)["controller"] == {"replicas": 2}
    assert nfs_chart_values("none", 1)["storageClass"] == {"create": False}


def test_onprem_creates_nfs_driver_class_and_snapshot_class(run):
    mon = run("onprem").monitor
    (rel,) = [r for r in mon.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "csi-driver-nfs"]
    assert rel.inputs["version"] == "4.13.4"
    assert rel.inputs["namespace"] == "kube-system"
    assert rel.inputs["repositoryOpts"]["repo"].endswith("/csi-driver-nfs/master/charts")
    (sc,) = mon.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert sc.inputs["metadata"]["name"] == "nfs-rwx"
    assert sc.inputs["parameters"] == {"server": "nfs.storage.internal", "share": "/exports/genai"}
    assert sc.inputs["reclaimPolicy"] == "Retain"
    assert sc.inputs["mountOptions"] == ["nfsvers=4.1", "hard"]
    assert rel.urn in sc.dependencies
    (vsc,) = mon.by_type("kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass")
    assert vsc.inputs["driver"] == "nfs.csi.k8s.io"
    assert rel.urn in vsc.dependencies, "the snapshot CRDs come with the chart"
    assert mon.stack_outputs["storageClasses"] == {"rwo": "rook-ceph-block", "rwx": "nfs-rwx"}


def test_existing_rwx_class_is_adopted_not_created(run):
    mon = run("onprem", overrides={"storage": {"rwo": {"className": "ceph-rbd"},
                                               "rwx": {"provider": "existing", "className": "cephfs"}}}).monitor
    assert not mon.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert not [r for r in mon.by_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "csi-driver-nfs"]
    assert mon.stack_outputs["storageClasses"] == {"rwo": "ceph-rbd", "rwx": "cephfs"}


def test_local_has_no_rwx(run):
    mon = run("local").monitor
    assert not mon.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert mon.stack_outputs["storageClasses"] == {"rwo": "standard", "rwx": None}
