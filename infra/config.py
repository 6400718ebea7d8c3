"""Reads the stack configuration once and turns it into a validated ``PlatformConfig``.

The only module that reads ``pulumi.Config``. Every problem is collected (unknown keys with a
"did you mean" hint, type and range errors, cross-field rules) and raised as one
``pulumi.RunError`` naming each key path, before any resource is registered.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
from pydantic import BaseModel, ValidationError

from infra.checks import check, check_sections, suggest
from infra.schema import PlatformConfig

PROJECT = "genai-platform"
SECRET_KEYS = ("kubeconfig", "huggingFaceToken", "objectStoreAccessKeyId", "objectStoreSecretAccessKey",
               "acmeDnsApiToken", "alertmanagerReceivers")
# Namespaces of the engine and of the providers this program uses; any other namespace in a
# stack file is most likely a misspelling of ours and would otherwise be ignored silently.
KNOWN_NAMESPACES = ("pulumi", "kubernetes", "aws", "gcp", "azure-native", "random", PROJECT)


@dataclass(frozen=True)
class LoadedConfig:
    platform: PlatformConfig
    kubeconfig: Optional[pulumi.Output[str]]
    hf_token: Optional[pulumi.Output[str]] = None
    object_store_access_key_id: Optional[pulumi.Output[str]] = None
    object_store_secret_access_key: Optional[pulumi.Output[str]] = None
    # Cloudflare API token for ACME DNS-01 (gateway.tls.acme.solver dns01).
    acme_dns_api_token: Optional[pulumi.Output[str]] = None
    # Alertmanager's receivers and route (YAML), with the observability section.
    alertmanager_receivers: Optional[pulumi.Output[str]] = None


def _top_level_keys() -> dict[str, str]:
    """Top-level keys of the stack config in our namespace, with their field name."""
    return {field.alias or name: name for name, field in PlatformConfig.model_fields.items()}


def _config_keys() -> list[str]:
    """Every full config key of the stack (``namespace:key``), whichever way it was set."""
    from pulumi.runtime import config as runtime_config

    return sorted(set(runtime_config.CONFIG.get()) | set(pulumi.runtime.get_config_env()))


def _project_keys() -> list[str]:
    return [k.split(":", 1)[1] for k in _config_keys() if k.startswith(PROJECT + ":")]


def _foreign_namespace_problems() -> list[str]:
    out = []
    for key in _config_keys():
        namespace = key.split(":", 1)[0]
        if ":" in key and namespace not in KNOWN_NAMESPACES:
            out.append(f"{key}: unknown namespace {namespace!r}{suggest(namespace, KNOWN_NAMESPACES)}")
    return out


def _model_at(loc: tuple) -> Optional[type[BaseModel]]:
    """The config section class found by following ``loc`` from the root (for suggestions)."""
    cls: Any = PlatformConfig
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {f.alias or n: f for n, f in cls.model_fields.items()}
        if part not in fields:
            return cls
        ann = fields[part].annotation
        for arg in (ann, *typing.get_args(ann), *[a for t in typing.get_args(ann) for a in typing.get_args(t)]):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                cls = arg
                break
        else:
            return None
    return cls


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: dict) -> str:
    kind, ctx, given = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "extra_forbidden":
        cls = _model_at(err["loc"][:-1])
        known = [f.alias or n for n, f in cls.model_fields.items()] if cls else []
        hint = suggest(str(err["loc"][-1]), known) or (f" (known keys: {', '.join(known)})" if known else "")
        return f"unknown key{hint}"
    if kind == "missing":
        return "required"
    if kind == "greater_than":
        return f"must be > {ctx['gt']}"
    if kind == "less_than_equal":
        return f"must be <= {ctx['le']}"
    if kind == "greater_than_equal":
        return f"must be >= {ctx['ge']}"
    if kind == "less_than":
        return f"must be < {ctx['lt']}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}; got {given!r}"
    if kind == "string_type":
        return f"must be a string (quote it in YAML); got {given!r}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number; got {given!r}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false; got {given!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of keys; got {given!r}"
    if kind == "list_type":
        return f"must be a list; got {given!r}"
    return err["msg"].removeprefix("Value error, ")


def _read_raw() -> tuple[dict[str, Any], list[str]]:
    """The stack's values for each known top-level key, plus problems reading them."""
    cfg = pulumi.Config(PROJECT)
    known = _top_level_keys()
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for key in _project_keys():
        if key in SECRET_KEYS:
            continue
        if key not in known:
            problems.append(f"{PROJECT}:{key}: unknown key{suggest(key, [*known, *SECRET_KEYS])}")
            continue
        text = cfg.get(key)
        try:
            raw[key] = json.loads(text)
        except (TypeError, ValueError):
            raw[key] = text
    return raw, problems


def _receivers_problems(platform: Optional[PlatformConfig]) -> list[str]:
    """The ``alertmanagerReceivers`` secret: only with observability, and a valid receivers document."""
    from components.ops.alertmanager_config import receivers_problems

    key = f"{PROJECT}:alertmanagerReceivers"
    text = pulumi.runtime.get_config(key)
    if text is None or platform is None:
        return []
    if platform.observability is None:
        return [f"{key}: only applies with the observability section"]
    return [f"{key}: {msg}" for msg in receivers_problems(text)]


def load() -> LoadedConfig:
    """Validate the whole stack configuration or raise ``pulumi.RunError`` listing every problem."""
    raw, problems = _read_raw()
    problems += _foreign_namespace_problems()
    platform: Optional[PlatformConfig] = None
    try:
        platform = PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        problems += [f"{PROJECT}:{_path(e['loc'])}: {_message(e)}" for e in exc.errors()]
    cross = check(platform) if platform is not None else check_sections(raw)
    problems += [f"{PROJECT}:{path}: {msg}" for path, msg in cross]
    for key in SECRET_KEYS:
        full = f"{PROJECT}:{key}"
        if pulumi.runtime.get_config(full) is not None and not pulumi.runtime.is_config_secret(full):
            problems.append(f"{full}: must be stored as a secret: pulumi config set --secret {key} < file")
    has_kubeconfig = pulumi.runtime.get_config(f"{PROJECT}:kubeconfig") is not None
    if has_kubeconfig and platform is not None and platform.cluster.target != "existing":
        problems.append(f"{PROJECT}:kubeconfig: only applies when cluster.target is 'existing'; the "
                        f"{platform.cluster.target} target builds its own kubeconfig")
    if has_kubeconfig and platform is not None and platform.cluster.existing.kubeconfig_path:
        problems.append(f"{PROJECT}:cluster.existing.kubeconfigPath: set either this path or the secret "
                        f"{PROJECT}:kubeconfig, not both")
    for key in ("objectStoreAccessKeyId", "objectStoreSecretAccessKey"):
        given = pulumi.runtime.get_config(f"{PROJECT}:{key}") is not None
        if platform is not None and platform.object_store is not None and not given:
            problems.append(f"{PROJECT}:{key}: required with objectStore (the store's access keys): "
                            f"pulumi config set --secret {key} <value>")
        if platform is not None and platform.object_store is None and given:
            problems.append(f"{PROJECT}:{key}: only applies with an objectStore section")
    dns01 = (platform is not None and platform.gateway is not None and platform.gateway.tls.issuer == "acme"
             and platform.gateway.tls.acme is not None and platform.gateway.tls.acme.solver == "dns01")
    token_given = pulumi.runtime.get_config(f"{PROJECT}:acmeDnsApiToken") is not None
    if dns01 and not token_given:
        problems.append(f"{PROJECT}:acmeDnsApiToken: required with gateway.tls.acme.solver dns01 (a Cloudflare "
                        "API token with Zone:DNS:Edit): pulumi config set --secret acmeDnsApiToken <token>")
    if platform is not None and token_given and not dns01:
        problems.append(f"{PROJECT}:acmeDnsApiToken: only applies with gateway.tls.acme.solver dns01")
    problems += _receivers_problems(platform)
    if problems:
        raise pulumi.RunError(
            f"invalid stack configuration ({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n  "
            + "\n  ".join(problems)
        )
    assert platform is not None
    cfg = pulumi.Config(PROJECT)
    return LoadedConfig(platform=platform, kubeconfig=cfg.get_secret("kubeconfig"),
                        hf_token=cfg.get_secret("huggingFaceToken"),
                        object_store_access_key_id=cfg.get_secret("objectStoreAccessKeyId"),
                        object_store_secret_access_key=cfg.get_secret("objectStoreSecretAccessKey"),
                        acme_dns_api_token=cfg.get_secret("acmeDnsApiToken"),
                        alertmanager_receivers=cfg.get_secret("alertmanagerReceivers"))
