"""The ingress controller's nginx process: write a rendered configuration, check it, run and reload nginx.

netlab.compile.nginx renders (pure); this module does the I/O: atomic file writes (private keys 0600),
`nginx -t`, the container command line, graceful reloads (SIGHUP: the master re-reads the
configuration, starts new workers and lets the old ones finish the requests in flight), and the
default self-signed certificate ingress-nginx calls "Kubernetes Ingress Controller Fake Certificate".
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
from pathlib import Path

from netlab.compile.nginx import CONF_NAME, TMP_DIR, RenderedConfig
from netlab.compile.nginx_ingress import CERTS_DIR
from netlab.runtime.files import write_atomic

NGINX = "/usr/sbin/nginx"
FAKE_CERT_CN = "Kubernetes Ingress Controller Fake Certificate"
DEFAULT_CERT_DIR = "ssl"
DEFAULT_CERT_NAME = "default-fake-certificate"
TEMP_SUBDIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def conf_path(run_dir: str | os.PathLike) -> str:
    """Where `NginxConfig.write` puts nginx.conf."""
    return str(Path(run_dir) / CONF_NAME)


class NginxConfig:
    """Writes, checks and reloads the ingress controller's nginx."""

    def __init__(self, nginx: str = NGINX) -> None:
        self.nginx = nginx

    def write(self, rendered: RenderedConfig, run_dir: str | os.PathLike) -> bool:
        """Write nginx.conf and the certificate files; remove certificates no longer rendered.

        Returns True if anything on disk changed (then the caller checks and reloads)."""
        root = Path(run_dir)
        changed = False
        root.mkdir(parents=True, exist_ok=True)
        # nginx workers (not root) must traverse run_dir to reach the temp dirs; keys stay in 0700/0600
        os.chmod(root, root.stat().st_mode & 0o777 | 0o111)
        for sub in TEMP_SUBDIRS:
            (root / TMP_DIR / sub).mkdir(parents=True, exist_ok=True)
        certs = root / CERTS_DIR
        certs.mkdir(parents=True, exist_ok=True)
        os.chmod(certs, 0o700)
        wanted = set()
        for name, content in sorted(rendered.files.items()):
            path = Path(name)
            if root.resolve() not in path.resolve().parents:
                raise ValueError(f"rendered file {name} is outside {root}")
            wanted.add(path.resolve())
            path.parent.mkdir(parents=True, exist_ok=True)
            changed |= write_atomic(path, content, rendered.file_mode(name), durable=True, skip_unchanged=True)
        for stale in sorted(certs.iterdir()):
            if stale.is_file() and stale.resolve() not in wanted and not stale.name.startswith("."):
                stale.unlink()
                changed = True
        changed |= write_atomic(root / CONF_NAME, rendered.nginx_conf, durable=True, skip_unchanged=True)
        return changed

    def check(self, conf_path: str | os.PathLike, run_dir: str | os.PathLike | None = None) -> str | None:
        """`nginx -t`: None if the configuration is valid, else nginx's error text."""
        prefix = str(run_dir) if run_dir is not None else str(Path(conf_path).parent)
        argv = [self.nginx, "-t", "-q", "-c", str(conf_path), "-p", prefix, "-e", "stderr"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{self.nginx} -t: {exc}"
        if proc.returncode == 0:
            return None
        return (proc.stderr or proc.stdout).strip() or f"nginx -t exited with {proc.returncode}"

    def reload(self, master_pid: int) -> None:
        """Graceful reload: SIGHUP to the master. Old workers finish the requests in flight, then exit.

        If the new configuration is invalid the master keeps the old one (and logs the error)."""
        os.kill(master_pid, signal.SIGHUP)

    def nginx_argv(self, conf_path: str | os.PathLike, run_dir: str | os.PathLike) -> list[str]:
        """The container command: nginx in the foreground (`daemon off;` is in the rendered conf)."""
        return [self.nginx, "-c", str(conf_path), "-p", str(run_dir), "-e", "stderr"]

    @staticmethod
    def master_pid(run_dir: str | os.PathLike) -> int | None:
        """The master's pid from the pid file the rendered conf names, or None."""
        try:
            return int((Path(run_dir) / "nginx.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


def _cert_usable(cert_path: Path, key_path: Path) -> bool:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    after = getattr(cert, "not_valid_after_utc", None)  # cryptography >= 42
    if after is None:
        after = cert.not_valid_after.replace(tzinfo=datetime.UTC)
    return after > soon


def default_certificate(run_dir: str | os.PathLike) -> tuple[str, str]:
    """The default (fake) certificate and key under run_dir/ssl, generated once (valid 1 year)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    directory = Path(run_dir) / DEFAULT_CERT_DIR
    cert_path = directory / f"{DEFAULT_CERT_NAME}.crt"
    key_path = directory / f"{DEFAULT_CERT_NAME}.key"
    if _cert_usable(cert_path, key_path):
        return str(cert_path), str(key_path)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme Co"),
        x509.NameAttribute(NameOID.COMMON_NAME, FAKE_CERT_CN),
    ])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("ingress.local")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    write_atomic(key_path, key_pem, durable=True)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), durable=True)
    return str(cert_path), str(key_path)
