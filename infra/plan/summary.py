"""The human-readable ``summary.md`` of a plan: what would be created, and whether it is valid."""

from __future__ import annotations

from collections import Counter, defaultdict

from infra.plan.cost import cost_section, estimate
from infra.plan.graph import dependency_section
from infra.plan.render import Plan


def _owner_component(plan: Plan) -> dict[str, str]:
    """Each resource's top-level component (the child of the stack it was created under)."""
    by_urn = {r.urn: r for r in plan.registrations}
    owner: dict[str, str] = {}
    for r in plan.registrations:
        node = r
        while node.parent in by_urn:
            node = by_urn[node.parent]
        owner[r.urn] = f"{node.type} `{node.name}`"
    return owner


def _layer(type_token: str) -> str:
    parts = type_token.split(":")
    return parts[1] if parts[0] == "genai" and len(parts) == 3 else "other"


def _models(models: list[dict]) -> list[str]:
    out = ["", "## Model placements", ""]
    if not models:
        return out + ["No models in this stack.", ""]
    out += ["| model | task | engine | pool | GPU | TP | GPUs/replica | replicas | max len | GiB needed / allocated |",
            "| --- | --- | --- | --- | --- | ---: | ---: | --- | ---: | --- |"]
    for m in models:
        replicas = f"{m['replicas']['min']}..{m['replicas']['max']}"
        out.append(f"| {m['name']} | {m['task']} | {m['engine']} | {m['pool']} | {m['gpuModel'] or '-'} | "
                   f"{m['tensorParallel']} | {m['gpusPerReplica']} | {replicas} | {m['maxModelLen']} | "
                   f"{m['neededGiB']} / {m['allocatedGiB']} |")
    out += ["", "## Endpoints", "", "| model | in-cluster URL | API |", "| --- | --- | --- |"]
    for m in models:
        ep = m.get("endpoint") or {}
        out.append(f"| {m['name']} | `{ep.get('url')}` | {ep.get('api')} |")
    return out + [""]


def _databases(databases: dict) -> list[str]:
    out = ["", "## Databases", ""]
    if not databases:
        return out + ["No databases in this stack.", ""]
    out += ["| name | engine | in-cluster host | port | database | credentials Secret |",
            "| --- | --- | --- | ---: | --- | --- |"]
    for name, ep in databases.items():
        out.append(f"| {name} | {ep['engine']} | `{ep['host']}` | {ep['port']} | {ep.get('database') or '-'} | "
                   f"`{ep['secretNamespace']}/{ep['secretName']}` |")
    return out + [""]


def _gateway(gateway: dict, tenants: dict) -> list[str]:
    out = ["", "## Gateway", ""]
    if not gateway:
        return out + ["No gateway in this stack.", ""]
    out += [f"- OpenAI-compatible API: `{gateway['url']}` (in the cluster: `{gateway['internalUrl']}`)",
            f"- routes: {', '.join(f'`{r}`' for r in gateway.get('routes', [])) or 'none'}", "",
            "| model | engine | task | path | endpoint picker | canary |", "| --- | --- | --- | --- | --- | --- |"]
    for name, m in (gateway.get("models") or {}).items():
        canary = m.get("canary")
        split = f"{canary['weight']}% to `{canary['service']}`" if canary else "-"
        picker = "yes" if m["endpointPicker"] else "no"
        out.append(f"| {name} | {m['engine']} | {m['task']} | `{m['path']}` | {picker} | {split} |")
    out += ["", "## Tenants", ""]
    if not tenants:
        return out + ["No tenants in this stack.", ""]
    out += ["| tenant | namespace | app |", "| --- | --- | --- |"]
    for name, t in tenants.items():
        out.append(f"| {name} | `{t['namespace']}` | {t['url']} |")
    return out + [""]


def _policies(plan: Plan) -> list[str]:
    out = ["## Policies", "",
           "The policy pack (`policies/`, also run by `pulumi preview --policy-pack policies`) over this plan; "
           "violations are listed under Validation.", "",
           "| policy | checked | passed | failed |", "| --- | ---: | ---: | ---: |"]
    for r in plan.policy_results:
        out.append(f"| {r.policy} | {r.checked} | {r.passed} | {r.failed} |")
    return out + [""]


def render_summary(plan: Plan) -> str:
    out = [f"# Plan: {plan.stack.project} / {plan.stack.stack}", ""]
    status = "PASS" if not plan.errors else f"FAIL ({len(plan.errors)} error{'s' if len(plan.errors) != 1 else ''})"
    out += [f"**Validation: {status}**", ""]
    if plan.run.error:
        out += ["```", plan.run.error, "```"]
        return "\n".join(out) + "\n"
    regs = plan.registrations
    owner = _owner_component(plan)
    layers: dict[str, Counter] = defaultdict(Counter)
    for r in regs:
        if r.custom:
            top = owner[r.urn].split(" ", 1)[0]
            layers[_layer(top)][owner[r.urn]] += 1
    out += ["## Resources per layer and component", "",
            f"{sum(1 for r in regs if r.custom)} resources in {sum(1 for r in regs if not r.custom)} components.", "",
            "| layer | component | resources |", "| --- | --- | ---: |"]
    for layer in sorted(layers):
        for comp, n in sorted(layers[layer].items()):
            out.append(f"| {layer} | {comp} | {n} |")
    out += dependency_section(plan)
    outputs = plan.run.monitor.stack_outputs
    cluster = outputs.get("cluster", {})
    out += ["", "## Cluster", "",
            f"- target: {cluster.get('kind')}, Kubernetes {cluster.get('kubernetesVersion')}"
            f"{', CPU-only' if cluster.get('cpuOnly') else ''}"]
    if cluster.get("zones"):
        out.append(f"- zones: {', '.join(cluster['zones'])}; GPU platform: {cluster.get('gpuPlatform')}")
    if outputs.get("registry"):
        out.append(f"- image registry: `{outputs['registry']}`")
    store = outputs.get("objectStore")
    if store:
        out.append(f"- object store: {store['kind']} `{store['bucket']}` ({store['region']})")
    for name, ident in (outputs.get("workloadIdentities") or {}).items():
        out.append(f"- workload identity `{name}`: `{ident['namespace']}/{ident['serviceAccount']}` -> `{ident['principal']}`")
    classes = outputs.get("storageClasses", {})
    out.append(f"- storage classes: RWO `{classes.get('rwo')}`, RWX `{classes.get('rwx') or 'none'}`")
    for key, ns in (outputs.get("namespaces") or {}).items():
        out.append(f"- namespace ({key}): `{ns}`")
    pools = outputs.get("gpuPools") or []
    out += ["", "## GPU pools", ""]
    if not pools:
        out.append("None: CPU-only stack, no GPU Operator.")
    else:
        out += ["| pool | GPU | GiB | GPUs/node | sharing | node selector | labels the nodes need | instance | nodes |",
                "| --- | --- | ---: | ---: | --- | --- | --- | --- | --- |"]
        for p in pools:
            sel = ", ".join(f"`{k}={v}`" for k, v in p["nodeSelector"].items())
            need = ", ".join(f"`{k}={v}`" for k, v in p["nodeLabels"].items()) or "-"
            instance = f"{p['instanceType']}{' (spot)' if p.get('spot') else ''}" if p.get("instanceType") else "-"
            nodes = f"{p['minSize']}..{p['maxSize']}" if p.get("instanceType") else "-"
            out.append(f"| {p['name']} | {p['gpuModel']} | {p['gpuMemoryGiB']} | {p['gpusPerNode']} | "
                       f"{p['sharing']} | {sel} | {need} | {instance} | {nodes} |")
    out += ["", "## Helm releases", "", "| release | chart | version | namespace | repository |",
            "| --- | --- | --- | --- | --- |"]
    for rel in plan.releases:
        out.append(f"| {rel['release']} | {rel['chart']} | {rel['version']} | {rel['namespace']} | {rel['repository']} |")
    out += _models(outputs.get("models") or [])
    out += _databases(outputs.get("databases") or {})
    out += _gateway(outputs.get("gateway") or {}, outputs.get("tenants") or {})
    out += cost_section(estimate(plan))
    out += _policies(plan)
    out += ["## Validation", "",
            f"- {len(plan.manifests)} Kubernetes objects validated against their schemas",
            f"- {len(plan.releases)} Helm releases' values checked against the charts' defaults",
            f"- {len(plan.errors)} errors"]
    out += [f"  - {e}" for e in plan.errors]
    out += [f"- note: {n}" for n in plan.notes]
    out += [f"- log: {line}" for line in plan.run.log]
    return "\n".join(out) + "\n"
