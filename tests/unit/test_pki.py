"""The cluster PKI: a CA, a serving certificate with the SANs pods and kubectl use, an admin client certificate."""

from __future__ import annotations

import ipaddress
import stat

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from netlab.api import pki as pkimod


def _cert(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_serving_certificate_names_every_address_and_service_name(tmp_path) -> None:
    pki = pkimod.ensure(tmp_path / "pki", ["127.0.0.1", "172.18.0.1", "10.96.0.1"], "cluster.local")
    cert = _cert(pki.server_cert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address(a)
                                                            for a in ("127.0.0.1", "172.18.0.1", "10.96.0.1")}
    assert set(sans.get_values_for_type(x509.DNSName)) == {
        "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
        "localhost"}
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert cert.issuer == _cert(pki.ca_cert).subject


def test_the_admin_is_kubernetes_admin_in_system_masters(tmp_path) -> None:
    pki = pkimod.ensure(tmp_path / "pki", ["127.0.0.1"])
    subject = _cert(pki.admin_cert).subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes-admin"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    _cert(pki.admin_cert).verify_directly_issued_by(_cert(pki.ca_cert))


def test_keys_are_private_and_certificates_are_kept_across_runs(tmp_path) -> None:
    pki = pkimod.ensure(tmp_path / "pki", ["127.0.0.1"])
    for key in (pki.ca_key, pki.server_key, pki.admin_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(pki.dir.stat().st_mode) == 0o700
    before = {p: p.read_bytes() for p in (pki.ca_cert, pki.server_cert, pki.admin_cert, pki.admin_key)}
    again = pkimod.ensure(tmp_path / "pki", ["127.0.0.1"])
    assert {p: p.read_bytes() for p in before} == before and again.complete()


def test_a_changed_address_reissues_only_the_serving_certificate(tmp_path) -> None:
    pki = pkimod.ensure(tmp_path / "pki", ["127.0.0.1"])
    ca, admin, server = pki.ca_cert.read_bytes(), pki.admin_cert.read_bytes(), pki.server_cert.read_bytes()
    pkimod.ensure(tmp_path / "pki", ["127.0.0.1", "172.30.0.1"])
    assert pki.ca_cert.read_bytes() == ca and pki.admin_cert.read_bytes() == admin
    assert pki.server_cert.read_bytes() != server
