"""Tests for infra.plan.diff: risky changes first, field-level changes, outputs, cost, CLI errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml

from infra.plan.diff import diff_plans, flatten, main, stateful_reason
from infra.plan.diff_render import render_markdown
from infra.plan.render import build, write
from infra.plan.runner import ROOT, load_stack_config, run_program
from infra.plan.summary import render_summary

PREFIX = "urn:pulumi:test::genai-platform::"
PROVIDER = PREFIX + "pulumi:providers:kubernetes::k8s"
RISK_HEADING = "## Replacements and deletions of protected or stateful resources"


def resource(rtype: str, name: str, inputs: dict, protect: bool = False, parent: str = "genai:test:Thing") -> dict:
    kubernetes = rtype.startswith("kubernetes:")
    return {"urn": f"{PREFIX}{parent}${rtype}::{name}", "type": rtype, "name": name, "parent": None,
            "provider": PROVIDER if kubernetes else None, "custom": True, "protect": protect,
            "dependencies": [], "inputs": inputs}


def k8s(rtype: str, name: str, namespace: str, spec: dict, protect: bool = False, **extra) -> dict:
    kind = rtype.rsplit(":", 1)[1]
    body = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec, **extra}
    return resource(rtype, f"{namespace}-{name}", body, protect)


def deployment(image: str) -> dict:
    return k8s("kubernetes:apps/v1:Deployment", "web", "apps", {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"spec": {"containers": [{"name": "web", "image": image}]}}})


def pvc(storage_class: str, namespace: str = "data", protect: bool = True) -> dict:
    return k8s("kubernetes:core/v1:PersistentVolumeClaim", "db-data", namespace,
               {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                "resources": {"requests": {"storage": "10Gi"}}}, protect=protect)


def configmap(name: str) -> dict:
    return k8s("kubernetes:core/v1:ConfigMap", name, "apps", {}, data={"k": "v"})


def doc(resources: list[dict], outputs: dict | None = None) -> dict:
    return {"project": "genai-platform", "stack": "test", "resources": resources, "outputs": outputs or {}}


def write_plan(path: Path, plan: dict, cost: tuple[float, float] | None = None) -> Path:
    path.mkdir(parents=True)
    (path / "resources.json").write_text(json.dumps(plan))
    if cost:
        (path / "cost.json").write_text(json.dumps({"monthlyUsd": {"min": cost[0], "max": cost[1]}, "lines": []}))
    return path


def fixture_pair(tmp_path: Path) -> tuple[Path, Path]:
    base = doc([pvc("standard"), deployment("nginx:1.27"), configmap("old-settings")],
               {"gateway": {"url": "https://api.a.example/v1"}, "tenants": ["demo"]})
    head = doc([pvc("premium-rwo"), deployment("nginx:1.28"), configmap("new-settings")],
               {"gateway": {"url": "https://api.b.example/v1"}, "tenants": ["demo"]})
    return (write_plan(tmp_path / "base", base, (1000.0, 1500.0)),
            write_plan(tmp_path / "head", head, (1100.5, 1450.0)))


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fixture_diff_lists_every_change_with_the_protected_replacement_first(tmp_path, capsys):
    base, head = fixture_pair(tmp_path)
    code, out, err = run_cli(capsys, str(base), str(head))
    assert code == 0 and err == ""
    risks, rest = out.split(RISK_HEADING)[1].split("## Added", 1)
    assert "**replace** `kubernetes:core/v1:PersistentVolumeClaim` `data-db-data`" in risks
    assert "protected" in risks and "stateful" in risks and "spec.storageClassName" in risks
    assert "Deployment" not in risks, "an image change replaces nothing"
    assert "`spec.storageClassName`: `\"standard\"` -> `\"premium-rwo\"`" in rest
    assert "`spec.template.spec.containers[0].image`: `\"nginx:1.27\"` -> `\"nginx:1.28\"`" in rest
    added, removed = rest.split("## Removed")
    assert "`apps-new-settings`" in added.split("## Changed")[0] and "old-settings" not in added.split("## Changed")[0]
    assert "`apps-old-settings`" in removed.split("## Changed")[0]
    assert "`gateway.url`: `\"https://api.a.example/v1\"` -> `\"https://api.b.example/v1\"`" in rest
    assert "`tenants" not in rest, "unchanged outputs are not listed"
    assert "Cost: monthly min $1,000.00 -> $1,100.50 (+$100.50), max $1,500.00 -> $1,450.00 (-$50.00)" in rest
    assert out.index(RISK_HEADING) < out.index("## Added") < out.index("## Changed") < out.index("## Stack outputs")


def test_json_output_carries_the_same_diff(tmp_path, capsys):
    base, head = fixture_pair(tmp_path)
    code, out, _ = run_cli(capsys, str(base), str(head), "--json")
    data = json.loads(out)
    assert code == 0
    assert [(r["action"], r["name"]) for r in data["risks"]] == [("replace", "data-db-data")]
    assert [r["name"] for r in data["added"]] == ["apps-new-settings"]
    assert [r["name"] for r in data["removed"]] == ["apps-old-settings"]
    web = next(c for c in data["changed"] if c["name"] == "apps-web")
    assert web["fields"] == [{"path": "spec.template.spec.containers[0].image", "old": "nginx:1.27", "new": "nginx:1.28"}]
    assert data["outputs"] == [{"path": "gateway.url", "old": "https://api.a.example/v1", "new": "https://api.b.example/v1"}]
    assert data["cost"]["delta"] == {"min": 100.5, "max": -50.0}


def test_no_cost_line_unless_both_plans_have_a_cost(tmp_path, capsys):
    base = write_plan(tmp_path / "base", doc([configmap("a")]), (10.0, 20.0))
    head = write_plan(tmp_path / "head", doc([configmap("a")]))
    _, out, _ = run_cli(capsys, str(base), str(head))
    assert "Cost" not in out and "None." in out.split(RISK_HEADING)[1]


def test_a_namespace_move_of_a_stateful_object_is_a_risk_not_just_add_and_remove():
    d = diff_plans(doc([pvc("standard", "data", protect=False)]), doc([pvc("standard", "data-v2", protect=False)]))
    assert [(r.action, r.name) for r in d.risks] == [("move", "data-db-data")]
    assert "namespace data -> data-v2" in d.risks[0].detail and "deletes the old object" in d.risks[0].detail
    assert len(d.added) == len(d.removed) == 1


def test_removed_protected_or_stateful_resources_are_deletions():
    bucket = resource("aws:s3/bucket:Bucket", "stores", {"bucket": "x"})
    policy = resource("aws:s3/bucketPolicy:BucketPolicy", "stores-policy", {"policy": "{}"})
    role = resource("aws:iam/role:Role", "admin", {"name": "admin"}, protect=True)
    d = diff_plans(doc([bucket, policy, role, configmap("c")]), doc([]))
    assert sorted((r.action, r.name) for r in d.risks) == [("delete", "admin"), ("delete", "stores")]
    assert "refuses" in next(r for r in d.risks if r.name == "admin").detail


def test_changed_inputs_of_protected_cloud_resources_may_replace():
    old = resource("aws:eks/cluster:Cluster", "eks", {"version": "1.32"}, protect=True)
    new = copy.deepcopy(old)
    new["inputs"]["version"] = "1.33"
    d = diff_plans(doc([old]), doc([new]))
    assert [(r.action, r.detail) for r in d.risks] == [
        ("may replace", "changes version (the provider decides whether these replace it)")]


def test_immutable_kubernetes_fields_mark_a_replacement():
    job_old = k8s("kubernetes:batch/v1:Job", "download", "models", {"template": {"spec": {"restartPolicy": "Never"}}})
    job_new = copy.deepcopy(job_old)
    job_new["inputs"]["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    sts_old = k8s("kubernetes:apps/v1:StatefulSet", "db", "data", {"replicas": 1, "volumeClaimTemplates": [{"spec": {}}]})
    sts_new = copy.deepcopy(sts_old)
    sts_new["inputs"]["spec"]["replicas"] = 3
    svc_old = k8s("kubernetes:core/v1:Service", "api", "apps", {"type": "ClusterIP"})
    svc_new = copy.deepcopy(svc_old)
    svc_new["inputs"]["spec"]["type"] = "LoadBalancer"
    d = diff_plans(doc([job_old, sts_old, svc_old]), doc([job_new, sts_new, svc_new]))
    replaced = {c.name: c.replace_on for c in d.changed}
    assert replaced == {"models-download": ("spec.template.spec.restartPolicy",), "data-db": (), "apps-api": ("spec.type",)}
    assert d.risks == (), "scaling a StatefulSet replaces nothing; Job and Service are not stateful"
    sts_new["inputs"]["spec"]["volumeClaimTemplates"][0]["spec"] = {"storageClassName": "fast"}
    risks = diff_plans(doc([sts_old]), doc([sts_new])).risks
    assert [(r.action, r.name) for r in risks] == [("replace", "data-db")]
    assert "spec.volumeClaimTemplates[0].spec.storageClassName" in risks[0].detail


def test_secret_values_compare_as_opaque_and_long_values_are_cut():
    old = resource("random:index/randomPassword:RandomPassword", "pw", {"result": "[secret]", "note": "x" * 200})
    new = copy.deepcopy(old)
    new["inputs"]["note"] = "y" * 200
    d = diff_plans(doc([old]), doc([new]))
    assert [f.path for f in d.changed[0].fields] == ["note"]
    line = next(ln for ln in render_markdown(d).splitlines() if ln.strip().startswith("- `note`"))
    assert "x" * 78 + "…" in line and "x" * 80 not in line


def test_flatten_names_paths_with_dots_indexes_and_quoted_keys():
    tree = {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}, "spec": {"ports": [{"port": 80}], "tls": []}}
    assert flatten(tree) == {'metadata.labels["app.kubernetes.io/name"]': "web", "spec.ports[0].port": 80, "spec.tls": []}


def test_stateful_types_match_whole_type_segments():
    assert stateful_reason({"type": "gcp:storage/bucket:Bucket"})
    assert stateful_reason({"type": "azure-native:storage:StorageAccount"})
    assert stateful_reason({"type": "azure-native:containerservice:ManagedCluster"})
    assert stateful_reason({"type": "kubernetes:helm.sh/v3:Release", "inputs": {"chart": "cloudnative-pg"}})
    assert not stateful_reason({"type": "gcp:storage/bucketIAMMember:BucketIAMMember"})
    assert not stateful_reason({"type": "aws:eks/nodeGroup:NodeGroup"})
    assert not stateful_reason({"type": "kubernetes:helm.sh/v3:Release", "inputs": {"chart": "keda"}})


def test_missing_or_unreadable_plan_directories_exit_2_with_a_message(tmp_path, capsys):
    good = write_plan(tmp_path / "good", doc([]))
    code, out, err = run_cli(capsys, str(good), str(tmp_path / "absent"))
    assert code == 2 and out == "" and "absent: no such plan directory" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, str(tmp_path / "empty"), str(good))
    assert code == 2 and "no resources.json" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "resources.json").write_text("{not json")
    code, _, err = run_cli(capsys, str(good), str(broken))
    assert code == 2 and "can't be read" in err


def test_real_local_plans_diff_names_a_changed_tenant_rate_limit(tmp_path, capsys):
    stack_file = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    tenants = copy.deepcopy(stack_file["config"]["genai-platform:tenants"])
    assert tenants[0]["rateLimit"]["requestsPerMinute"] == 120
    tenants[0]["rateLimit"]["requestsPerMinute"] = 240
    dirs = []
    for label, overrides in (("base", None), ("head", {"tenants": tenants})):
        cfg = load_stack_config("local", overrides=overrides)
        plan = build(cfg, run_program(cfg))
        assert plan.errors == []
        write(plan, tmp_path / label, render_summary(plan))
        dirs.append(str(tmp_path / label))
    code, out, _ = run_cli(capsys, *dirs)
    assert code == 0
    assert out.split(RISK_HEADING)[1].split("##")[0].strip() == "None."
    assert "1 changed" in out and "0 added, 0 removed" in out
    assert "- `kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy` `" in out
    assert "`spec.rateLimit.global.rules[0].limit.requests`: `120` -> `240`" in out



def test_storage_settings_of_stateful_kubernetes_objects_are_flagged_even_without_a_replacement():
    old = resource("kubernetes:helm.sh/v3:Release", "vector", {"chart": "qdrant", "name": "qdrant", "namespace": "data",
                                                               "values": {"persistence": {"storageClassName": "standard"},
                                                                          "replicaCount": 1}})
    new = copy.deepcopy(old)
    new["inputs"]["values"] = {"persistence": {"storageClassName": "fast"}, "replicaCount": 2}
    risks = diff_plans(doc([old]), doc([new])).risks
    assert [(r.action, r.name) for r in risks] == [("may replace", "vector")]
    assert "values.persistence.storageClassName" in risks[0].detail and "replicaCount" not in risks[0].detail
    scaled = copy.deepcopy(old)
    scaled["inputs"]["values"]["replicaCount"] = 2
    assert diff_plans(doc([old]), doc([scaled])).risks == ()
