"""Offline validation of what the program renders, against pinned upstream schemas.

Two checks, both returning every problem found as a short string rather than raising:

- ``validate_manifest`` checks one rendered Kubernetes object. Built-in kinds are checked
  against the strict OpenAPI-derived JSON schemas bundled with ``kubernetes-validate``
  for the target Kubernetes version; custom resources against the CRD schemas in
  ``REFERENCE_DIR/crd-schemas``. Unknown or misspelled fields, wrong types and missing
  required fields are errors, and so is a kind with no schema at all unless it is listed
  in ``SCHEMALESS_ALLOWLIST``.
- ``validate_helm_values`` checks the values passed to a Helm release: every key must
  exist in the chart's default ``values.yaml`` (Helm ignores unknown keys silently), and
  the merged values must satisfy the chart's ``values.schema.json`` when it ships one.

``REFERENCE_DIR/README.md`` describes the reference data and the rules followed here.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from referencing import Registry, Resource

REFERENCE_DIR: Path = Path(
    os.environ.get("GENAI_REFERENCE_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "reference"
)

# (apiVersion, kind) -> reason. Every entry must say why the kind cannot be validated
# (e.g. no published schema) so that a missing schema is never waved through silently.
SCHEMALESS_ALLOWLIST: dict[tuple[str, str], str] = {
    ("gateway.envoyproxy.io/v1alpha1", "Backend"): (
        "Envoy Gateway v1.9.0 CRD; the reference data has no Backend schema. Its spec is checked against "
        "api/v1alpha1/backend_types.go in tests/components/test_edge_routes.py"),
    ("medusa.k8ssandra.io/v1alpha1", "MedusaBackupSchedule"): (
        "CRD shipped by k8ssandra-operator 1.32.5; the reference data has no medusa.k8ssandra.io schemas. "
        "Its spec is checked against the operator's Go types in tests/components/test_data_cassandra.py"),
}

# Maps whose keys are chosen by the user, not by the chart (README's FREE set).
FREE_FORM_KEYS = frozenset({
    "nodeSelector", "tolerations", "affinity", "annotations", "labels", "podAnnotations",
    "podLabels", "env", "extraEnv", "extraArgs", "args", "resources", "securityContext",
    "podSecurityContext", "matchLabels", "containerSecurityContext",
})

# Per chart: (dotted key, why) for keys a chart's templates read that its values.yaml only
# mentions in a comment, and maps the chart passes through as the application's own config.
CHART_KEY_ALLOWANCES: dict[str, dict[str, str]] = {
    "qdrant": {
        "persistence.storageClassName": "read by the StatefulSet template; values.yaml has it commented out",
        "config": "rendered as Qdrant's own production.yaml: Qdrant's settings, not the chart's",
    },
    "inferencepool": {
        "inferencePool.modelServers": "read by the InferencePool template; values.yaml marks it REQUIRED in a comment",
    },
    "gateway-helm": {
        "config.envoyGateway": "Envoy Gateway's own EnvoyGateway configuration (api/v1alpha1), merged by the "
                               "chart into its ConfigMap: the controller's settings, not the chart's",
    },
    "kube-prometheus-stack": {
        "alertmanager.alertmanagerSpec.configSecret": "read by the Alertmanager template into spec.configSecret; "
                                                      "values.yaml has it commented out",
    },
    "loki": {
        "loki.limits_config": "Loki's own limits_config block, rendered verbatim into its config file; "
                              "values.yaml lists only some of its keys",
    },
}

_K8S_SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
_MAX_MESSAGE = 300


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _short(message: str) -> str:
    # oneOf/anyOf messages embed the whole offending instance, which can be huge.
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _dotted(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "<root>"


def _schema_errors(validator: Any, instance: Any) -> list[tuple[str, str]]:
    """(dotted path, message) for every error; one entry per unknown field.

    jsonschema reports all unexpected keys of an object in one error located at the
    parent; splitting them gives each misspelling its own full path, like kubectl does.
    """
    out = []
    for error in validator.iter_errors(instance):
        path = list(error.absolute_path)
        if (
            error.validator == "additionalProperties"
            and error.validator_value is False
            and isinstance(error.instance, dict)
        ):
            declared = error.schema.get("properties", {})
            patterns = list(error.schema.get("patternProperties", {}))
            extras = [
                k for k in error.instance
                if k not in declared and not any(re.search(p, k) for p in patterns)
            ]
            if extras:
                out += [(_dotted([*path, k]), "unknown field") for k in extras]
                continue
        out.append((_dotted(path), _short(error.message)))
    return out


def _version_tuple(text: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2])) if match else None


@functools.cache
def _bundled_versions() -> list[tuple[tuple[int, int], Path]]:
    found = []
    for entry in _K8S_SCHEMAS.iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", entry.name)
        if match and entry.is_dir():
            found.append(((int(match[1]), int(match[2])), entry))
    return sorted(found)


def _k8s_schema_dir(kubernetes_version: str) -> Path | str:
    """Newest bundled schema dir not newer than the requested version, or an error.

    kubernetes-validate compares "1.9" and "1.33" as strings; compare numerically.
    """
    wanted, bundled = _version_tuple(kubernetes_version), _bundled_versions()
    if wanted is None:
        return f"cannot parse Kubernetes version {kubernetes_version!r}"
    if wanted > bundled[-1][0]:
        newest = ".".join(map(str, bundled[-1][0]))
        return (f"Kubernetes {kubernetes_version} is newer than the newest schemas bundled "
                f"with kubernetes-validate ({newest}); upgrade kubernetes-validate")
    older = [d for v, d in bundled if v <= wanted]
    if not older:
        return f"kubernetes-validate bundles no schemas for Kubernetes {kubernetes_version}"
    return older[-1]


@functools.cache
def _k8s_definitions(schema_dir: Path) -> Resource:
    # Shared by every kind of one version: the file is ~1.5 MB, so read it once.
    return Resource.from_contents(json.loads((schema_dir / "_definitions.json").read_text()))


@functools.cache
def _k8s_validator(schema_file: Path) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_file.read_text())
    definitions = _k8s_definitions(schema_file.parent)
    registry = Registry().with_resources([
        (schema["$id"], Resource.from_contents(schema)),
        (definitions.id(), definitions),
    ])
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _k8s_schema_file(schema_dir: Path, api_version: str, kind: str) -> Path | None:
    # Same naming as kubernetes-validate: rbac.authorization.k8s.io/v1 -> rbac-v1.
    suffix = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = schema_dir / f"{kind.lower()}-{suffix}.json"
    if not path.is_file():
        return None
    # The file name drops the group's domain, so e.g. apps.example.com/v1 would map to
    # the apps/v1 schema; only accept a file declaring exactly this group/version/kind.
    group, _, version = api_version.rpartition("/")
    gvks = _k8s_validator(path).schema.get("x-kubernetes-group-version-kind", [])
    wanted = {"group": group, "version": version, "kind": kind}
    return path if wanted in gvks else None


@functools.cache
def _crd_validator(schema_file: Path) -> jsonschema.Draft7Validator:
    schema = json.loads(schema_file.read_text())
    props = schema.setdefault("properties", {})
    # Some converted CRDs (InnoDBCluster) omit the type fields and close ``metadata``; the API
    # server accepts both and checks ObjectMeta itself (a CRD may only constrain name/generateName).
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    if isinstance(props.get("metadata"), dict):
        props["metadata"] = {**props["metadata"], "additionalProperties": True}
    return jsonschema.Draft7Validator(schema)


def validate_manifest(obj: dict, kubernetes_version: str) -> list[str]:
    """Every schema error of one rendered Kubernetes object (empty when it is valid)."""
    # The API server drops nulls of non-nullable fields before validating, and renderers
    # emit None for unset optional fields.
    obj = _drop_none(obj)
    kind = obj.get("kind") or "<no kind>"
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    namespace = metadata.get("namespace") or "_cluster"
    prefix = f"{kind} {namespace}/{metadata.get('name') or '<no name>'}"
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str) or not isinstance(obj.get("kind"), str):
        return [f"{prefix}: <root>: apiVersion and kind must be strings"]

    group, _, version = api_version.rpartition("/")
    crd_dir = REFERENCE_DIR / "crd-schemas" / group if group else None
    allowed = (api_version, kind) in SCHEMALESS_ALLOWLIST
    if crd_dir is not None and crd_dir.is_dir():
        schema_file = crd_dir / f"{kind.lower()}_{version}.json"
        if not schema_file.is_file():
            if allowed:
                return []
            return [(f"{prefix}: <root>: no CRD schema for kind {kind} version {version} in "
                     f"{crd_dir} (wrong kind/version, or add it to the reference data)")]
        validator = _crd_validator(schema_file)
    else:
        schema_dir = _k8s_schema_dir(kubernetes_version)
        if isinstance(schema_dir, str):
            return [f"{prefix}: <root>: {schema_dir}"]
        schema_file = _k8s_schema_file(schema_dir, api_version, kind)
        if schema_file is None:
            if allowed:
                return []
            return [(f"{prefix}: <root>: no schema for {api_version} {kind} (not a built-in "
                     f"kind of Kubernetes {kubernetes_version} and no CRD schema under "
                     f"{REFERENCE_DIR / 'crd-schemas'}); add it to SCHEMALESS_ALLOWLIST "
                     "with a reason if it cannot be validated")]
        validator = _k8s_validator(schema_file)
    return [f"{prefix}: {path}: {message}" for path, message in _schema_errors(validator, obj)]


def _chart_dir(chart: str) -> Path:
    return REFERENCE_DIR / "chart-values" / chart


def has_chart_reference(chart: str) -> bool:
    """Whether the reference data holds the default values of ``chart``."""
    return (_chart_dir(chart) / "values.yaml").is_file()


def _merge(base: Any, override: Any) -> Any:
    """Helm's coalescing: maps merge, anything else replaces, null deletes a default."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(base.get(key), value)
    return merged


@functools.cache
def _open_dependency_keys(chart_dir: Path) -> frozenset[str]:
    """Values keys of remote dependencies whose values the reference data lacks.

    The README says to treat those branches as open. Local dependencies (e.g. a
    ``crds`` subchart) read the parent's defaults, which are present, so stay checked.
    """
    try:
        index = json.loads((chart_dir.parents[1] / "index.json").read_text())
    except (OSError, ValueError):
        return frozenset()
    keys = set()
    for entry in index.get("files", []):
        if entry.get("path") != f"chart-values/{chart_dir.name}/values.yaml":
            continue
        for dep in entry.get("dependencies") or []:
            key = dep.get("alias") or dep.get("name")
            remote = not str(dep.get("repository") or "file://").startswith("file://")
            if remote and not (chart_dir / "subcharts" / key).is_dir():
                keys.add(key)
    return frozenset(keys)


@functools.cache
def _chart_defaults(chart_dir: Path) -> dict:
    # Helm coalesces a subchart's own defaults under its values key before the parent's
    # overrides, so fold them in: both the key walk and the schema then see what Helm sees.
    defaults = yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}
    subcharts = chart_dir / "subcharts"
    for sub in sorted(subcharts.iterdir()) if subcharts.is_dir() else []:
        sub_defaults = yaml.safe_load((sub / "values.yaml").read_text()) or {}
        defaults = {**defaults, sub.name: _merge(sub_defaults, defaults.get(sub.name) or {})}
    return defaults


def _unknown_keys(values: dict, defaults: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in defaults:
            out.append(path)
            continue
        default = defaults[key]
        # An empty default map, or one of FREE_FORM_KEYS, takes arbitrary keys; lists
        # and scalars are not walked.
        if isinstance(value, dict) and isinstance(default, dict) and default \
                and key not in FREE_FORM_KEYS:
            out += _unknown_keys(value, default, path)
    return out


@functools.cache
def _values_validator(schema_file: Path) -> Any:
    schema = json.loads(schema_file.read_text())
    # loki names draft-07 by an https URL that jsonschema does not recognise (it would
    # fall back to the newest draft with a warning); retry with the canonical http URL.
    cls = jsonschema.validators.validator_for(schema, default=None)
    if cls is None and isinstance(schema.get("$schema"), str):
        canonical = schema["$schema"].replace("https://", "http://").rstrip("#") + "#"
        cls = jsonschema.validators.validator_for({"$schema": canonical}, default=None)
    return (cls or jsonschema.Draft202012Validator)(schema)


def validate_helm_values(chart: str, values: dict) -> list[str]:
    """Every unknown key and schema error of the values given to a release of ``chart``.

    Returns [] when the reference data has no defaults for the chart.
    """
    if not has_chart_reference(chart):
        return []
    defaults = _chart_defaults(_chart_dir(chart))
    open_keys = _open_dependency_keys(_chart_dir(chart))
    allowed = CHART_KEY_ALLOWANCES.get(chart, {})
    unknown = [key for key in _unknown_keys({k: v for k, v in (values or {}).items() if k not in open_keys}, defaults)
               if not any(key == a or key.startswith(a + ".") for a in allowed)]
    errors = [f"helm {chart}: {key}: not a value of the chart (check spelling or the chart "
              f"version)" for key in unknown]

    schema_file = _chart_dir(chart) / "values.schema.json"
    if schema_file.is_file():
        merged = _merge(defaults, values or {})
        for path, message in _schema_errors(_values_validator(schema_file), merged):
            if path not in unknown:  # already reported above, in a clearer form
                errors.append(f"helm {chart}: {path}: {message}")
    return errors
