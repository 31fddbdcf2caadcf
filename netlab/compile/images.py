"""What a container runs when its manifest names a well-known image: images are never pulled, so an
image netlab knows is played by host software (Debian's nginx) or a built-in stand-in (netlab.images.*),
and an unknown image without a command keeps netlab's echo server. Pure.

An image's entrypoint is kept when the manifest gives only `args` (as the kubelet does), so
`args: [netexec, --http-port=8080]` on agnhost runs the stand-in's netexec.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DOCKER_HUB = "docker.io"
# Images whose commands run with the host's binaries (they have no server of their own).
HOST_TOOL_IMAGES = {"library/busybox", "library/alpine", "curlimages/curl", "nicolaka/netshoot",
                    "library/ubuntu", "library/debian", "e2e-test-images/jessie-dnsutils",
                    "kubernetes-e2e-test-images/dnsutils"}
# nginx images: Debian's nginx plays them (nginx-slim is what the StatefulSet tutorial runs)
NGINX_IMAGES = {"library/nginx", "nginxinc/nginx-unprivileged", "nginx-slim", "google_containers/nginx-slim"}
HELLO_FRONTEND_UPSTREAM = "http://hello"  # hello-frontend's nginx proxies every request to the `hello` Service
ECHO_STYLE_PORTS = {  # echo-style images: netlab's echo server on the port the image listens on
    "registry.k8s.io/echoserver": 8080, "k8s.gcr.io/echoserver": 8080, "gcr.io/google_containers/echoserver": 8080,
    "docker.io/traefik/whoami": 80, "docker.io/ealen/echo-server": 80,
}
CERTGEN_IMAGES = {"registry.k8s.io/ingress-nginx/kube-webhook-certgen", "k8s.gcr.io/ingress-nginx/kube-webhook-certgen",
                  "docker.io/jettech/kube-webhook-certgen"}
NGINX_HTML = "/usr/share/nginx/html"
NGINX_CONF_D = "/etc/nginx/conf.d"


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference: registry/repository[:tag][@digest], normalised as docker does."""

    registry: str
    repository: str
    tag: str = "latest"
    digest: str = ""

    @property
    def name(self) -> str:
        """registry/repository, e.g. docker.io/library/nginx."""
        return f"{self.registry}/{self.repository}"


def parse_ref(ref: str) -> ImageRef:
    """Docker's reference grammar: the first path component is a registry when it has a dot or a port,
    or is `localhost`; Docker Hub names without a namespace are in `library/`."""
    rest, _, digest = ref.strip().partition("@")
    slash = rest.rfind("/")
    tag = ""
    if ":" in rest[slash + 1:]:
        rest, _, tag = rest.rpartition(":")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = DOCKER_HUB, rest
    if registry == "index.docker.io":
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    return ImageRef(registry, repository.lower(), tag or ("" if digest else "latest"), digest)


_VAR_REF = re.compile(r"\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)|\$\$")


def expand(arg: str, env: Mapping[str, str]) -> str:
    """The kubelet's `$(VAR)` expansion of command and args: a variable not set stays as written; `$$` is `$`."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR_REF.sub(sub, arg)


@dataclass
class Plan:
    """What to run: argv (None: netlab's echo server on echo_ports) and, when netlab stood in for an
    image it does not know, the note an event carries."""

    argv: list[str] | None
    echo_ports: list[tuple[int, str]] = field(default_factory=list)
    note: str = ""


def _builtin(module: str, args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", f"netlab.images.{module}", *args]


def _nginx(ref: ImageRef, args: list[str], mount_paths: set[str]) -> list[str]:
    if args and args[0] not in ("nginx", "nginx-debug"):
        return args  # the official image's entrypoint script runs any other command as given
    port = "8080" if ref.repository == "nginxinc/nginx-unprivileged" else "80"
    extra = ["--conf-d"] if NGINX_CONF_D in mount_paths else []
    return _builtin("nginx", ["--port", port, *extra])


def _host_tool(repo: str) -> bool:
    return repo in HOST_TOOL_IMAGES or repo.split("/", 1)[-1] in HOST_TOOL_IMAGES


def _echo_port(ref: ImageRef, args: list[str]) -> int:
    port = ECHO_STYLE_PORTS[ref.name]
    for i, a in enumerate(args):  # traefik/whoami's --port
        if a.startswith("--port="):
            port = int(a.split("=", 1)[1])
        elif a == "--port" and i + 1 < len(args):
            port = int(args[i + 1])
    return port


def plan(image: str, command: Sequence[str] | None, args: Sequence[str] | None,
         declared_ports: list[tuple[int, str]], mount_paths: set[str] | None = None) -> Plan:
    """What a container of `image` with this command/args runs. declared_ports: its containerPorts
    (what the echo server listens on for an unknown image)."""
    command, args = list(command or []), list(args or [])
    ref = parse_ref(image or "")
    if command:
        if ref.repository.endswith("e2e-test-images/agnhost") and command[0].rsplit("/", 1)[-1] == "agnhost":
            return Plan(_builtin("agnhost", command[1:] + args))
        return Plan(command + args)
    repo = ref.repository
    if repo in NGINX_IMAGES:
        return Plan(_nginx(ref, args, mount_paths or set()))
    if ref.name == "gcr.io/google-samples/hello-frontend":
        return Plan(_builtin("nginx", ["--port", "80", "--proxy", HELLO_FRONTEND_UPSTREAM]))
    if repo.endswith("e2e-test-images/agnhost"):
        return Plan(_builtin("agnhost", args))
    if ref.name == "gcr.io/google-samples/hello-app":
        return Plan(_builtin("hello", ["hello-app", "--version", ref.tag or "1.0", *args]))
    if ref.name == "gcr.io/google-samples/hello-go-gke":
        return Plan(_builtin("hello", ["hello-go-gke", *args]))
    if ref.name in CERTGEN_IMAGES:
        return Plan(_builtin("certgen", args))
    if ref.name == "docker.io/netlab/grpc-echo":  # GRPCRoute backends: a gRPC echo server
        port = declared_ports[0][0] if declared_ports else 3000
        return Plan(_builtin("grpc_echo", ["--port", str(port), *args]))
    if ref.name == "docker.io/hashicorp/http-echo":
        return Plan(_builtin("hello", ["http-echo", *args]))
    if ref.name in ECHO_STYLE_PORTS:
        try:
            return Plan(None, [(_echo_port(ref, args), "TCP")])
        except ValueError:
            pass
    if args:
        return Plan(args)  # an image netlab does not know: its args are the command (the host's binaries)
    note = "" if _host_tool(repo) else (
        f"image {image!r} is not known to netlab: its echo server stands in for it")
    return Plan(None, declared_ports or [(80, "TCP")], note)


def container_plan(container: dict) -> Plan:
    """plan() for a pod spec's container."""
    ports = [(p["containerPort"], p.get("protocol", "TCP")) for p in container.get("ports") or []]
    mounts = {str(m.get("mountPath", "")).rstrip("/") for m in container.get("volumeMounts") or []}
    return plan(container.get("image", ""), container.get("command"), container.get("args"), ports, mounts)
