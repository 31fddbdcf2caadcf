"""Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), read as JSON.

client-go's typed clientsets send built-in objects as protobuf, so `kubectl create namespace|deployment|
service|secret|ingress` POST protobuf bodies (kubectl's other verbs send JSON). netlab answers in JSON,
which those clients also accept, and reads the few messages these commands write: the field numbers below
are the wire facts of k8s.io/api's generated.proto for them. A body with a field netlab does not know
answers 415, naming it, rather than being half read.

The encoding: the magic bytes "k8s\\0", then a runtime.Unknown message (typeMeta, raw), raw being the
object's own message. gogo-protobuf writes every non-pointer field, zero or not, so zero values are
dropped here as JSON's `omitempty` would (kept where zero means something: spec.replicas).
"""

from __future__ import annotations

import base64
from typing import Any

from netlab.api.errors import ApiError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
KEEP_ZERO = frozenset({"replicas"})

# message -> field number -> (JSON name, type); a type is a scalar ("string", "int", "bool", "bytes"),
# another message, "map:<value type>", and a leading "*" marks a repeated field.
S, N, B = "string", "int", "bool"
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes"), 3: ("contentEncoding", S),
                4: ("contentType", S)},
    "TypeMeta": {1: ("apiVersion", S), 2: ("kind", S)},
    "ObjectMeta": {1: ("name", S), 2: ("generateName", S), 3: ("namespace", S), 4: ("selfLink", S),
                   5: ("uid", S), 6: ("resourceVersion", S), 7: ("generation", N), 8: ("creationTimestamp", "Time"),
                   9: ("deletionTimestamp", "Time"), 10: ("deletionGracePeriodSeconds", N),
                   11: ("labels", "map:string"), 12: ("annotations", "map:string"),
                   13: ("ownerReferences", "*OwnerReference"), 14: ("finalizers", "*string")},
    "OwnerReference": {1: ("kind", S), 3: ("name", S), 4: ("uid", S), 5: ("apiVersion", S), 6: ("controller", B),
                       7: ("blockOwnerDeletion", B)},
    "Time": {1: ("seconds", N), 2: ("nanos", N)},
    "LabelSelector": {1: ("matchLabels", "map:string"), 2: ("matchExpressions", "*LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: ("key", S), 2: ("operator", S), 3: ("values", "*string")},
    "IntOrString": {1: ("type", N), 2: ("intVal", N), 3: ("strVal", S)},
    "Quantity": {1: ("string", S)},
    # core/v1
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"), 3: ("status", "Status")},
    "NamespaceSpec": {1: ("finalizers", "*string")},
    "Status": {},   # a status is the server's: whatever a client sends there is dropped
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec"), 3: ("status", "Status")},
    "ServiceSpec": {1: ("ports", "*ServicePort"), 2: ("selector", "map:string"), 3: ("clusterIP", S),
                    4: ("type", S), 5: ("externalIPs", "*string"), 7: ("sessionAffinity", S),
                    8: ("loadBalancerIP", S), 9: ("loadBalancerSourceRanges", "*string"), 10: ("externalName", S),
                    11: ("externalTrafficPolicy", S), 12: ("healthCheckNodePort", N),
                    13: ("publishNotReadyAddresses", B), 17: ("ipFamilyPolicy", S), 18: ("clusterIPs", "*string"),
                    19: ("ipFamilies", "*string"), 20: ("allocateLoadBalancerNodePorts", B),
                    21: ("loadBalancerClass", S), 22: ("internalTrafficPolicy", S), 23: ("trafficDistribution", S)},
    "ServicePort": {1: ("name", S), 2: ("protocol", S), 3: ("port", N), 4: ("targetPort", "IntOrString"),
                    5: ("nodePort", N), 6: ("appProtocol", S)},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:bytes"), 3: ("type", S),
               4: ("stringData", "map:string"), 5: ("immutable", B)},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:string"), 3: ("binaryData", "map:bytes"),
                  4: ("immutable", B)},
    "Pod": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec"), 3: ("status", "Status")},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {2: ("containers", "*Container"), 3: ("restartPolicy", S), 4: ("terminationGracePeriodSeconds", N),
                6: ("dnsPolicy", S), 7: ("nodeSelector", "map:string"), 8: ("serviceAccountName", S),
                9: ("serviceAccount", S), 10: ("nodeName", S), 11: ("hostNetwork", B), 12: ("hostPID", B),
                13: ("hostIPC", B), 16: ("hostname", S), 17: ("subdomain", S), 19: ("schedulerName", S),
                20: ("initContainers", "*Container"), 21: ("automountServiceAccountToken", B),
                24: ("priorityClassName", S), 29: ("runtimeClassName", S), 30: ("enableServiceLinks", B),
                35: ("setHostnameAsFQDN", B), 37: ("hostUsers", B)},
    "Container": {1: ("name", S), 2: ("image", S), 3: ("command", "*string"), 4: ("args", "*string"),
                  5: ("workingDir", S), 6: ("ports", "*ContainerPort"), 7: ("env", "*EnvVar"),
                  8: ("resources", "ResourceRequirements"), 13: ("terminationMessagePath", S),
                  14: ("imagePullPolicy", S), 16: ("stdin", B), 17: ("stdinOnce", B), 18: ("tty", B),
                  20: ("terminationMessagePolicy", S)},
    "ContainerPort": {1: ("name", S), 2: ("hostPort", N), 3: ("containerPort", N), 4: ("protocol", S),
                      5: ("hostIP", S)},
    "EnvVar": {1: ("name", S), 2: ("value", S)},
    "ResourceRequirements": {1: ("limits", "map:Quantity"), 2: ("requests", "map:Quantity")},
    # apps/v1
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec"), 3: ("status", "Status")},
    "DeploymentSpec": {1: ("replicas", N), 2: ("selector", "LabelSelector"), 3: ("template", "PodTemplateSpec"),
                       4: ("strategy", "DeploymentStrategy"), 5: ("minReadySeconds", N),
                       6: ("revisionHistoryLimit", N), 7: ("paused", B), 9: ("progressDeadlineSeconds", N)},
    "DeploymentStrategy": {1: ("type", S), 2: ("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "IntOrString"), 2: ("maxSurge", "IntOrString")},
    # networking.k8s.io/v1
    "Ingress": {1: ("metadata", "ObjectMeta"), 2: ("spec", "IngressSpec"), 3: ("status", "Status")},
    "IngressSpec": {1: ("defaultBackend", "IngressBackend"), 2: ("tls", "*IngressTLS"), 3: ("rules", "*IngressRule"),
                    4: ("ingressClassName", S)},
    "IngressRule": {1: ("host", S), 2: ("http", "IngressRuleValue")},
    "IngressRuleValue": {1: ("http", "HTTPIngressRuleValue")},
    "HTTPIngressRuleValue": {1: ("paths", "*HTTPIngressPath")},
    "HTTPIngressPath": {1: ("path", S), 2: ("backend", "IngressBackend"), 3: ("pathType", S)},
    "IngressBackend": {4: ("service", "IngressServiceBackend")},
    "IngressServiceBackend": {1: ("name", S), 2: ("port", "ServiceBackendPort")},
    "ServiceBackendPort": {1: ("name", S), 2: ("number", N)},
    "IngressTLS": {1: ("hosts", "*string"), 2: ("secretName", S)},
}
#: (apiVersion, kind) -> the object's message
TOP_LEVEL = {("v1", "Namespace"): "Namespace", ("v1", "Service"): "Service", ("v1", "Secret"): "Secret",
             ("v1", "ConfigMap"): "ConfigMap",
             ("v1", "Pod"): "Pod", ("apps/v1", "Deployment"): "Deployment",
             ("networking.k8s.io/v1", "Ingress"): "Ingress"}


def _unsupported(what: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", f"netlab cannot read {what} in a protobuf body; "
                    "send the object as JSON (application/json)")


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ApiError(400, "BadRequest", "malformed protobuf body: a varint runs past the end")
        byte = data[i]
        result |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return result, i
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value: int or bytes) of one message, in order."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            if i + length > len(data):
                raise ApiError(400, "BadRequest", "malformed protobuf body: a field runs past the end")
            value, i = data[i:i + length], i + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = int.from_bytes(data[i:i + size], "little"), i + size
        else:
            raise ApiError(400, "BadRequest", f"malformed protobuf body: wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(kind: str, wire: int, value: Any, where: str) -> Any:
    if kind == "string":
        if not isinstance(value, bytes):
            raise ApiError(400, "BadRequest", f"malformed protobuf body at {where}")
        return value.decode("utf-8", errors="replace")
    if kind == "bytes":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else ""
    if not isinstance(value, int):
        raise ApiError(400, "BadRequest", f"malformed protobuf body at {where}")
    if kind == "bool":
        return bool(value)
    return value - (1 << 64) if value >= 1 << 63 else value


def _decode(message: str, data: bytes, where: str) -> dict:
    schema = MESSAGES[message]
    out: dict[str, Any] = {}
    if message == "Status":
        return out
    for number, wire, value in _fields(data):
        if number not in schema:
            raise _unsupported(f"field {number} of {message} ({where or 'the object'})")
        name, kind = schema[number]
        path = f"{where}.{name}" if where else name
        if kind.startswith("map:"):
            key, item = _map_entry(kind[4:], value, path)
            out.setdefault(name, {})[key] = item
        elif kind.startswith("*"):
            out.setdefault(name, []).append(_value(kind[1:], wire, value, path))
        else:
            out[name] = _value(kind, wire, value, path)
    return out


def _value(kind: str, wire: int, value: Any, where: str) -> Any:
    if kind in MESSAGES:
        if not isinstance(value, bytes):
            raise ApiError(400, "BadRequest", f"malformed protobuf body at {where}")
        return _shaped(kind, _decode(kind, value, where))
    return _scalar(kind, wire, value, where)


def _map_entry(kind: str, value: Any, where: str) -> tuple[str, Any]:
    entry = {n: (w, v) for n, w, v in _fields(value if isinstance(value, bytes) else b"")}
    key = _scalar("string", 2, entry.get(1, (2, b""))[1], where)
    wire, raw = entry.get(2, (2, b""))
    return key, _value(kind, wire, raw, f"{where}[{key}]")


def _shaped(message: str, obj: dict) -> Any:
    """Messages whose JSON is not an object of their fields."""
    if message == "IntOrString":
        return obj.get("strVal", "") if obj.get("type") == 1 else obj.get("intVal", 0)
    if message == "Quantity":
        return obj.get("string", "")
    if message == "Time":
        return None   # creation/deletion timestamps are the server's
    if message == "IngressRule":
        return {**{k: v for k, v in obj.items() if k != "http"}, **(obj.get("http") or {})}
    return obj


def _pruned(value: Any, name: str = "") -> Any:
    """Zero values dropped as omitempty drops them; None when nothing is left."""
    if isinstance(value, dict):
        out = {k: v for k, v in ((k, _pruned(v, k)) for k, v in value.items()) if v is not None}
        return out or None
    if isinstance(value, list):
        return [(_pruned(v) or {}) if isinstance(v, dict) else v for v in value] or None
    if value in ("", 0, False) and name not in KEEP_ZERO:
        return None
    return value


def decode(body: bytes) -> dict:
    """A protobuf-encoded object as the JSON object it stands for; ApiError 400/415 when it cannot be read."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "BadRequest", "a protobuf body must start with the magic bytes k8s\\0")
    envelope = _decode("Unknown", body[len(MAGIC):], "")
    type_meta = envelope.get("typeMeta") or {}
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    if envelope.get("contentEncoding"):
        raise _unsupported(f"content encoding {envelope['contentEncoding']!r}")
    message = TOP_LEVEL.get((api_version, kind))
    if message is None:
        raise _unsupported(f"a {kind or 'object'} of {api_version or 'no apiVersion'}")
    raw = base64.b64decode(envelope.get("raw", ""))
    obj = _pruned(_decode(message, raw, "")) or {}
    obj.pop("status", None)
    return {"apiVersion": api_version, "kind": kind, **obj}
