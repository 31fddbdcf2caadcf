"""Request paths to resources: pure, so the server's routing and its tests need no HTTP."""

from __future__ import annotations

from netlab.api import resources
from netlab.api.errors import ApiError


def not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")


def parse_path(path: str) -> tuple[resources.Resource, str | None, str | None, str | None]:
    """-> (resource, namespace, name, subresource); raises ApiError(404) for unknown paths."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        api_version, rest = "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        api_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        raise not_found(path)
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    elif len(rest) == 2 and rest[0] == "namespaces" and api_version == "v1":
        return resources.BY_KIND["Namespace"], None, rest[1], None
    if not rest or len(rest) > 3:
        raise not_found(path)
    resource = resources.by_path(api_version, rest[0])
    if resource is None or (namespace is not None and not resource.namespaced):
        raise not_found(path)
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return resource, namespace, name, sub


def strip_legacy_watch(path: str) -> tuple[str, bool]:
    """`/api/v1/watch/namespaces/ns/pods` (the deprecated watch paths, still served upstream) as the
    resource path and True; any other path unchanged and False."""
    parts = path.split("/")
    at = 3 if parts[1:2] == ["api"] else 4 if parts[1:2] == ["apis"] else None
    if at is not None and len(parts) > at and parts[at] == "watch":
        return "/".join(parts[:at] + parts[at + 1:]), True
    return path, False
