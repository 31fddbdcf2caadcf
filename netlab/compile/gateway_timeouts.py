"""HTTPRoute rule `timeouts` and what nginx does with them. Pure.

"0s" means no timeout (netlab.model.gateway_duration checks the format). `request` bounds the whole
request, `backendRequest` each request to a backend (retries included in `request`). nginx has no
timer for a whole request, so netlab gives each attempt min(request, backendRequest) as its connect,
send and read timeouts and bounds retries to `request` (proxy_next_upstream_timeout); when one expires
nginx answers 504, as the specification asks.
"""

from __future__ import annotations

from collections.abc import Mapping

from netlab.model.gateway_duration import milliseconds

NO_TIMEOUT_MS = 86_400_000  # "0s": a day stands for "none" (nginx always has a timeout)
CONNECT_MS = 5000  # the renderer's proxy_connect_timeout


def nginx_timeouts(timeouts: Mapping | None) -> tuple[tuple[str, str], ...]:
    """The nginx directives (name, value) for a rule's `timeouts`; () without any."""
    if not timeouts or not (timeouts.get("request") or timeouts.get("backendRequest")):
        return ()
    request = milliseconds(timeouts["request"]) if timeouts.get("request") else 0
    backend = milliseconds(timeouts["backendRequest"]) if timeouts.get("backendRequest") else 0
    attempt = min([t for t in (request, backend) if t] or [NO_TIMEOUT_MS])
    return (("proxy_connect_timeout", f"{min(attempt, CONNECT_MS)}ms"), ("proxy_send_timeout", f"{attempt}ms"),
            ("proxy_read_timeout", f"{attempt}ms"),
            ("proxy_next_upstream_timeout", f"{request or NO_TIMEOUT_MS}ms"))
