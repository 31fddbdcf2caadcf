"""Kubernetes name and label syntax (apimachinery's validation package).

Each ``check_*`` function returns a list of messages, empty when the value is valid.
"""

from __future__ import annotations

import re

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[-a-z0-9]+$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ENV_VAR_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _length_and_pattern(value: str, max_len: int, pattern: re.Pattern, message: str) -> list[str]:
    errs = []
    if len(value) > max_len:
        errs.append(f"must be no more than {max_len} characters")
    if not pattern.match(value):
        errs.append(message)
    return errs


def check_dns1123_label(value: str) -> list[str]:
    return _length_and_pattern(
        value, DNS1123_LABEL_MAX, _DNS1123_LABEL,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character")


def check_dns1123_subdomain(value: str) -> list[str]:
    return _length_and_pattern(
        value, DNS1123_SUBDOMAIN_MAX, _DNS1123_SUBDOMAIN,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character")


def check_dns1035_label(value: str) -> list[str]:
    return _length_and_pattern(
        value, DNS1123_LABEL_MAX, _DNS1035_LABEL,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
        "start with an alphabetic character, and end with an alphanumeric character")


def check_qualified_name(value: str) -> list[str]:
    """Label and annotation keys: ``[prefix/]name``."""
    prefix, slash, name = value.rpartition("/")
    errs = []
    if slash:
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend(f"prefix part {m}" for m in check_dns1123_subdomain(prefix))
    if not name:
        errs.append("name part must be non-empty")
        return errs
    if len(name) > DNS1123_LABEL_MAX:
        errs.append(f"name part must be no more than {DNS1123_LABEL_MAX} characters")
    if not _QUALIFIED_NAME.match(name):
        errs.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return errs


def check_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(f"must be no more than {DNS1123_LABEL_MAX} characters")
    if not _LABEL_VALUE.match(value):
        errs.append(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return errs


def check_port_name(value: str) -> list[str]:
    """IANA_SVC_NAME, used for container port names and named targetPorts."""
    errs = []
    if len(value) > 15:
        errs.append("must be no more than 15 characters")
    if not _IANA_SVC_NAME.match(value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if not any(c.isalpha() for c in value):
        errs.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def check_config_key(value: str) -> list[str]:
    """Keys of Secret/ConfigMap data."""
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        return [f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters"]
    if not _CONFIG_KEY.match(value) or value in (".", ".."):
        return ["a valid config key must consist of alphanumeric characters, '-', '_' or '.'"]
    return []


def check_env_var_name(value: str) -> list[str]:
    if not _ENV_VAR_NAME.match(value):
        return [
            "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
            "or '.', and must not start with a digit"
        ]
    return []


def check_port_number(value: int) -> list[str]:
    if not 1 <= value <= 65535:
        return [f"must be between 1 and 65535, got {value}"]
    return []
