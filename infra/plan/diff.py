"""``python -m infra.plan.diff BASE_DIR HEAD_DIR [--json]``: what changes between two offline plans.

A reviewer reads this before ``pulumi up``. It opens with every protected or stateful resource
the change would delete, move or replace (the changes that lose data or that ``pulumi up``
refuses), then lists added, removed and changed resources field by field, the stack outputs
that change and the monthly cost delta. It compares only the plans' ``resources.json`` (and
``cost.json`` when both have one) and calls no cloud or cluster, so replacements are inferred
from the fields the providers are known to replace on; cloud resources say "may replace".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
MAX_VALUE = 80
MAX_FIELDS_SHOWN = 40


class _Absent:
    """The value on the side of a field change where the field doesn't exist."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()

# Kinds that hold data, or whose deletion deletes data, keyed by type token.
STATEFUL_TYPES: dict[str, str] = {
    "kubernetes:core/v1:PersistentVolumeClaim": "the claim owns its volume; with reclaim policy Delete the data goes too",
    "kubernetes:core/v1:PersistentVolume": "a volume holds data",
    "kubernetes:apps/v1:StatefulSet": "its volume claim templates bind the pods' data volumes",
    "kubernetes:core/v1:Namespace": "deleting a namespace deletes everything in it, volume claims and databases included",
    "kubernetes:postgresql.cnpg.io/v1:Cluster": "a CloudNativePG cluster owns its PostgreSQL volumes",
    "kubernetes:mysql.oracle.com/v2:InnoDBCluster": "an InnoDB cluster owns its MySQL volumes",
    "kubernetes:psmdb.percona.com/v1:PerconaServerMongoDB": "a Percona MongoDB cluster owns its volumes",
    "kubernetes:k8ssandra.io/v1alpha1:K8ssandraCluster": "a K8ssandra cluster owns its Cassandra volumes",
}

# Helm charts (last segment of the chart reference) whose release runs or owns databases.
STATEFUL_CHARTS: dict[str, str] = {
    "cloudnative-pg": "the chart templates its CRDs: uninstalling it deletes every PostgreSQL Cluster",
    "mysql-operator": "the operator runs the MySQL clusters; without it they are unmanaged or removed with its CRDs",
    "psmdb-operator": "the operator runs the MongoDB clusters; without it they are unmanaged or removed with its CRDs",
    "k8ssandra-operator": "the operator runs the Cassandra clusters; without it they are unmanaged or removed with its CRDs",
    "qdrant": "the vector database keeps its collections on the release's volumes",
    "milvus": "the vector database keeps its collections on the release's volumes",
}

# Cloud type tokens (lower case) that name buckets, file systems, clusters and keys; each must
# end at a ``:`` or ``/`` (or the token's end) so ``s3/bucket`` doesn't match ``s3/bucketPolicy``.
STATEFUL_CLOUD_TOKENS: dict[str, str] = {
    "s3/bucket": "a bucket holds objects",
    "s3/bucketv2": "a bucket holds objects",
    "storage/bucket": "a bucket holds objects",
    "storage:storageaccount": "a storage account holds its containers' blobs",
    "storage:blobcontainer": "a blob container holds objects",
    "efs/filesystem": "a file system holds files (the model catalog)",
    "filestore": "a file system holds files (the model catalog)",
    "eks/cluster": "the cluster runs every workload and its volumes",
    "container/cluster": "the cluster runs every workload and its volumes",
    "containerservice:managedcluster": "the cluster runs every workload and its volumes",
    "kms/key": "data encrypted with a deleted key can't be read again",
    "kms/cryptokey": "data encrypted with a deleted key can't be read again",
}

# Fields the Kubernetes provider replaces the object on, by (API group, kind); metadata.name and
# metadata.namespace replace every object. PVC size is absent: volumes expand in place.
REPLACE_ON: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): ("spec.selector",),
    ("apps", "StatefulSet"): ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates",
                              "spec.podManagementPolicy"),
    ("core", "PersistentVolumeClaim"): ("spec.storageClassName", "spec.accessModes", "spec.volumeName",
                                        "spec.volumeMode", "spec.selector", "spec.dataSource"),
    ("core", "Service"): ("spec.clusterIP", "spec.type"),
    ("batch", "Job"): ("spec.selector", "spec.template"),  # a Job's template is immutable
    ("storage.k8s.io", "StorageClass"): ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"),
    ("rbac.authorization.k8s.io", "RoleBinding"): ("roleRef",),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ("roleRef",),
}
HELM_REPLACE_ON = ("name", "namespace")
# Storage settings of a stateful object that Kubernetes can't apply to existing volumes: a
# StatefulSet rejects the change, operators apply it to new volumes only.
STORAGE_FIELD = re.compile(r"storageclass|volumeclaimtemplates|accessmodes", re.IGNORECASE)
OPTION_PROTECT, OPTION_PROVIDER = "(protect)", "(provider)"


class PlanDirError(Exception):
    """A plan directory is missing or its resources.json can't be read."""


@dataclass(frozen=True)
class FieldChange:
    """One leaf that differs; ``old``/``new`` is ABSENT on the side where the leaf doesn't exist."""

    path: str
    old: Any = ABSENT
    new: Any = ABSENT


@dataclass(frozen=True)
class ResourceChange:
    """A resource in both plans whose inputs or options differ; ``replace_on`` lists the changes that replace it."""

    urn: str
    type: str
    name: str
    fields: tuple[FieldChange, ...]
    replace_on: tuple[str, ...]


@dataclass(frozen=True)
class Risk:
    """A protected or stateful resource the change would delete, move or (maybe) replace, and why it matters."""

    action: str  # "delete" | "move" | "replace" | "may replace"
    urn: str
    type: str
    name: str
    reasons: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class CostDelta:
    """(min, max) monthly USD of both plans."""

    base: tuple[float, float]
    head: tuple[float, float]


@dataclass(frozen=True)
class PlanDiff:
    """Everything the reviewer sees, in the order they see it."""

    base: str
    head: str
    risks: tuple[Risk, ...]
    added: tuple[dict, ...]
    removed: tuple[dict, ...]
    changed: tuple[ResourceChange, ...]
    outputs: tuple[FieldChange, ...]
    cost: Optional[CostDelta] = None


def load_plan(plan_dir: Path) -> dict:
    """The plan's resources.json; PlanDirError (a message naming the directory) when it can't be read."""
    path = Path(plan_dir) / "resources.json"
    if not Path(plan_dir).is_dir():
        raise PlanDirError(f"{plan_dir}: no such plan directory (make plan STACK=<stack> writes build/plan/<stack>)")
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise PlanDirError(f"{plan_dir}: no resources.json (is it a plan directory?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanDirError(f"{path}: can't be read: {exc}") from None
    resources = doc.get("resources") if isinstance(doc, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) and "urn" in r for r in resources):
        raise PlanDirError(f"{path}: not a plan (expected resources: a list of objects with an urn)")
    return doc


def load_cost(plan_dir: Path) -> Optional[tuple[float, float]]:
    """(min, max) monthly USD from cost.json; None when the plan has none or it has no such numbers."""
    try:
        usd = json.loads((Path(plan_dir) / "cost.json").read_text())["monthlyUsd"]
        return float(usd["min"]), float(usd["max"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _key(key: str) -> str:
    return f".{key}" if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f"[{json.dumps(key)}]"


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaves of ``value`` by dotted path (``a.b[0]["x.y"]``); empty dicts and lists are leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{path}{_key(str(k))}"))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{path}[{i}]"))
        return out
    return {path.lstrip("."): value}


def diff_values(old: Any, new: Any) -> tuple[FieldChange, ...]:
    """Changed leaves between two trees; ``"[secret]"`` is compared as an opaque string."""
    a, b = flatten(old), flatten(new)
    paths = list(a) + [p for p in b if p not in a]
    return tuple(FieldChange(p, a.get(p, ABSENT), b.get(p, ABSENT)) for p in paths
                 if p not in a or p not in b or a[p] != b[p])


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _group_kind(type_token: str) -> tuple[str, str]:
    _, module, kind = type_token.split(":", 2)
    return module.split("/", 1)[0], kind


def replace_fields(resource: dict) -> tuple[str, ...]:
    """Input paths a change to which makes the provider replace ``resource`` (Kubernetes and Helm)."""
    rtype = resource.get("type", "")
    if rtype == HELM_RELEASE:
        return HELM_REPLACE_ON
    if not rtype.startswith("kubernetes:") or rtype.count(":") < 2:
        return ()
    return ("metadata.name", "metadata.namespace") + REPLACE_ON.get(_group_kind(rtype), ())


def stateful_reason(resource: dict) -> Optional[str]:
    """Why ``resource`` holds (or owns) data, or None."""
    rtype = resource.get("type", "")
    if rtype in STATEFUL_TYPES:
        return STATEFUL_TYPES[rtype]
    if rtype == HELM_RELEASE:
        chart = str((resource.get("inputs") or {}).get("chart") or "").rstrip("/").rsplit("/", 1)[-1]
        return STATEFUL_CHARTS.get(chart)
    lowered = rtype.lower()
    for token, why in STATEFUL_CLOUD_TOKENS.items():
        if re.search(re.escape(token) + r"(?=[:/]|$)", lowered):
            return why
    return None


def _reasons(resource: dict) -> tuple[str, ...]:
    why = stateful_reason(resource)
    return (("protected",) if resource.get("protect") else ()) + ((f"stateful: {why}",) if why else ())


def _identity(resource: dict) -> tuple[Optional[str], Optional[str]]:
    """(namespace, name) of the object in the cluster, or (None, None) outside Kubernetes."""
    inputs = resource.get("inputs") or {}
    if resource.get("type") == HELM_RELEASE:
        return inputs.get("namespace"), inputs.get("name") or resource.get("name")
    meta = inputs.get("metadata") if resource.get("type", "").startswith("kubernetes:") else None
    return (meta.get("namespace"), meta.get("name")) if isinstance(meta, dict) else (None, None)


def pair_moves(removed: list[dict], added: list[dict]) -> list[tuple[dict, dict]]:
    """Removed/added pairs that are one resource under a new urn: same type and the same Pulumi
    name or the same in-cluster name. Pulumi deletes the old one and creates the new one."""
    pairs: list[tuple[dict, dict]] = []
    free = list(added)
    for old in removed:
        ident = _identity(old)
        for new in free:
            same_object = ident[1] is not None and _identity(new)[1] == ident[1]
            if new.get("type") == old.get("type") and (new.get("name") == old.get("name") or same_object):
                pairs.append((old, new))
                free.remove(new)
                break
    return pairs


def urn_key(urn: Optional[str]) -> Optional[str]:
    """``urn`` without its stack, so two stacks' plans compare resource by resource."""
    return re.sub(r"^urn:pulumi:[^:]*::", "urn:pulumi:", urn) if urn else urn


def _option_changes(old: dict, new: dict) -> tuple[FieldChange, ...]:
    changes = []
    if old.get("protect") != new.get("protect"):
        changes.append(FieldChange(OPTION_PROTECT, old.get("protect"), new.get("protect")))
    if urn_key(old.get("provider")) != urn_key(new.get("provider")):
        changes.append(FieldChange(OPTION_PROVIDER, old.get("provider"), new.get("provider")))
    return tuple(changes)


def change_of(old: dict, new: dict) -> Optional[ResourceChange]:
    """The field changes of one urn between the plans (inputs, protect, provider), or None."""
    fields = _option_changes(old, new) + diff_values(old.get("inputs") or {}, new.get("inputs") or {})
    if not fields:
        return None
    immutable = replace_fields(old)
    replace_on = tuple(f.path for f in fields
                       if any(_under(f.path, p) for p in immutable)
                       or (f.path == OPTION_PROVIDER and old.get("custom")))
    return ResourceChange(old["urn"], old.get("type", ""), old.get("name", ""), fields, replace_on)


def _paths(paths: list[str] | tuple[str, ...], shown: int = 5) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def _protected_note(resource: dict) -> str:
    return "; `pulumi up` refuses this while it is protected" if resource.get("protect") else ""


def _move_detail(old: dict, new: dict) -> str:
    (ons, oname), (nns, nname) = _identity(old), _identity(new)
    what = [f"{label} {a} -> {b}" for label, a, b in (("namespace", ons, nns), ("name", oname, nname)) if a != b]
    what = what or [f"urn {old['urn']} -> {new['urn']}"]
    return (", ".join(what) + ": Pulumi deletes the old object and creates a new one"
            " (an alias on the new resource keeps it)" + _protected_note(old))


def find_risks(removed: list[dict], moves: list[tuple[dict, dict]], changed: list[tuple[dict, ResourceChange]]
               ) -> tuple[Risk, ...]:
    """Deletions, moves and (possible) replacements of protected or stateful resources, worst first."""
    risks: list[Risk] = []
    for old in removed:
        if reasons := _reasons(old):
            risks.append(Risk("delete", old["urn"], old.get("type", ""), old.get("name", ""), reasons,
                              "removed from the program" + _protected_note(old)))
    for old, new in moves:
        if reasons := _reasons(old):
            risks.append(Risk("move", old["urn"], old.get("type", ""), old.get("name", ""), reasons,
                              _move_detail(old, new)))
    for old, ch in changed:
        reasons = _reasons(old)
        if not reasons:
            continue
        if ch.replace_on:
            risks.append(Risk("replace", ch.urn, ch.type, ch.name, reasons,
                              "changes " + _paths(ch.replace_on) + _protected_note(old)))
        elif ch.type.startswith("kubernetes:") and (paths := [f.path for f in ch.fields if STORAGE_FIELD.search(f.path)]):
            risks.append(Risk("may replace", ch.urn, ch.type, ch.name, reasons,
                              "changes storage settings " + _paths(paths) + ": existing volumes are not migrated "
                              "(a StatefulSet rejects the change; an operator applies it to new volumes only)"))
        elif not ch.type.startswith("kubernetes:") and old.get("custom") and (
                paths := [f.path for f in ch.fields if f.path != OPTION_PROTECT]):
            risks.append(Risk("may replace", ch.urn, ch.type, ch.name, reasons,
                              "changes " + _paths(paths) + " (the provider decides whether these replace it)"))
    order = {"delete": 0, "move": 1, "replace": 2, "may replace": 3}
    return tuple(sorted(risks, key=lambda r: (order[r.action], r.type, r.name)))


def _sort_key(resource: dict) -> tuple[str, str, str]:
    return resource.get("type", ""), resource.get("name", ""), resource["urn"]


def diff_plans(base: dict, head: dict, base_cost: Optional[tuple[float, float]] = None,
               head_cost: Optional[tuple[float, float]] = None) -> PlanDiff:
    """Compare two loaded resources.json documents (and their optional (min, max) monthly cost)."""
    old = {urn_key(r["urn"]): r for r in base.get("resources") or []}
    new = {urn_key(r["urn"]): r for r in head.get("resources") or []}
    removed = sorted((r for u, r in old.items() if u not in new), key=_sort_key)
    added = sorted((r for u, r in new.items() if u not in old), key=_sort_key)
    changed = [(old[u], ch) for u in old if u in new and (ch := change_of(old[u], new[u]))]
    changed.sort(key=lambda pair: _sort_key(pair[0]))
    moves = pair_moves(removed, added)
    moved = {id(o) for o, _ in moves}
    return PlanDiff(
        base=f"{base.get('project', '?')}/{base.get('stack', '?')}",
        head=f"{head.get('project', '?')}/{head.get('stack', '?')}",
        risks=find_risks([r for r in removed if id(r) not in moved], moves, changed),
        added=tuple(added), removed=tuple(removed), changed=tuple(ch for _, ch in changed),
        outputs=diff_values(base.get("outputs") or {}, head.get("outputs") or {}),
        cost=CostDelta(base_cost, head_cost) if base_cost and head_cost else None,
    )


def main(argv: Optional[list[str]] = None) -> int:
    """Print the diff of two plan directories; 2 when one can't be read, else 0 (the diff informs, never fails)."""
    parser = argparse.ArgumentParser(prog="python -m infra.plan.diff", description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the plan before the change (e.g. build/plan-base/<stack>)")
    parser.add_argument("head", type=Path, help="the plan after the change (e.g. build/plan/<stack>)")
    parser.add_argument("--json", action="store_true", help="print the diff as JSON instead of markdown")
    args = parser.parse_args(argv)
    try:
        base, head = load_plan(args.base), load_plan(args.head)
    except PlanDirError as exc:
        print(f"plan diff: {exc}", file=sys.stderr)
        return 2
    from infra.plan.diff_render import render_markdown, to_json  # the renderers import this module's types

    diff = diff_plans(base, head, load_cost(args.base), load_cost(args.head))
    try:
        print(json.dumps(to_json(diff), indent=2, sort_keys=True) if args.json else render_markdown(diff).rstrip("\n"))
        sys.stdout.flush()
    except BrokenPipeError:  # a pager or `head` closed the pipe: not an error of the diff
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
