"""no-secrets-in-plain-config."""

from __future__ import annotations

import pytest

from policies.genai_policies import SECRET, PolicyContext
from policies.genai_policies.secrets import secret_named, secret_shapes, words

CTX = PolicyContext()
# Assembled so no credential-shaped literal sits in the source.
AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"
OPENAI_KEY = "sk-" + "proj" + "x" * 24
HF_TOKEN = "hf_" + "a1B2c3D4e5" * 4
JWT = "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTYifQ" + "." + "c2lnbmF0dXJlLXZhbHVl"
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----"


def _configmap(data: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "apps"}, "data": data}


def _env(make, *env: dict) -> dict:
    return make.deployment(containers=[make.container(env=list(env))])


def test_words():
    assert words("HF_TOKEN_PATH") == ["HF", "TOKEN", "PATH"]
    assert words("apiKeySecretName") == ["API", "KEY", "SECRET", "NAME"]


@pytest.mark.parametrize("name,value,flagged", [
    ("DB_PASSWORD", "hunter2", True),
    ("PGPASSWORD", "hunter2", True),
    ("HF_TOKEN", "abc", True),
    ("OPENAI_API_KEY", "abc", True),
    ("AWS_SECRET_ACCESS_KEY", "abc", True),
    ("WEBUI_SECRET_KEY", "abc", True),
    ("apiKey", "abc", True),
    ("HF_TOKEN_PATH", "/var/run/secrets/hf/token", False),   # where the token is, not the token
    ("API_KEY_SECRET_NAME", "tenant-a-api-key", False),
    ("PASSWORD_SECRET", "pg-credentials", False),              # names the Secret holding it
    ("DB_PASSWORD", "", False),
    ("DB_PASSWORD", "$(PGPASSWORD)", False),
    ("TOKEN_AUTH", "true", False),
    ("MAX_TOTAL_TOKENS", "4096", False),
    ("TOKENIZERS_PARALLELISM", "false", False),
    ("TOKENIZER", "meta-llama/Llama-3.1-8B-Instruct", False),
    ("MAX_INPUT_TOKENS", "8k", False),
    ("KEY", "061e4bf2c84514c8", False),                        # a cache key, not a credential
])
def test_secret_named(name, value, flagged):
    assert secret_named(name, value) is flagged


@pytest.mark.parametrize("value,what", [
    (AWS_KEY, "an AWS access key id"),
    (PEM, "a PEM private key"),
    (OPENAI_KEY, "an API key (sk-...)"),
    (HF_TOKEN, "a Hugging Face token (hf_...)"),
    (JWT, "a JWT"),
    ("postgresql://app:s3cret@postgres-rw:5432/app", "a URL with a password"),
    ("host=db user=app password=s3cret", "a password assignment"),
])
def test_secret_shapes(value, what):
    assert secret_shapes(value) == [what]


@pytest.mark.parametrize("value", [
    "postgresql://app:$(PGPASSWORD)@postgres-rw:5432/app",
    "https://api.genai.example.com/v1",
    "password: ${PG_PASSWORD}\nuser: app",
    "password:\n  secretKeyRef: pg",
    "task-runner-0123456789abcdefghijk",
    "s3://genai-prod-documents/search",
])
def test_legitimate_values_have_no_secret_shape(value):
    assert secret_shapes(value) == []


def test_configmap_pass(check, make):
    obj = _configmap({"PGHOST": "postgres-rw.genai-data.svc.cluster.local", "OPENAI_BASE_URL": "http://gw/v1",
                      "HF_TOKEN_PATH": "/var/run/secrets/hf/token"})
    make.assert_valid(obj)
    assert check("no-secrets-in-plain-config", make.k8s(obj), CTX) == []


def test_configmap_fails_by_name_and_by_shape(check, make):
    obj = _configmap({"DB_PASSWORD": "hunter2", "notes.txt": f"key {AWS_KEY}"})
    msgs = check("no-secrets-in-plain-config", make.k8s(obj), CTX)
    assert len(msgs) == 2
    assert msgs[0].startswith("data 'DB_PASSWORD' is named like a credential") and "Secret" in msgs[0]
    assert msgs[1].startswith("data 'notes.txt' contains an AWS access key id")


def test_env_value_from_secret_passes_literal_fails(check, make):
    ok = _env(make, {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
              {"name": "HF_HOME", "value": "/tmp/hf-home"})
    make.assert_valid(ok)
    assert check("no-secrets-in-plain-config", make.k8s(ok), CTX) == []
    bad = _env(make, {"name": "HF_TOKEN", "value": "hf-literal"}, {"name": "DSN", "value": "mysql://root:pw@db:3306/x"})
    msgs = check("no-secrets-in-plain-config", make.k8s(bad), CTX)
    assert len(msgs) == 2
    assert msgs[0].startswith("container app: env HF_TOKEN is named like a credential")
    assert msgs[1].startswith("container app: env DSN contains a URL with a password")
    assert "secretKeyRef" in msgs[0]


def test_offline_secret_marker_in_plain_config_fails(check, make):
    # The offline plan shows a Pulumi secret as "[secret]": one in an env literal is plain text in the pod spec.
    msgs = check("no-secrets-in-plain-config", make.k8s(_env(make, {"name": "ADMIN", "value": SECRET})), CTX)
    assert msgs and "Pulumi secret" in msgs[0]
