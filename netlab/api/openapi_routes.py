"""HTTP answers for /openapi/v2, /openapi/v3 and /openapi/v3/<group-version> (documents: netlab/api/openapi.py),
with the apiserver's caching: an ETag per document, 304 for a matching If-None-Match, and for a v3 document
asked for with the hash the index names, `Cache-Control: public, immutable` (a client may keep it for good);
a stale hash is redirected to the current one.

kubectl asks for /openapi/v2 in protobuf first (with JSON as a fallback only for some commands): netlab
serves JSON only, so a request that accepts nothing but protobuf gets 406, as from an apiserver without
that encoding, and the client falls back.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from netlab.api import openapi
from netlab.api.errors import ApiError

PREFIX = "/openapi"
V3_PREFIX = "/openapi/v3/"
IMMUTABLE = "public, immutable"
FRESH = "no-cache, private"
#: upstream's long-lived Expires for a hash-addressed document (a year)
EXPIRES_SECONDS = 365 * 24 * 3600


def is_openapi(path: str) -> bool:
    return path == PREFIX + "/v2" or path == PREFIX + "/v3" or path.startswith(V3_PREFIX)


def _accepts_json(accept: str) -> bool:
    if not accept.strip():
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        params = part.lower().replace(" ", "").split(";")[1:]
        if "q=0" in params:
            continue
        if media in ("*/*", "application/*", "application/json"):
            return True
    return False


def _document(request: web.Request, body: bytes, etag: str, cache_control: str) -> web.Response:
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag, "Cache-Control": cache_control})
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if cache_control == IMMUTABLE:
        headers["Expires"] = "Fri, 01 Jan 2100 00:00:00 GMT"
    return web.Response(body=body, content_type="application/json", headers=headers)


def answer(request: web.Request, path: str) -> web.Response:
    """The answer for an OpenAPI path (is_openapi(path) must hold); ApiError 404/406 otherwise."""
    if not _accepts_json(request.headers.get("Accept", "")):
        raise ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json")
    if path == PREFIX + "/v2":
        body = openapi.v2_json()
        etag = '"' + hashlib.sha512(body).hexdigest().upper() + '"'
        return _document(request, body, etag, FRESH)
    if path == PREFIX + "/v3":
        return web.json_response(openapi.v3_index(), headers={"Cache-Control": FRESH})
    doc_path = path[len(V3_PREFIX):]
    body = openapi.v3_json(doc_path)
    digest = openapi.v3_hash(doc_path)
    if body is None or digest is None:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    asked = request.query.get("hash")
    if asked and asked != digest:   # an old link: the current content lives under its own hash
        return web.Response(status=301, headers={"Location": f"{V3_PREFIX}{doc_path}?hash={digest}"})
    return _document(request, body, f'"{digest}"', IMMUTABLE if asked else FRESH)
