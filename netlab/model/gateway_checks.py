"""Field checks the Gateway API's schemas share (the CRDs' types, patterns and limits), with upstream's
messages."""

from __future__ import annotations

import re
from typing import Any

from .dns1123 import _LABEL

GROUP = "gateway.networking.k8s.io"

Issue = tuple[str, str]
HOSTNAME_RE = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")
CONTROLLER_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})*/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$")
SECTION_RE = re.compile(rf"^{_LABEL}$")
PROTOCOL_RE = re.compile(rf"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|^{_LABEL}(\.{_LABEL})*/[A-Za-z0-9]+$")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
PATH_CHARS_RE = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
FILTER_FIELDS = {"RequestHeaderModifier": "requestHeaderModifier", "ResponseHeaderModifier": "responseHeaderModifier",
                 "RequestMirror": "requestMirror", "RequestRedirect": "requestRedirect", "URLRewrite": "urlRewrite",
                 "ExtensionRef": "extensionRef", "CORS": "cors", "ExternalAuth": "externalAuth"}


def _obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _enum(value: Any, allowed: tuple, path: str) -> list[Issue]:
    if value in allowed:
        return []
    shown = ", ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in allowed)
    got = f'"{value}"' if isinstance(value, str) else repr(value)
    return [(path, f"Unsupported value: {got}: supported values: {shown}")]


def _string(value: Any, path: str, required: bool, max_len: int = 253, pattern: re.Pattern | None = None
            ) -> list[Issue]:
    if value is None:
        return [(path, "Required value")] if required else []
    if not isinstance(value, str):
        return [(path, f"Invalid value: {value!r}: must be a string")]
    if not value:
        return [(path, "Invalid value: \"\": should be at least 1 chars long")]
    if len(value) > max_len:
        return [(path, f"Too long: may not be more than {max_len} bytes")]
    if pattern is not None and not pattern.match(value):
        return [(path, f"Invalid value: {value!r}: should match '{pattern.pattern}'")]
    return []


def _int(value: Any, path: str, low: int, high: int, required: bool = False) -> list[Issue]:
    if value is None:
        return [(path, "Required value")] if required else []
    if not isinstance(value, int) or isinstance(value, bool):
        return [(path, f"Invalid value: {value!r}: must be an integer")]
    if not low <= value <= high:
        return [(path, f"Invalid value: {value}: must be between {low} and {high}, inclusive")]
    return []


def _max_items(items: list, path: str, most: int) -> list[Issue]:
    return [(path, f"Too many: {len(items)}: must have at most {most} items")] if len(items) > most else []
