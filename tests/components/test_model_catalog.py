"""Model catalog: claim size, download Jobs, index, and the download script itself (run here)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from components.cluster.info import GpuPool, ObjectStore, Taint, WorkloadIdentity
from components.models import catalog_specs as cs
from infra.plan.validate import validate_manifest

REV = "0e9e39f249a16976918f6564b8830bc894c89659"
REV2 = "5f0b02c75b57c5855da9ae460ce51323ea669d8a"
POOL = GpuPool("a100", "A100-80GB", 80, 8, {"genai-platform.io/gpu-pool": "a100"},
               (Taint("nvidia.com/gpu", "present", "NoSchedule"),))
SCRIPT = cs.SCRIPT_PATH


def entry(model="llama", uri="hf://org/model", revision=REV, weights=15.0, weights_file=None) -> cs.CatalogEntry:
    return cs.CatalogEntry(model=model, uri=uri, revision=revision, weights_file=weights_file, weights_gib=weights)


def job(e=None, **kw) -> dict:
    return cs.download_job(e or entry(), "models", "catalog", cs.CatalogSettings(), **kw)


def env_of(j: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in j["spec"]["template"]["spec"]["containers"][0]["env"]}


# --- sizing and claim -------------------------------------------------------------------

def test_claim_size_holds_every_model_plus_one_revision_switch_times_headroom():
    assert cs.catalog_size_gib([entry(weights=40.0), entry("b", weights=30.0)], 1.3, 20) == 143  # (70 + 40) x 1.3
    assert cs.catalog_size_gib([entry(weights=40.1)], 1.3, 20) == 105     # 104.26 -> 105
    assert cs.catalog_size_gib([entry(weights=100.0)], 1.5, 20) == 300


def test_claim_size_has_a_floor_and_ignores_models_on_their_own_claims():
    assert cs.catalog_size_gib([entry(weights=1.0)], 1.3, 20) == 20
    assert cs.catalog_size_gib([], 1.3, 20) == 20
    on_pvc = entry("big", uri="pvc://weights/big", revision=None, weights=500.0)
    assert cs.catalog_size_gib([entry(weights=40.0), on_pvc], 1.3, 20) == 104
    with pytest.raises(ValueError):
        cs.catalog_size_gib([entry()], 0.9, 20)


def test_claim_is_rwx_when_the_cluster_has_a_shared_class_and_rwo_otherwise():
    rwx = cs.catalog_claim("models", "catalog", "nfs-rwx", True, 91)
    assert rwx["spec"] == {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs-rwx",
                           "resources": {"requests": {"storage": "91Gi"}}}
    rwo = cs.catalog_claim("models", "catalog", "standard", False, 20)
    assert rwo["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert validate_manifest(rwx, "1.33") == []


# --- download Jobs ------------------------------------------------------------------------

def test_job_name_changes_with_source_or_revision_and_is_stable_otherwise():
    base = job()["metadata"]["name"]
    assert job()["metadata"]["name"] == base
    assert job(entry(revision=REV2))["metadata"]["name"] != base
    assert job(entry(uri="hf://org/other"))["metadata"]["name"] != base
    assert base.startswith("llama-dl-") and len(base) <= 63
    long = job(entry(model="m" * 63))["metadata"]["name"]
    assert len(long) <= 63


def test_each_revision_gets_its_own_directory_and_key():
    a, b = entry(), entry(revision=REV2)
    assert a.rel_dir == "llama/0e9e39f249a1" and b.rel_dir == "llama/5f0b02c75b57"
    assert a.key != b.key
    assert env_of(job(a))["DEST"] == "/catalog/llama/0e9e39f249a1"


def test_job_runs_on_cpu_nodes_with_limits_and_a_secure_context():
    j = job(pools=(POOL,))
    pod = j["spec"]["template"]["spec"]
    assert "tolerations" not in pod
    (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term["matchExpressions"] == [{"key": "genai-platform.io/gpu-pool", "operator": "NotIn", "values": ["a100"]}]
    (c,) = pod["containers"]
    assert c["resources"]["requests"] and c["resources"]["limits"]
    assert "nvidia.com/gpu" not in c["resources"]["limits"]
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "model-downloader"
    spec = j["spec"]
    assert spec["backoffLimit"] == 6 and spec["ttlSecondsAfterFinished"] == 86400
    assert spec["activeDeadlineSeconds"] == 1800 + 15 * 60
    assert validate_manifest(j, "1.33") == []


def test_no_gpu_pools_means_no_affinity():
    assert "affinity" not in job()["spec"]["template"]["spec"]


def test_hub_downloads_use_hf_with_parallel_xet_and_an_optional_token():
    j = job(hf_token=True)
    env = env_of(j)
    assert j["spec"]["template"]["spec"]["containers"][0]["image"] == "python:3.12.12-slim-bookworm"
    assert env["HF_CLI_PACKAGE"] == "huggingface_hub==2.4.0"
    assert env["HF_XET_HIGH_PERFORMANCE"] == "1" and env["MAX_WORKERS"] == "16"
    assert env["HF_TOKEN"] == {"secretKeyRef": {"name": "hf-token", "key": "token", "optional": True}}
    assert "HF_TOKEN" not in env_of(job())
    assert env["REVISION"] == REV and env["SOURCE_URI"] == "hf://org/model"


def test_object_stores_use_rclone_with_the_cluster_identity():
    identity = WorkloadIdentity("model-downloads", "models", "model-downloader",
                                annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/dl"},
                                pod_labels={"azure.workload.identity/use": "true"})
    store = ObjectStore("s3", "bucket", "eu-west-1")
    j = job(entry(uri="s3://bucket/models/llama", revision=None), identity=identity, store=store)
    pod = j["spec"]["template"]
    assert pod["spec"]["containers"][0]["image"] == "rclone/rclone:1.74.4"
    env = env_of(j)
    assert env["RCLONE_S3_ENV_AUTH"] == "true" and env["RCLONE_S3_REGION"] == "eu-west-1"
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    sa = cs.service_account("models", "catalog", identity)
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/dl"}
    assert validate_manifest(sa, "1.33") == []
    assert env_of(job(entry(uri="az://acct/models/llama", revision=None)))["RCLONE_AZUREBLOB_ENV_AUTH"] == "true"


def test_pvc_sources_are_only_verified_and_mounted_read_only():
    e = entry("big", uri="pvc://weights/llama-70b", revision=None)
    j = job(e)
    pod = j["spec"]["template"]["spec"]
    assert pod["volumes"][0] == {"name": "catalog", "persistentVolumeClaim": {"claimName": "weights", "readOnly": True}}
    assert env_of(j)["DEST"] == "/catalog/llama-70b"
    vol = cs.server_volume(e, cs.CatalogSettings())
    assert vol.marker is None and vol.mount["subPath"] == "llama-70b" and vol.model_path == "/models/big"


def test_servers_wait_for_the_marker_of_their_revision():
    vol = cs.server_volume(entry(weights_file=None), cs.CatalogSettings())
    assert vol.marker == "/models/llama/0e9e39f249a1/.catalog-complete.json"
    assert vol.mount == {"name": "models", "mountPath": "/models", "readOnly": True}
    gguf = cs.server_volume(entry("small", weights_file="q4.gguf"), cs.CatalogSettings())
    assert gguf.model_path == "/models/small/0e9e39f249a1/q4.gguf"


def test_index_lists_every_model():
    cm = cs.index_configmap("models", "catalog", [entry(), entry("big", uri="pvc://weights/x", revision=None)])
    rows = {r["model"]: r for r in json.loads(cm["data"]["index.json"])}
    assert rows["llama"] == {"model": "llama", "source": "hf://org/model", "revision": REV,
                             "path": "/models/llama/0e9e39f249a1", "weightsFile": None, "sizeGiB": 15.0}
    assert rows["big"]["path"] == "pvc://weights/x"
    assert validate_manifest(cm, "1.33") == []


def test_script_configmap_carries_the_repository_script():
    cm = cs.script_configmap("models", "catalog")
    assert cm["data"]["download.sh"] == SCRIPT.read_text()
    assert validate_manifest(cm, "1.33") == []


def test_downloader_egress_is_https_plus_the_cloud_identity_endpoint():
    pol = cs.downloader_egress("models", {}, "eks")
    assert pol["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": "model-download"}}
    assert pol["spec"]["egress"][0] == {"ports": [{"protocol": "TCP", "port": 443}]}
    assert pol["spec"]["egress"][1]["to"] == [{"ipBlock": {"cidr": "169.254.170.23/32"}}]
    assert len(cs.downloader_egress("models", {}, "existing")["spec"]["egress"]) == 1
    assert validate_manifest(pol, "1.33") == []


# --- the script, run with fake downloaders ------------------------------------------------

FAKE_HF = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
dest=""
while [ $# -gt 0 ]; do
  case "$1" in --local-dir) dest="$2"; shift 2 ;; *) shift ;; esac
done
if [ -f "$dest/.catalog-complete.json" ]; then echo "marker present during download" >&2; exit 3; fi
mkdir -p "$dest/.cache/huggingface/download"
printf 'part' > "$dest/.cache/huggingface/download/w.incomplete"
printf '{"a": 1}' > "$dest/config.json"
if [ -n "${FAKE_FAIL:-}" ]; then exit 1; fi
printf '0123456789' > "$dest/model.safetensors"
"""

FAKE_RCLONE = """#!/bin/sh
echo "$* account=${RCLONE_AZUREBLOB_ACCOUNT:-}" >> "$FAKE_LOG"
mkdir -p "$3"
printf 'abc' > "$3/weights.bin"
"""


@pytest.fixture
def sandbox(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("hf", FAKE_HF), ("rclone", FAKE_RCLONE)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    work = tmp_path / "cwd"
    work.mkdir()
    # A file matching an exclude pattern: the script must not glob-expand patterns against it.
    (work / "stray.pth").write_text("x")
    log = tmp_path / "calls.log"

    def run(dest: Path, **env: str) -> subprocess.CompletedProcess:
        full = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log), "DEST": str(dest),
                "SOURCE_URI": "hf://org/model", "REVISION": REV, "KEY": "key-one", **env}
        return subprocess.run(["sh", str(SCRIPT)], env=full, cwd=work, capture_output=True, text=True, timeout=60)

    def calls() -> list[str]:
        return log.read_text().splitlines() if log.exists() else []

    return tmp_path / "catalog" / "llama" / "rev", run, calls


def marker(dest: Path) -> dict:
    return json.loads((dest / ".catalog-complete.json").read_text())


def test_script_downloads_then_writes_the_marker(sandbox):
    dest, run, calls = sandbox
    result = run(dest)
    assert result.returncode == 0, result.stderr
    m = marker(dest)
    assert m["key"] == "key-one" and m["revision"] == REV and m["source"] == "hf://org/model"
    assert (m["files"], m["bytes"]) == (2, 8 + 10), "the downloader's .cache bookkeeping is not counted"
    (call,) = calls()
    assert call.startswith(f"download org/model --local-dir {dest} --max-workers 16 --revision {REV}")


def test_script_skips_when_the_marker_matches(sandbox):
    dest, run, calls = sandbox
    assert run(dest).returncode == 0
    again = run(dest)
    assert again.returncode == 0 and "already complete" in again.stderr
    assert len(calls()) == 1


def test_script_runs_again_when_the_revision_changes(sandbox):
    dest, run, calls = sandbox
    assert run(dest).returncode == 0
    result = run(dest, REVISION=REV2, KEY="key-two")
    assert result.returncode == 0, result.stderr
    assert len(calls()) == 2 and f"--revision {REV2}" in calls()[1]
    assert marker(dest)["key"] == "key-two" and marker(dest)["revision"] == REV2


def test_script_leaves_no_marker_on_failure_and_resumes_later(sandbox):
    dest, run, calls = sandbox
    failed = run(dest, FAKE_FAIL="1")
    assert failed.returncode != 0
    assert not (dest / ".catalog-complete.json").exists()
    assert (dest / ".cache/huggingface/download/w.incomplete").exists(), "partial data stays for the next run"
    assert run(dest).returncode == 0
    assert len(calls()) == 2 and marker(dest)["files"] == 2


def test_script_drops_a_stale_marker_before_downloading(sandbox):
    dest, run, _ = sandbox
    dest.mkdir(parents=True)
    (dest / ".catalog-complete.json").write_text('{"key": "old-key"}')
    result = run(dest)     # the fake downloader fails if it still sees a marker
    assert result.returncode == 0, result.stderr
    assert marker(dest)["key"] == "key-one"


def test_script_passes_exclude_patterns_verbatim_and_single_files(sandbox):
    dest, run, calls = sandbox
    assert run(dest, EXCLUDE="*.pth original/*").returncode == 0
    assert "--exclude *.pth --exclude original/*" in calls()[0]
    other = dest.parent / "gguf"
    assert run(other, KEY="k3", WEIGHTS_FILE="m-q4_k_m.gguf", EXCLUDE="*.pth").returncode == 0
    assert calls()[1].endswith(" m-q4_k_m.gguf") and "--exclude" not in calls()[1]


def test_script_fetches_object_stores_with_rclone(sandbox):
    dest, run, calls = sandbox
    assert run(dest, SOURCE_URI="s3://bucket/models/llama", REVISION="").returncode == 0
    assert calls()[0].startswith(f"copy :s3:bucket/models/llama {dest} --transfers 16 --multi-thread-streams 8")
    az = dest.parent / "az"
    assert run(az, SOURCE_URI="az://acct/models/llama", REVISION="", KEY="k-az").returncode == 0
    assert calls()[1].startswith(f"copy :azureblob:models/llama {az} ") and calls()[1].endswith("account=acct")
    assert marker(az)["files"] == 1 and marker(az)["bytes"] == 3


def test_script_verifies_pvc_sources_without_writing(sandbox):
    dest, run, calls = sandbox
    missing = run(dest, SOURCE_URI="pvc://weights/llama")
    assert missing.returncode != 0
    dest.mkdir(parents=True)
    (dest / "config.json").write_text("{}")
    assert run(dest, SOURCE_URI="pvc://weights/llama").returncode == 0
    assert calls() == [] and not (dest / ".catalog-complete.json").exists()


def test_script_refuses_to_mark_an_empty_download(sandbox, tmp_path):
    dest, run, _ = sandbox
    empty = tmp_path / "bin" / "rclone"
    empty.write_text("#!/bin/sh\nmkdir -p \"$3\"\n")
    result = run(dest, SOURCE_URI="gs://bucket/x", REVISION="")
    assert result.returncode != 0 and not (dest / ".catalog-complete.json").exists()


def test_long_model_names_still_make_valid_objects():
    e = entry(model="m" * 63)
    for obj in (job(e), cs.index_configmap("models", "c" * 70, [e])):
        assert validate_manifest(obj, "1.33") == []
        assert all(len(v) <= 63 for v in obj["metadata"]["labels"].values())
