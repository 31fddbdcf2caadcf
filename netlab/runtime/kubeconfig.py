"""The user's kubeconfig: `up` merges a cluster/user/context `netlab-<cluster>` into it (and makes it current),
`down` takes them out again, as kind does. Other entries stay exactly as they were.

The pure part (`entry`, `merged`, `without`) works on parsed documents; `target` and `write` find and
write the file: the first path of $KUBECONFIG, else ~/.kube/config of the invoking user (under sudo:
SUDO_USER's, and the file stays theirs), written atomically with mode 0600.
"""

from __future__ import annotations

import base64
import os
import pwd
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from netlab.api.pki import Pki


def context_name(cluster: str) -> str:
    return f"netlab-{cluster}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def entry(cluster: str, server: str, ca: bytes, cert: bytes, key: bytes) -> dict:
    """A kubeconfig with just this cluster: its CA, the admin's certificate and key embedded."""
    name = context_name(cluster)
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": _b64(ca)}}],
        "users": [{"name": name, "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


def entry_from_pki(cluster: str, server: str, pki: Pki) -> dict:
    return entry(cluster, server, pki.ca_cert.read_bytes(), pki.admin_cert.read_bytes(), pki.admin_key.read_bytes())


def _replace(items: list, new: list, names: set[str]) -> list:
    return [i for i in items if not (isinstance(i, dict) and i.get("name") in names)] + new


def merged(existing: Mapping | None, ours: dict) -> dict:
    """existing with our cluster, user and context put in (replacing same-named ones) and made current."""
    doc = dict(existing or {})
    doc.setdefault("apiVersion", "v1")
    doc.setdefault("kind", "Config")
    for section in ("clusters", "users", "contexts"):
        names = {i["name"] for i in ours[section]}
        doc[section] = _replace(list(doc.get(section) or []), ours[section], names)
    doc["current-context"] = ours["current-context"]
    return doc


def without(existing: Mapping, cluster: str) -> dict:
    """existing without this cluster's entries; current-context is cleared if it pointed at them."""
    name = context_name(cluster)
    doc = dict(existing)
    for section in ("clusters", "users", "contexts"):
        if section in doc:
            doc[section] = _replace(list(doc.get(section) or []), [], {name})
    if doc.get("current-context") == name:
        doc["current-context"] = ""
    return doc


@dataclass(frozen=True)
class Target:
    path: Path
    uid: int | None   # chown the file to this user (under sudo), None: leave the owner as is
    gid: int | None


def target(env: Mapping[str, str] | None = None) -> Target:
    """The kubeconfig `up` and `down` edit, and whose it is."""
    env = os.environ if env is None else env
    first = next((p for p in (env.get("KUBECONFIG") or "").split(os.pathsep) if p), None)
    user = None
    sudo_user = env.get("SUDO_USER")
    if os.geteuid() == 0 and sudo_user and sudo_user != "root":
        try:
            user = pwd.getpwnam(sudo_user)
        except KeyError:
            user = None
    if first:
        path = Path(first).expanduser()
    else:
        home = Path(user.pw_dir) if user else Path(env.get("HOME") or os.path.expanduser("~"))
        path = home / ".kube" / "config"
    return Target(path, user.pw_uid if user else None, user.pw_gid if user else None)


def read(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    doc = yaml.safe_load(text)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path} is not a kubeconfig (a YAML mapping)")
    return doc


def write(t: Target, doc: dict) -> None:
    """Atomically, 0600, owned by the target's user; a directory made for it is theirs too."""
    parent = t.path.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        if t.uid is not None:
            os.chown(parent, t.uid, t.gid)
    fd, tmp = tempfile.mkstemp(prefix=".netlab-kubeconfig-", dir=parent)
    try:
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(doc, f, default_flow_style=False, sort_keys=False)
        os.chmod(tmp, 0o600)
        if t.uid is not None:
            os.chown(tmp, t.uid, t.gid)
        elif t.path.exists():
            st = t.path.stat()
            os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, t.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install(cluster: str, server: str, pki: Pki, env: Mapping[str, str] | None = None) -> Path:
    """Merge the cluster's context into the user's kubeconfig and make it current; returns the file."""
    t = target(env)
    write(t, merged(read(t.path), entry_from_pki(cluster, server, pki)))
    return t.path


def uninstall(cluster: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Remove the cluster's entries from the user's kubeconfig; the file, when it had any."""
    t = target(env)
    doc = read(t.path)
    if not doc:
        return None
    name = context_name(cluster)
    if not any(i.get("name") == name for s in ("clusters", "users", "contexts")
               for i in doc.get(s) or [] if isinstance(i, dict)):
        return None
    write(t, without(doc, cluster))
    return t.path
