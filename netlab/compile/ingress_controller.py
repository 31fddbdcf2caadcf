"""ingress-nginx's controller image, played by netlab: a container of `registry.k8s.io/ingress-nginx/controller`
(any tag or digest) is netlab's ingress controller, configured from the container's own args as the real
controller reads its flags. Pure.

Flags honoured (`--flag=value` or `--flag value`, `$(VAR)` expanded from the container's env as the kubelet
does): `--ingress-class` (default `nginx`: the legacy annotation's value and the name served without an
IngressClass object), `--controller-class` (default `k8s.io/ingress-nginx`: IngressClasses whose
spec.controller matches are served), `--watch-ingress-without-class`, `--publish-service` (namespace/name:
Ingress status.loadBalancer from that Service's address), `--default-ssl-certificate` (namespace/name of a
TLS Secret), `--healthz-port` (10254), `--http-port`/`--https-port` (80/443). Every other flag
(`--election-id`, `--configmap`, `--validating-webhook*`, ...) is accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netlab.compile.images import expand, parse_ref

CONTROLLER_IMAGE = "registry.k8s.io/ingress-nginx/controller"
DEFAULT_CONTROLLER_CLASS = "k8s.io/ingress-nginx"
DEFAULT_INGRESS_CLASS = "nginx"
HEALTHZ_PORT = 10254
_TRUE = ("", "true", "1", "t", "yes")


@dataclass(frozen=True)
class ControllerArgs:
    """The controller's configuration, as its flags give it."""

    ingress_class: str = DEFAULT_INGRESS_CLASS
    controller_class: str = DEFAULT_CONTROLLER_CLASS
    watch_without_class: bool = False
    publish_service: str | None = None  # "namespace/name"
    default_ssl_certificate: str | None = None  # "namespace/name"
    healthz_port: int = HEALTHZ_PORT
    http_port: int = 80
    https_port: int = 443


def _flags(args: Iterable[str]) -> dict[str, str]:
    """`--name=value`, `--name value` and bare boolean `--name` (pflag's grammar, for the flags we read)."""
    out: dict[str, str] = {}
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        i += 1
        if not arg.startswith("-"):
            continue  # /nginx-ingress-controller, the entrypoint's own path
        name, eq, value = arg.lstrip("-").partition("=")
        if not eq and name in _VALUED and i < len(items) and not items[i].startswith("-"):
            value = items[i]
            i += 1
        out[name] = value
    return out


# flags that take a value (pflag lets `--flag value` stand for `--flag=value` only for those, not for booleans)
_VALUED = {"ingress-class", "controller-class", "publish-service", "default-ssl-certificate", "healthz-port",
           "http-port", "https-port", "election-id", "configmap", "validating-webhook",
           "validating-webhook-certificate", "validating-webhook-key", "tcp-services-configmap",
           "udp-services-configmap", "watch-namespace", "default-backend-service", "v"}


def parse_args(args: Iterable[str], env: Mapping[str, str] | None = None) -> ControllerArgs:
    """The controller's configuration from its container args (after `$(VAR)` expansion from env)."""
    flags = _flags(expand(a, env or {}) for a in args)

    def port(name: str, default: int) -> int:
        try:
            return int(flags.get(name, default))
        except ValueError:
            return default

    return ControllerArgs(
        ingress_class=flags.get("ingress-class") or DEFAULT_INGRESS_CLASS,
        controller_class=flags.get("controller-class") or DEFAULT_CONTROLLER_CLASS,
        watch_without_class=flags.get("watch-ingress-without-class", "false").lower() in _TRUE,
        publish_service=flags.get("publish-service") or None,
        default_ssl_certificate=flags.get("default-ssl-certificate") or None,
        healthz_port=port("healthz-port", HEALTHZ_PORT), http_port=port("http-port", 80),
        https_port=port("https-port", 443),
    )


def is_controller(container: Mapping) -> bool:
    """A container of ingress-nginx's controller image that keeps the image's own entrypoint."""
    return not container.get("command") and parse_ref(str(container.get("image") or "")).name == CONTROLLER_IMAGE


def controller_container(pod_spec: Mapping) -> Mapping | None:
    return next((c for c in pod_spec.get("containers") or [] if is_controller(c)), None)


def runs_nginx(pod_spec: Mapping) -> bool:
    """Whether the pod is an ingress controller netlab feeds: the image's entrypoint, or the built-in add-on's
    own nginx command."""
    for c in pod_spec.get("containers") or []:
        command = c.get("command") or []
        if is_controller(c) or (command and command[0].endswith("/nginx")
                                and str(c.get("image") or "").startswith(CONTROLLER_IMAGE)):
            return True
    return False


def template_specs(obj: Mapping) -> Mapping | None:
    """The pod spec an object runs: a Pod's own, a workload's template's."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return spec
    if obj.get("kind") in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController"):
        return (spec.get("template") or {}).get("spec") or {}
    return None


def user_controller_exists(objects: Iterable[Mapping]) -> bool:
    """Whether an object the user applied runs ingress-nginx's controller image (then the add-on stays out)."""
    for o in objects:
        pod_spec = template_specs(o)
        if pod_spec is not None and controller_container(pod_spec) is not None:
            return True
    return False


def pod_args(namespace: str, name: str, pod_spec: Mapping) -> ControllerArgs | None:
    """The flags of the pod's controller container: None for the built-in add-on's pod (its own defaults)."""
    c = controller_container(pod_spec)
    if c is None:
        return None
    env = {"POD_NAME": name, "POD_NAMESPACE": namespace}
    env.update({str(v.get("name")): str(v["value"]) for v in c.get("env") or [] if "value" in v})
    return parse_args([str(a) for a in c.get("args") or []], env)


def find_controller(pods: Iterable) -> tuple[object, ControllerArgs | None] | None:
    """The ingress controller pod netlab's nginx configuration is for (the first by key) and its flags."""
    for pod in sorted((p for p in pods if runs_nginx(p.spec)), key=lambda p: p.key):
        return pod, pod_args(pod.namespace, pod.name, pod.spec)
    return None
