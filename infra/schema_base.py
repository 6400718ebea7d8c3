"""Building blocks of the config schema shared by every section: the base class and checked strings."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_K8S_VERSION = re.compile(r"^1\.(\d+)$")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending "
            f"with a letter or digit, at most 63 characters); got {value!r}"
        )
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError(
            f"must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'); got {value!r}"
        )
    return value


def _k8s_version(value: str) -> str:
    m = _K8S_VERSION.match(value)
    if not m or not 29 <= int(m.group(1)) <= 37:
        raise ValueError(f"must be a supported Kubernetes minor version '1.29' .. '1.37' (quote it in YAML); got {value!r}")
    return value


def absolute_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"must be an absolute export path starting with '/'; got {value!r}")
    return value


def matches(pattern: re.Pattern, what: str) -> Callable[[str], str]:
    """A validator refusing values that ``pattern`` does not match, saying what was expected."""
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"must be {what}; got {value!r}")
        return value
    return check


def _ipv4_cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"must be an IPv4 CIDR block such as 10.0.0.0/16 (no host bits set); got {value!r}") from None
    if net.version != 4:
        raise ValueError(f"must be an IPv4 CIDR block; got {value!r}")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
KubernetesVersion = Annotated[str, AfterValidator(_k8s_version)]


class Section(BaseModel):
    """Base of every config section: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)
