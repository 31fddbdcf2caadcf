"""ingress-nginx's controller image is netlab's ingress controller, configured from the container's own flags."""

from __future__ import annotations

import base64

from netlab.api import pki
from netlab.compile import addons, images, ingress_controller
from netlab.compile.containerspec import container_specs
from netlab.compile.ingress_controller import ControllerArgs, parse_args
from netlab.compile.ingress_inputs import ingress_desired
from netlab.compile.workloads import PlacedPod

IMAGE = "registry.k8s.io/ingress-nginx/controller:v1.9.0@sha256:" + "a" * 64
UPSTREAM_ARGS = ["/nginx-ingress-controller", "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller",
                 "--election-id=ingress-nginx-leader", "--controller-class=example.com/ingress-nginx",
                 "--ingress-class", "internal", "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller",
                 "--validating-webhook=:8443", "--watch-ingress-without-class=true",
                 "--default-ssl-certificate=$(POD_NAMESPACE)/$(CERT)", "--enable-metrics=false"]
NGINX_ARGV = ("/usr/sbin/nginx", "-c", "/run/netlab/t/ingress/nginx.conf", "-p", "/run/netlab/t/ingress",
              "-e", "stderr")


def _controller_pod(args: list[str], command: list[str] | None = None, **extra) -> PlacedPod:
    container = {"name": "controller", "image": IMAGE, "args": args,
                 "env": [{"name": "CERT", "value": "wildcard"}],
                 "securityContext": {"runAsUser": 101, "runAsNonRoot": True}, **extra}
    if command:
        container["command"] = command
    return PlacedPod("edge", "ingress-nginx-controller-abc", "w", "10.244.1.5", "uid-1", 0.0, {}, {
        "containers": [container], "securityContext": {"fsGroup": 101}})


def test_flags_are_read_as_the_controller_reads_them_with_the_kubelets_var_expansion():
    pod = _controller_pod(UPSTREAM_ARGS)
    args = ingress_controller.pod_args(pod.namespace, pod.name, pod.spec)
    assert args == ControllerArgs(ingress_class="internal", controller_class="example.com/ingress-nginx",
                                  watch_without_class=True, publish_service="edge/ingress-nginx-controller",
                                  default_ssl_certificate="edge/wildcard")
    assert parse_args([]) == ControllerArgs()
    assert parse_args(["--watch-ingress-without-class", "--healthz-port", "9999"]) == ControllerArgs(
        watch_without_class=True, healthz_port=9999)
    assert images.expand("$(UNSET)/$$(X)/$(A)", {"A": "a"}) == "$(UNSET)/$(X)/a"


def test_only_the_images_own_entrypoint_or_the_addons_nginx_is_a_controller():
    assert ingress_controller.runs_nginx(_controller_pod([]).spec)
    assert not ingress_controller.runs_nginx(_controller_pod([], command=["sleep", "10"]).spec)
    addon = addons.ingress_objects(list(NGINX_ARGV))[2]["spec"]["template"]["spec"]
    assert ingress_controller.runs_nginx(addon)
    assert not ingress_controller.runs_nginx({"containers": [{"name": "c", "image": "nginx"}]})


def test_a_users_controller_keeps_the_addon_out():
    ing = {"kind": "Ingress", "metadata": {"name": "a", "namespace": "default"}, "spec": {"ingressClassName": "nginx"}}
    deploy = {"kind": "Deployment", "metadata": {"name": "c", "namespace": "x"},
              "spec": {"template": {"spec": {"containers": [{"name": "controller", "image": IMAGE}]}}}}
    assert addons.ingress_wanted([ing], enabled=False)
    assert not addons.ingress_wanted([ing, deploy], enabled=False)
    assert not addons.ingress_wanted([deploy], enabled=True)


def test_the_container_runs_netlabs_nginx_with_its_directory_bound_in_and_as_root():
    pod = _controller_pod(UPSTREAM_ARGS, volumeMounts=[])
    [spec] = container_specs(pod, "172.18.0.3", {}, {}, ingress_argv=NGINX_ARGV)
    assert spec.argv == list(NGINX_ARGV)
    assert ["/run/netlab/t/ingress", "/run/netlab/t/ingress", False, True] in [list(m) for m in spec.security["mounts"]]
    assert spec.security["uid"] == 0


def _tls_secret(ns: str, name: str, host: str) -> dict:
    ca, ca_key = pki.make_ca("test-ca")
    cert, key = pki.issue(ca, ca_key, host, server=True, dns=[host])
    return {"kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(pki.cert_pem(cert)).decode(),
                     "tls.key": base64.b64encode(pki.key_pem(key)).decode()}}


def _ing(name: str, cls: str | None) -> dict:
    spec: dict = {"rules": [{"host": f"{name}.example", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
    if cls:
        spec["ingressClassName"] = cls
    return {"kind": "Ingress", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def test_classes_classless_default_certificate_and_healthz_follow_the_flags(tmp_path):
    objects = [_ing("mine", "internal"), _ing("theirs", "nginx"), _ing("classless", None),
               {"kind": "IngressClass", "metadata": {"name": "byclass"}, "spec": {"controller": "example.com/x"}},
               _ing("byclass", "byclass"), _tls_secret("edge", "wildcard", "*.example")]
    args = ControllerArgs(ingress_class="internal", controller_class="example.com/x", watch_without_class=True,
                          default_ssl_certificate="edge/wildcard", publish_service="edge/lb")
    got = ingress_desired(objects, {}, str(tmp_path), ("/fake.crt", "/fake.key"), args)
    conf = got.rendered.nginx_conf
    assert "mine.example" in conf and "classless.example" in conf and "byclass.example" in conf
    assert "theirs.example" not in conf
    assert f"{tmp_path}/certs/@default_edge_wildcard.crt" in conf and "/fake.crt" not in conf
    assert f"{tmp_path}/certs/@default_edge_wildcard.key" in got.rendered.files
    assert "listen 10254;" in conf and "location = /healthz" in conf
    assert got.publish_service == "edge/lb"
    assert got.served == {"default/mine", "default/classless", "default/byclass"}  # their status gets the address
    strict = ingress_desired(objects, {}, str(tmp_path), ("/fake.crt", "/fake.key"),
                             ControllerArgs(ingress_class="internal", controller_class="example.com/x"))
    assert "classless.example" not in strict.rendered.nginx_conf and "/fake.crt" in strict.rendered.nginx_conf
