"""Image references and what netlab runs for well-known images (netlab.compile.images), the stand-ins'
own pure parts, and the StandIn event for unknown images."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

import pytest

from netlab.compile.containerspec import container_specs
from netlab.compile.images import ImageRef, container_plan, parse_ref, plan
from netlab.compile.workloads import PlacedPod
from netlab.images import agnhost, nginx
from netlab.images.hello import _listen_port
from netlab.runtime.events import kubelet_events

PY = [sys.executable, "-m"]


@pytest.mark.parametrize(("ref", "want"), [
    ("nginx", ImageRef("docker.io", "library/nginx", "latest")),
    ("nginx:1.25-alpine", ImageRef("docker.io", "library/nginx", "1.25-alpine")),
    ("docker.io/library/nginx:1.25", ImageRef("docker.io", "library/nginx", "1.25")),
    ("index.docker.io/nginx", ImageRef("docker.io", "library/nginx", "latest")),
    ("nginxinc/nginx-unprivileged:stable", ImageRef("docker.io", "nginxinc/nginx-unprivileged", "stable")),
    ("registry.k8s.io/e2e-test-images/agnhost:2.47",
     ImageRef("registry.k8s.io", "e2e-test-images/agnhost", "2.47")),
    ("localhost:5000/app:v1", ImageRef("localhost:5000", "app", "v1")),
    ("localhost/app", ImageRef("localhost", "app", "latest")),
    ("nginx@sha256:abc", ImageRef("docker.io", "library/nginx", "", "sha256:abc")),
    ("gcr.io/google-samples/hello-app:2.0@sha256:ff",
     ImageRef("gcr.io", "google-samples/hello-app", "2.0", "sha256:ff")),
])
def test_parse_ref(ref: str, want: ImageRef) -> None:
    assert parse_ref(ref) == want


@pytest.mark.parametrize("image", ["nginx", "nginx:1.27", "docker.io/library/nginx:latest",
                                   "nginx@sha256:0123"])
def test_nginx_serves_on_80(image: str) -> None:
    assert plan(image, None, None, [(80, "TCP")]).argv == [*PY, "netlab.images.nginx", "--port", "80"]


def test_nginx_variants() -> None:
    assert plan("nginxinc/nginx-unprivileged:1.25", None, None, []).argv[-2:] == ["--port", "8080"]
    c = {"image": "nginx", "volumeMounts": [{"name": "conf", "mountPath": "/etc/nginx/conf.d/"}]}
    assert container_plan(c).argv[-1] == "--conf-d"
    assert plan("nginx", None, ["nginx", "-g", "daemon off;"], []).argv[2] == "netlab.images.nginx"
    assert plan("nginx", None, ["sh", "-c", "sleep 1"], []).argv == ["sh", "-c", "sleep 1"]
    assert plan("nginx", ["sleep", "5"], None, []).argv == ["sleep", "5"]


def test_agnhost() -> None:
    img = "registry.k8s.io/e2e-test-images/agnhost:2.47"
    assert plan(img, None, ["netexec", "--http-port=8080"], []).argv == [
        *PY, "netlab.images.agnhost", "netexec", "--http-port=8080"]
    assert plan(img, ["/agnhost", "serve-hostname"], ["--port", "9000"], []).argv == [
        *PY, "netlab.images.agnhost", "serve-hostname", "--port", "9000"]
    assert plan("k8s.gcr.io/e2e-test-images/agnhost:2.40", None, ["pause"], []).argv[-1] == "pause"
    assert plan(img, ["sh", "-c", "true"], None, []).argv == ["sh", "-c", "true"]


def test_demo_images() -> None:
    hello = plan("gcr.io/google-samples/hello-app:2.0", None, None, [(8080, "TCP")])
    assert hello.argv == [*PY, "netlab.images.hello", "hello-app", "--version", "2.0"] and not hello.note
    assert plan("gcr.io/google-samples/hello-go-gke:1.0", None, None, []).argv[-1] == "hello-go-gke"
    assert plan("hashicorp/http-echo", None, ["-text=hi"], []).argv[-2:] == ["http-echo", "-text=hi"]


@pytest.mark.parametrize(("image", "args", "port"), [
    ("registry.k8s.io/echoserver:1.10", None, 8080), ("k8s.gcr.io/echoserver:1.4", None, 8080),
    ("traefik/whoami", None, 80), ("traefik/whoami:v1.10", ["--port", "8000"], 8000),
    ("traefik/whoami", ["--port=9000"], 9000), ("ealen/echo-server:latest", None, 80),
])
def test_echo_style_images(image: str, args: list[str] | None, port: int) -> None:
    p = plan(image, None, args, [(1234, "TCP")])
    assert (p.argv, p.echo_ports, p.note) == (None, [(port, "TCP")], "")


def test_host_tool_and_unknown_images() -> None:
    assert plan("busybox:1.36", ["sleep", "3600"], None, []).argv == ["sleep", "3600"]
    busy = plan("busybox", None, None, [])
    assert (busy.argv, busy.echo_ports, busy.note) == (None, [(80, "TCP")], "")
    unknown = plan("example.com/team/app:3", None, None, [(3000, "TCP"), (53, "UDP")])
    assert unknown.argv is None and unknown.echo_ports == [(3000, "TCP"), (53, "UDP")]
    assert "example.com/team/app:3" in unknown.note
    assert plan("example.com/team/app", None, ["python3", "-V"], []).argv == ["python3", "-V"]


def test_container_specs_use_the_plan() -> None:
    spec = {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]},
                           {"name": "side", "image": "myapp", "ports": [{"containerPort": 9000}]}]}
    web, side = container_specs(PlacedPod("ns", "p", "n1", "10.244.1.5", "u", 0.0, {}, spec), "192.168.0.2")
    assert web.argv[2] == "netlab.images.nginx" and web.echo_ports == []
    assert side.argv is None and side.echo_ports == [(9000, "TCP")]


def test_stand_in_event_on_start_only() -> None:
    events = kubelet_events("Started", "app", "", "myapp", "ns_p", "image 'myapp' is not known")
    assert events[-1] == ("StandIn", "image 'myapp' is not known")
    assert len(kubelet_events("Started", "app", "", "nginx", "ns_p", "")) == 3


def test_nginx_config_is_private() -> None:
    conf = nginx.config("/tmp/nginx-x", 8080, conf_d=False, as_root=False)
    assert "pid /tmp/nginx-x/nginx.pid;" in conf and "listen 8080 default_server;" in conf
    assert "root /usr/share/nginx/html;" in conf and "user " not in conf
    assert "client_body_temp_path /tmp/nginx-x/client_body;" in conf
    with_conf_d = nginx.config("/tmp/n", 80, conf_d=True, as_root=True)
    assert "include /etc/nginx/conf.d/*.conf;" in with_conf_d and "server {" not in with_conf_d
    assert with_conf_d.startswith("user nobody nogroup;")
    assert "/etc/nginx/nginx.conf" not in conf + with_conf_d


def test_http_echo_listen() -> None:
    assert [_listen_port(x) for x in (":5678", "0.0.0.0:8080", "9000")] == [5678, 8080, 9000]


def _serve(routes: dict) -> tuple[str, object]:
    srv = agnhost.http_server(0, routes, bind="127.0.0.1")
    agnhost.start(srv)
    return f"http://127.0.0.1:{srv.server_address[1]}", srv


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_netexec_paths_on_loopback() -> None:
    base, srv = _serve(agnhost.netexec_routes("pod-a"))
    try:
        assert _get(base + "/hostname") == (200, "pod-a")
        code, client = _get(base + "/clientip")
        assert code == 200 and client.startswith("127.0.0.1:")
        assert _get(base + "/echo?msg=hello%20there") == (200, "hello there")
        assert _get(base + "/nope")[0] == 404
    finally:
        srv.shutdown()
        srv.server_close()


def test_liveness_turns_unhealthy() -> None:
    now = [100.0]
    base, srv = _serve({"/healthz": agnhost.liveness_route(healthy_for=10, clock=lambda: now[0])})
    try:
        now[0] = 109.9
        assert _get(base + "/healthz") == (200, "ok")
        now[0] = 110.5
        code, body = _get(base + "/healthz")
        assert code == 500 and body.startswith("error: ")
    finally:
        srv.shutdown()
        srv.server_close()


def test_more_nginx_family_images() -> None:
    assert plan("registry.k8s.io/nginx-slim:0.8", None, None, []).argv[2:] == ["netlab.images.nginx", "--port", "80"]
    front = plan("gcr.io/google-samples/hello-frontend:1.0", None, None, [])
    assert front.argv[-2:] == ["--proxy", "http://hello"]
    assert "proxy_pass http://hello;" in nginx.config("/tmp/n", 80, False, False, proxy="http://hello")
    dns = plan("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3", None, None, [])
    assert dns.argv is None and dns.note == ""


def test_go_flags() -> None:
    assert agnhost.go_flags(["-text=hi", "--port", "9", "-", "-x"]) == ["--text=hi", "--port", "9", "-", "-x"]
    args, _ = agnhost.parser().parse_known_args(agnhost.go_flags(["netexec", "-http-port=9000"]))
    assert (args.cmd, args.http_port, args.udp_port) == ("netexec", 9000, 8081)
    sh, _ = agnhost.parser().parse_known_args(["serve-hostname", "--udp", "--port=9377"])
    assert (sh.port, agnhost._flag(sh.udp), agnhost._flag(sh.http)) == (9377, True, True)
