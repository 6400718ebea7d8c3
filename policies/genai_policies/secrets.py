"""``no-secrets-in-plain-config``: credentials live in Secrets, never in ConfigMaps or env literals.

ConfigMaps and pod specs are readable by anyone who may read the namespace's config (and
end up in plan files, dashboards and ``kubectl describe``). Two checks, on every ConfigMap
data entry and every container ``env`` entry with a literal ``value``:

- by name: a variable (or key) named like a credential (PASSWORD, SECRET, TOKEN, API_KEY,
  ACCESS_KEY, PRIVATE_KEY) must come from a Secret (``valueFrom.secretKeyRef``), unless the
  name says it holds where the secret is rather than the secret (``HF_TOKEN_PATH``,
  ``API_KEY_SECRET_NAME``, ``..._FILE``, ``..._URL``) or the value is empty, a flag, a number
  or a reference expanded at run time (``$(VAR)``, ``${VAR}``, ``{{ ... }}``);
- by shape, whatever the name: AWS access key ids, PEM private keys, ``sk-``/``hf_``/``ghp_``
  API keys, JWTs, ``password=...`` assignments and URLs with a password in them.

The offline plan shows a Pulumi secret as ``[secret]``; one found in plain config is reported
too (the CLI hands the pack plaintext, which the shape checks judge).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .k8s import containers, is_kind, pod_spec
from .model import SECRET, UNKNOWN, PolicyContext, Record

SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY"})
SECRET_PAIRS = frozenset({("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("SECRET", "KEY")})
# A last word saying the value tells where a secret is, not what it is.
REFERENCE_WORDS = frozenset({"PATH", "FILE", "DIR", "NAME", "REF", "URL", "URI", "ENDPOINT", "HEADER", "ID"})

SHAPES: tuple[tuple[str, re.Pattern], ...] = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a PEM private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")),
    ("an API key (sk-...)", re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}")),
    ("a Hugging Face token (hf_...)", re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}")),
    ("a GitHub token", re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}")),
    ("a JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)
_URL_PASSWORD = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@")
_PASSWORD_ASSIGNMENT = re.compile(r"(?i)(?<![A-Za-z0-9_])(?:password|passwd|pwd)[\"']?[ \t]*[=:][ \t]*([^\s&;,]+)")
# Expanded at run time from somewhere else: ``$(VAR)``, ``${VAR}``, ``$1``, ``{{ .Values.x }}``, ``%(x)s``, ``<x>``.
_REFERENCE_START = ("$", "{{", "%(", "<")
_FLAG_OR_NUMBER = re.compile(r"^(true|false|yes|no|on|off|-?[0-9]+(\.[0-9]+)?)$", re.IGNORECASE)
_OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def words(name: str) -> list[str]:
    """``HF_TOKEN_PATH`` -> [HF, TOKEN, PATH]; ``apiKeySecretName`` -> [API, KEY, SECRET, NAME]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.upper() for w in re.split(r"[^A-Za-z0-9]+|\s+", spaced) if w]


def secret_named(name: str, value: str) -> bool:
    """Whether ``name`` says its literal ``value`` is a credential."""
    ws = words(name)
    if not ws or ws[-1] in REFERENCE_WORDS:
        return False
    # Ends-with catches run-together names (PGPASSWORD, HFTOKEN) but not MAX_TOKENS or TOKENIZER.
    named = (any(w.endswith(s) for w in ws for s in SECRET_WORDS)
             or any(pair in SECRET_PAIRS for pair in zip(ws, ws[1:], strict=False)))
    if not named:
        return False
    text = value.strip()
    if not text or _FLAG_OR_NUMBER.match(text) or _is_reference(text):
        return False
    # ``PASSWORD_SECRET: pg-credentials`` names the Secret that holds it.
    return not (ws[-1] == "SECRET" and len(ws) > 1 and "-" in text and _OBJECT_NAME.match(text))


def _is_reference(text: str) -> bool:
    return text.strip().strip("'\"").startswith(_REFERENCE_START)


def secret_shapes(value: str) -> list[str]:
    """The kinds of credential found inside ``value``."""
    found = [what for what, pattern in SHAPES if pattern.search(value)]
    if any(not _is_reference(m.group(1)) for m in _URL_PASSWORD.finditer(value)):
        found.append("a URL with a password")
    if any(m.group(1).strip("'\"") and not _is_reference(m.group(1)) for m in _PASSWORD_ASSIGNMENT.finditer(value)):
        found.append("a password assignment")
    return found


def value_problems(name: str, value: object) -> list[str]:
    if not isinstance(value, str) or value == UNKNOWN:
        return []
    if value == SECRET:
        return ["holds a Pulumi secret in plain text"]
    out = [f"contains {what}" for what in secret_shapes(value)]
    if not out and secret_named(name, value):
        out.append("is named like a credential and set literally")
    return out


def no_secrets_in_plain_config(record: Record, ctx: PolicyContext) -> list[str]:
    if is_kind(record, "ConfigMap"):
        data = record.props.get("data")
        if not isinstance(data, Mapping):
            return []
        return [f"data {key!r} {problem}: move it to a Secret and mount it or use secretKeyRef"
                for key, value in data.items() for problem in value_problems(str(key), value)]
    spec = pod_spec(record)
    if spec is None:
        return []
    out = []
    for label, c in containers(spec, ephemeral=True):
        env = c.get("env")
        if not isinstance(env, Sequence) or isinstance(env, str):
            continue
        for e in env:
            if not isinstance(e, Mapping) or "value" not in e:
                continue
            for problem in value_problems(str(e.get("name") or ""), e["value"]):
                out.append(f"{label}: env {e.get('name')} {problem}: put it in a Secret and use "
                           "valueFrom.secretKeyRef")
    return out
