"""What a container gets from ConfigMaps, Secrets and the downward API, as the kubelet gives it. Pure.

- Environment: `env[].valueFrom.configMapKeyRef` / `secretKeyRef` and `envFrom` (configMapRef, secretRef,
  with a prefix). A missing object or key that is not `optional` is a CreateContainerConfigError; for a
  volume, the container waits in ContainerCreating with FailedMount events, as the kubelet does.
- Volumes: `configMap`, `secret`, `downwardAPI`, `projected` (of those three) and `emptyDir`, each a
  directory of files (with `items` to pick keys and paths, `defaultMode`/`mode`) mounted at the
  volumeMount's mountPath (or one file of it with `subPath`). The runtime writes the files under the
  pod's own directory and binds them into the container's private mount namespace
  (netlab.runtime.volumes); the host's file system is not changed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

SECRET_MODE = 0o644  # upstream's defaultMode for configMap, secret and downwardAPI volumes
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


MOUNT_FAILED = "MountVolume.SetUp failed"  # how a config error that is a volume's begins


class MissingSource(Exception):
    """What the kubelet reports when a referenced ConfigMap/Secret or key is missing."""


def _object(objects: Mapping[str, dict], kind: str, namespace: str, name: str) -> dict | None:
    return objects.get(f"{kind}/{namespace}/{name}")


def object_data(obj: dict) -> dict[str, bytes]:
    """A ConfigMap's or Secret's keys and their bytes (a Secret's data decoded, stringData over it)."""
    if obj["kind"] == "Secret":
        out = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        out.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
        return out
    out = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return out


def _source(objects: Mapping[str, dict], kind: str, namespace: str, ref: Mapping[str, Any]) -> dict[str, bytes] | None:
    """The data of the referenced object; None when it is missing and optional; MissingSource otherwise."""
    name = str(ref.get("name") or "")
    obj = _object(objects, kind, namespace, name)
    if obj is None:
        if ref.get("optional"):
            return None
        raise MissingSource(f'{kind.lower()} "{name}" not found')
    return object_data(obj)


def container_env(namespace: str, container: Mapping[str, Any], objects: Mapping[str, dict],
                  plain: Callable[[Mapping[str, Any]], str | None]) -> dict[str, str]:
    """envFrom, then env (later wins, as upstream); plain(var) gives a variable that names no ConfigMap or
    Secret (None: not set). Raises MissingSource."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if source.get(field):
                data = _source(objects, kind, namespace, source[field]) or {}
                for key, value in data.items():
                    name = f"{source.get('prefix') or ''}{key}"
                    if _ENV_NAME.match(name):  # the kubelet skips invalid names (and says so in an event)
                        env[name] = value.decode(errors="replace")
    for var in container.get("env") or []:
        value_from = var.get("valueFrom") or {}
        for kind, field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            ref = value_from.get(field)
            if ref:
                data = _source(objects, kind, namespace, ref)
                if data is not None and ref.get("key") in data:
                    env[var["name"]] = data[ref["key"]].decode(errors="replace")
                elif data is not None and not ref.get("optional"):
                    raise MissingSource(f'couldn\'t find key {ref.get("key")} in {kind} {namespace}/{ref.get("name")}')
                break
        else:
            value = plain(var)
            if value is not None:
                env[var["name"]] = value
    return env


def _files(data: dict[str, bytes], items: list[Mapping[str, Any]] | None, mode: int, what: str,
           optional: bool) -> dict[str, dict[str, Any]]:
    if items:
        out = {}
        for item in items:
            if item.get("key") not in data:
                if optional:
                    continue
                key = item.get("key")
                raise MissingSource(f"configmap references non-existent config key: {key}" if what == "configmap"
                                    else f"references non-existent secret key: {key}")
            out[str(item["path"])] = _file(data[item["key"]], item.get("mode", mode))
        return out
    return {key: _file(value, mode) for key, value in data.items()}


def _file(content: bytes, mode: int) -> dict[str, Any]:
    return {"data": base64.b64encode(content).decode(), "mode": int(mode)}


def volume_files(namespace: str, volume: Mapping[str, Any], objects: Mapping[str, dict],
                 downward: Callable[[str], str | None]) -> dict[str, dict[str, Any]] | None:
    """The files of one volume ({relative path: {data: base64, mode}}); None for a directory that starts
    empty (emptyDir) or a type netlab does not fill (hostPath is bound as it is; others stay unmounted).
    downward(fieldPath) -> its value. Raises MissingSource."""
    for kind, field, name_field in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
        src = volume.get(field)
        if src is not None:
            ref = {"name": src.get(name_field), "optional": src.get("optional")}
            data = _source(objects, kind, namespace, ref)
            mode = src.get("defaultMode", SECRET_MODE)
            return {} if data is None else _files(data, src.get("items"), mode, kind.lower(), bool(src.get("optional")))
    src = volume.get("projected")
    if src is not None:   # configMap, secret and downwardAPI sources in one directory (no service account tokens)
        out: dict[str, dict[str, Any]] = {}
        mode = src.get("defaultMode", SECRET_MODE)
        for source in src.get("sources") or []:
            part = {field: {**(source.get(field) or {}), "defaultMode": mode}
                    for field in ("configMap", "secret", "downwardAPI") if source.get(field) is not None}
            if "secret" in part:
                part["secret"]["secretName"] = part["secret"].pop("name", None)
            for field, spec in part.items():
                out.update(volume_files(namespace, {field: spec}, objects, downward) or {})
        return out
    src = volume.get("downwardAPI")
    if src is not None:
        mode = src.get("defaultMode", SECRET_MODE)
        out = {}
        for item in src.get("items") or []:
            path = (item.get("fieldRef") or {}).get("fieldPath")
            value = downward(path) if path else None
            if value is not None:
                out[str(item["path"])] = _file(value.encode(), item.get("mode", mode))
        return out
    return None


FILLED = ("configMap", "secret", "downwardAPI", "projected", "emptyDir")


def container_volumes(namespace: str, pod_spec: Mapping[str, Any], container: Mapping[str, Any],
                      objects: Mapping[str, dict], downward: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The container's mounts of configMap, secret, downwardAPI and emptyDir volumes: {name, mountPath,
    readOnly, subPath, files, fsGroup} (files None: an emptyDir). Raises MissingSource."""
    volumes = {v.get("name"): v for v in pod_spec.get("volumes") or []}
    fs_group = (pod_spec.get("securityContext") or {}).get("fsGroup")
    out = []
    for vm in container.get("volumeMounts") or []:
        volume = volumes.get(vm.get("name"))
        if volume is None or not any(k in volume for k in FILLED) or not vm.get("mountPath"):
            continue
        try:
            files = volume_files(namespace, volume, objects, downward)
        except MissingSource as e:   # the kubelet keeps the pod ContainerCreating, with FailedMount events
            raise MissingSource(f'{MOUNT_FAILED} for volume "{vm["name"]}" : {e}') from e
        # configMap, secret and downwardAPI volumes are read-only upstream, whatever the mount says
        read_only = bool(vm.get("readOnly")) or "emptyDir" not in volume
        out.append({"name": str(vm["name"]), "mountPath": str(vm["mountPath"]), "readOnly": read_only,
                    "subPath": vm.get("subPath") or None, "files": files,
                    "fsGroup": fs_group if isinstance(fs_group, int) else None})
    return out
