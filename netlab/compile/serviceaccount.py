"""Service account tokens, as the ServiceAccount admission plugin and the kubelet give them to pods. Pure.

Every container (unless `automountServiceAccountToken: false` on the pod, or on its ServiceAccount
without the pod saying otherwise) gets the `kube-api-access` files at
/var/run/secrets/kubernetes.io/serviceaccount: `token` (a JWT naming
`system:serviceaccount:<namespace>:<serviceAccountName>`), `ca.crt` (the cluster CA, which signed the
API's serving certificate) and `namespace`. The API server accepts the token as a bearer token, so a
process in a pod reaches `https://kubernetes.default.svc` as client libraries do in-cluster.

Unlike Kubernetes' (RS256, one hour, refreshed by the kubelet), netlab's tokens are HS256 with a key of
the cluster's and do not expire; the API authenticates them but, like the rest of netlab's API, does not
authorise (no RBAC).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_NAME = "kube-api-access-netlab"  # upstream adds a random suffix: none of a user's volumes
ISSUER = "https://kubernetes.default.svc.cluster.local"
_MODE = 0o644  # the projected volume's defaultMode (420) upstream


@dataclass(frozen=True)
class TokenIssuer:
    """What tokens are signed with, and the CA a pod verifies the API with."""

    key: bytes
    ca_pem: bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: bytes, namespace: str, name: str) -> str:
    """A token for ServiceAccount namespace/name (the same one each time: nothing in it expires)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iss": ISSUER, "sub": f"system:serviceaccount:{namespace}:{name}",
              "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name}}}
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify(key: bytes, token: str) -> str | None:
    """The user a token authenticates (`system:serviceaccount:ns:name`), or None."""
    try:
        header, payload, signature = token.split(".")
        want = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, _unb64(signature)):
            return None
        sub = json.loads(_unb64(payload)).get("sub")
    except (ValueError, TypeError, AttributeError):
        return None
    return sub if isinstance(sub, str) and sub.startswith("system:serviceaccount:") else None


def automount(namespace: str, pod_spec: Mapping[str, Any], objects: Mapping[str, dict]) -> bool:
    """The pod's automountServiceAccountToken, else its ServiceAccount's, else true."""
    if pod_spec.get("automountServiceAccountToken") is not None:
        return bool(pod_spec["automountServiceAccountToken"])
    sa = objects.get(f"ServiceAccount/{namespace}/{pod_spec.get('serviceAccountName') or 'default'}") or {}
    return sa.get("automountServiceAccountToken") is not False


def token_volume(issuer: TokenIssuer, namespace: str, pod_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The container's mount of the kube-api-access files (in netlab.compile.volumes' form)."""
    token = issue(issuer.key, namespace, pod_spec.get("serviceAccountName") or "default")

    def file(data: bytes) -> dict[str, Any]:
        return {"data": base64.b64encode(data).decode(), "mode": _MODE}

    fs_group = (pod_spec.get("securityContext") or {}).get("fsGroup")
    return {"name": VOLUME_NAME, "mountPath": MOUNT_PATH, "readOnly": True, "subPath": None,
            "files": {"token": file(token.encode()), "ca.crt": file(issuer.ca_pem),
                      "namespace": file(namespace.encode())},
            "fsGroup": fs_group if isinstance(fs_group, int) else None}
