"""A tenant's ingestion: the CronJob (schedule, one run at a time, bounded retries and run
time, the tenant contract as environment, read-only root) and the one-off preprocessing
Job; every object against the Kubernetes schemas; the component under recording mocks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from component_programs import run_component_program

from components.edge.contracts import TENANT_LABEL
from components.tenancy import contracts as c
from components.tenancy import ingestion_specs as s
from infra.plan.validate import validate_manifest

NS, TENANT, SECRET = "tenant-acme", "acme", "tenant-env"
SETTINGS = c.IngestionSettings(image="ghcr.io/acme/ingest:2.0.1", source="s3://acme-docs/handbook",
                               schedule="30 1 * * *", args=("--chunk-size", "800"))
WITH_PRE = dataclasses.replace(SETTINGS, preprocess_image="ghcr.io/acme/ocr:0.9.0", preprocess_args=("--ocr",))
ON_PVC = dataclasses.replace(SETTINGS, source="pvc://shared-docs/teams/acme/")


def pod_of(job_spec: dict) -> dict:
    return job_spec["template"]["spec"]


def only_container(pod: dict) -> dict:
    (ctr,) = pod["containers"]
    return ctr


@pytest.mark.parametrize("settings", [SETTINGS, WITH_PRE, ON_PVC])
def test_every_object_passes_its_schema(settings):
    objs = [s.cronjob(NS, TENANT, settings, SECRET)]
    pre = s.preprocess_job(NS, TENANT, settings, SECRET)
    if pre is not None:
        objs.append(pre)
    for obj in objs:
        assert validate_manifest(obj, "1.33") == [], obj["kind"]


def test_cronjob_schedule_and_one_run_at_a_time():
    spec = s.cronjob(NS, TENANT, SETTINGS, SECRET)["spec"]
    assert spec["schedule"] == "30 1 * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == s.BACKOFF_LIMIT and job["activeDeadlineSeconds"] == 6 * 3600
    assert job["ttlSecondsAfterFinished"] > 0
    assert spec["successfulJobsHistoryLimit"] + spec["failedJobsHistoryLimit"] <= 20   # the namespace's Job quota


def test_environment_is_the_tenant_contract_plus_the_source():
    ctr = only_container(pod_of(s.cronjob(NS, TENANT, SETTINGS, SECRET)["spec"]["jobTemplate"]["spec"]))
    assert ctr["image"] == "ghcr.io/acme/ingest:2.0.1"
    assert ctr["args"] == ["--chunk-size", "800"]
    assert ctr["envFrom"] == [{"configMapRef": {"name": c.TENANT_CONFIG}}, {"secretRef": {"name": SECRET}}]
    assert ctr["env"] == [{"name": "DOCUMENT_SOURCE", "value": "s3://acme-docs/handbook"}]


def test_secure_pod_with_scratch_and_labels():
    spec = s.cronjob(NS, TENANT, SETTINGS, SECRET)["spec"]["jobTemplate"]["spec"]
    pod = pod_of(spec)
    ctr = only_container(pod)
    assert ctr["securityContext"]["readOnlyRootFilesystem"] is True
    assert ctr["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert ctr["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "2Gi"}}
    assert [m["mountPath"] for m in ctr["volumeMounts"]] == ["/tmp"]
    assert "emptyDir" in pod["volumes"][0]
    labels = spec["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "ingestion" and labels[TENANT_LABEL] == TENANT


def test_pvc_source_is_mounted_read_only():
    pod = pod_of(s.cronjob(NS, TENANT, ON_PVC, SECRET)["spec"]["jobTemplate"]["spec"])
    ctr = only_container(pod)
    assert {"name": "documents", "persistentVolumeClaim": {"claimName": "shared-docs", "readOnly": True}} in pod["volumes"]
    assert {"name": "documents", "mountPath": "/documents", "readOnly": True} in ctr["volumeMounts"]
    assert {"name": "DOCUMENT_DIR", "value": "/documents/teams/acme"} in ctr["env"]
    assert s.claim("pvc://docs") == ("docs", "")
    assert s.claim("gs://bucket/x") is None


def test_preprocess_job_runs_once_with_the_same_environment():
    assert s.preprocess_job(NS, TENANT, SETTINGS, SECRET) is None
    job = s.preprocess_job(NS, TENANT, WITH_PRE, SECRET)
    assert job is not None
    assert job["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    assert "ttlSecondsAfterFinished" not in job["spec"]
    ctr = only_container(pod_of(job["spec"]))
    cron = only_container(pod_of(s.cronjob(NS, TENANT, WITH_PRE, SECRET)["spec"]["jobTemplate"]["spec"]))
    assert ctr["image"] == "ghcr.io/acme/ocr:0.9.0" and ctr["args"] == ["--ocr"]
    assert (ctr["envFrom"], ctr["env"]) == (cron["envFrom"], cron["env"])
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "ingestion"


PROGRAM = '''
import pulumi_kubernetes as k8s
from components.tenancy import contracts as c
from components.tenancy.ingestion import TenantIngestion, TenantIngestionArgs

provider = k8s.Provider("k8s", kubeconfig="{}")
TenantIngestion("acme-ingestion", TenantIngestionArgs(
    provider=provider, tenant="acme", namespace="tenant-acme",
    settings=c.IngestionSettings(image="ghcr.io/acme/ingest:2.0.1", source="s3://acme-docs/x",
                                 preprocess_image="ghcr.io/acme/ocr:0.9.0")))
'''


def test_component_registers_cronjob_and_job(tmp_path: Path):
    result = run_component_program(tmp_path / "program", PROGRAM)
    monitor = result.monitor
    assert monitor.violations == []
    (component,) = monitor.by_type("genai:tenancy:Ingestion")
    children = {r.type: r for r in monitor.registrations if r.parent == component.urn}
    assert set(children) == {"kubernetes:batch/v1:CronJob", "kubernetes:batch/v1:Job"}
    assert all(r.provider for r in children.values())
    assert children["kubernetes:batch/v1:CronJob"].inputs["spec"]["concurrencyPolicy"] == "Forbid"
