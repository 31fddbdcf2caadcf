"""GRPCRoute matches in HTTP terms (pure). A gRPC call is an HTTP/2 POST to `/<service>/<method>` with
`content-type: application/grpc...`, so a GRPCRoute match is an HTTPRoute match on that path and those
headers, and routes with the same precedence: an exact service and method is an Exact path, a service
alone a PathPrefix, a method alone or a RegularExpression a path regex; header matches are kept; the
content-type condition keeps plain HTTP requests out of gRPC rules."""

from __future__ import annotations

import re
from collections.abc import Mapping

GRPC_CONTENT_TYPE = {"name": "content-type", "type": "RegularExpression", "value": "application/grpc.*"}


def _path(method: Mapping) -> dict:
    service, name = method.get("service"), method.get("method")
    if method.get("type", "Exact") == "RegularExpression":
        return {"type": "RegularExpression", "value": f"/{service or '[^/]+'}/{name or '[^/]+'}"}
    if service and name:
        return {"type": "Exact", "value": f"/{service}/{name}"}
    if service:
        return {"type": "PathPrefix", "value": f"/{service}"}
    if name:
        return {"type": "RegularExpression", "value": f"/[^/]+/{re.escape(name)}"}
    return {"type": "PathPrefix", "value": "/"}


def grpc_matches(rule: Mapping) -> tuple[dict, ...]:
    """A GRPCRoute rule's matches as HTTPRoute matches (one that takes every gRPC call when it has none)."""
    return tuple({"path": _path(m.get("method") or {}),
                  "headers": [*(m.get("headers") or []), GRPC_CONTENT_TYPE]}
                 for m in rule.get("matches") or [{}])
