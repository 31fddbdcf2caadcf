"""The cluster's certificates, as kubeadm makes them: a CA, the API server's serving certificate and the
admin's client certificate (CN kubernetes-admin, O system:masters), all signed by that CA.

`ensure` keeps what exists (a second `up` of the same cluster must not invalidate kubeconfigs handed
out before) and makes what is missing. Keys are written 0600 (root's, as `up` runs as root).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "kubernetes"
ADMIN_USER, ADMIN_GROUP = "kubernetes-admin", "system:masters"
SERVER_DNS = ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "localhost")
VALIDITY = datetime.timedelta(days=365)
CA_VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class Pki:
    """The paths of one cluster's certificate files."""

    dir: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "dir", Path(self.dir))

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def server_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def admin_cert(self) -> Path:
        return self.dir / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.dir / "admin.key"

    @property
    def sa_key(self) -> Path:
        """The key service account tokens are signed with (netlab.compile.serviceaccount)."""
        return self.dir / "sa.key"

    def complete(self) -> bool:
        return all(p.exists() for p in (self.ca_cert, self.ca_key, self.server_cert, self.server_key,
                                        self.admin_cert, self.admin_key))


def server_names(ips: list[str], cluster_domain: str) -> tuple[list[str], list[str]]:
    """(IP SANs, DNS SANs) of the serving certificate: loopback, the given addresses (host underlay,
    first service address) and the names pods use for the `kubernetes` Service."""
    ip_sans = list(dict.fromkeys(["127.0.0.1", *ips]))
    dns = [*SERVER_DNS[:3], f"kubernetes.default.svc.{cluster_domain}", SERVER_DNS[3]]
    return ip_sans, dns


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else [])
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: x509.Name, issuer: x509.Name, key, validity: datetime.timedelta) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + validity))


def make_ca(cn: str = CA_NAME) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    name = _name(cn)
    cert = (_builder(name, name, key, CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def issue(ca: x509.Certificate, ca_key, cn: str, *, org: str | None = None, server: bool = False,
          ips: list[str] = (), dns: list[str] = ()) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A leaf certificate signed by ca: for serving (with SANs) or for a client (CN user, O group)."""
    key = _key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (_builder(_name(cn, org), ca.subject, key, VALIDITY)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if server:
        sans = [x509.IPAddress(ipaddress.ip_address(i)) for i in ips] + [x509.DNSName(d) for d in dns]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _server_sans_match(path: Path, ips: list[str], dns: list[str]) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    have_ips = {str(i) for i in sans.get_values_for_type(x509.IPAddress)}
    return have_ips == set(ips) and set(sans.get_values_for_type(x509.DNSName)) == set(dns)


def ensure(directory: str | os.PathLike[str], ips: list[str], cluster_domain: str = "cluster.local") -> Pki:
    """The cluster's PKI under directory, made where missing; the serving certificate is re-issued
    (by the same CA) when its addresses changed."""
    pki = Pki(Path(directory))
    pki.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(pki.dir, 0o700)
    ip_sans, dns_sans = server_names(ips, cluster_domain)
    if not (pki.ca_cert.exists() and pki.ca_key.exists()):
        ca, ca_key = make_ca()
        _write(pki.ca_key, key_pem(ca_key), 0o600)
        _write(pki.ca_cert, cert_pem(ca), 0o600)
        for stale in (pki.server_cert, pki.admin_cert):
            stale.unlink(missing_ok=True)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), None)
    if not (pki.server_key.exists() and _server_sans_match(pki.server_cert, ip_sans, dns_sans)):
        cert, key = issue(ca, ca_key, "kube-apiserver", server=True, ips=ip_sans, dns=dns_sans)
        _write(pki.server_key, key_pem(key), 0o600)
        _write(pki.server_cert, cert_pem(cert), 0o600)
    if not (pki.admin_cert.exists() and pki.admin_key.exists()):
        cert, key = issue(ca, ca_key, ADMIN_USER, org=ADMIN_GROUP)
        _write(pki.admin_key, key_pem(key), 0o600)
        _write(pki.admin_cert, cert_pem(cert), 0o600)
    if not pki.sa_key.exists():
        _write(pki.sa_key, secrets.token_bytes(32), 0o600)
    return pki
