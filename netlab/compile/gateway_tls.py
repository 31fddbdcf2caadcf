"""HTTPS listeners: the certificate a listener terminates TLS with, from its `tls.certificateRefs` Secret
(in another namespace only with a ReferenceGrant from Gateways), and why a reference does not resolve
(the listener's ResolvedRefs reasons InvalidCertificateRef and RefNotPermitted). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from netlab.compile.nginx_ingress import CERTS_DIR as CERTS_DIR  # the same layout as the ingress's files
from netlab.compile.nginx_ingress import load_secret
from netlab.model.gateway import GROUP


def _granted(grants: list[Mapping], gateway_ns: str, ns: str, name: str) -> bool:
    for g in grants:
        spec = g.get("spec") or {}
        if ((g.get("metadata") or {}).get("namespace") or "default") != ns:
            continue
        if any(f.get("group") == GROUP and f.get("kind") == "Gateway" and f.get("namespace") == gateway_ns
               for f in spec.get("from") or []) and \
                any(t.get("group", "") in ("", "core") and t.get("kind") == "Secret" and t.get("name") in (None, name)
                    for t in spec.get("to") or []):
            return True
    return False


def listener_certificate(tls: Mapping, gateway_ns: str, secrets: Mapping[tuple[str, str], dict],
                         grants: list[Mapping]) -> tuple[bytes, bytes, str] | tuple[str, str]:
    """(cert PEM, key PEM, "ns_name") of the listener's first certificateRef, or (reason, message)."""
    refs = tls.get("certificateRefs") or []
    if not refs:
        return "InvalidCertificateRef", "no certificateRefs"
    ref = refs[0]
    if ref.get("group", "") not in ("", "core") or ref.get("kind", "Secret") != "Secret":
        return "InvalidCertificateRef", "only core Secrets are supported as certificates"
    ns, name = ref.get("namespace") or gateway_ns, ref.get("name", "")
    if ns != gateway_ns and not _granted(grants, gateway_ns, ns, name):
        return "RefNotPermitted", f"Secret {ns}/{name} is in another namespace and no ReferenceGrant allows it"
    secret = secrets.get((ns, name))
    if secret is None:
        return "InvalidCertificateRef", f"Secret {ns}/{name} does not exist"
    loaded = load_secret(secret)
    if isinstance(loaded, str):
        return "InvalidCertificateRef", f"Secret {ns}/{name} cannot be used: {loaded}"
    return loaded[0], loaded[1], f"{ns}_{name}"
