"""Pods get a service account token the API accepts; $(VAR) in command/args; the certgen image's stand-in."""

from __future__ import annotations

import base64

from netlab.compile import serviceaccount
from netlab.compile.containerspec import container_specs
from netlab.compile.images import plan
from netlab.compile.serviceaccount import MOUNT_PATH, TokenIssuer
from netlab.compile.workloads import PlacedPod
from netlab.images.certgen import parser

ISSUER = TokenIssuer(b"k" * 32, b"-----BEGIN CERTIFICATE-----\n")


def _pod(spec: dict, ns: str = "team") -> PlacedPod:
    return PlacedPod(ns, "p", "w", "10.244.1.2", "uid-p", 0.0, {}, spec)


def test_tokens_name_the_service_account_and_only_the_key_verifies_them():
    token = serviceaccount.issue(ISSUER.key, "team", "robot")
    assert serviceaccount.verify(ISSUER.key, token) == "system:serviceaccount:team:robot"
    assert serviceaccount.verify(b"x" * 32, token) is None
    header, payload, sig = token.split(".")
    forged = serviceaccount.issue(b"x" * 32, "team", "admin").split(".")[1]
    assert serviceaccount.verify(ISSUER.key, f"{header}.{forged}.{sig}") is None
    assert serviceaccount.verify(ISSUER.key, "not-a-token") is None


def test_each_container_gets_token_ca_and_namespace_unless_automount_is_off():
    spec = {"serviceAccountName": "robot", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}
    [c] = container_specs(_pod(spec), "172.18.0.2", {}, {}, sa_issuer=ISSUER)
    [vol] = [v for v in c.volumes if v["mountPath"] == MOUNT_PATH]
    files = {k: base64.b64decode(v["data"]) for k, v in vol["files"].items()}
    assert files["namespace"] == b"team" and files["ca.crt"] == ISSUER.ca_pem
    assert serviceaccount.verify(ISSUER.key, files["token"].decode()) == "system:serviceaccount:team:robot"
    assert vol["readOnly"]
    off = {**spec, "automountServiceAccountToken": False}
    assert not container_specs(_pod(off), "172.18.0.2", {}, {}, sa_issuer=ISSUER)[0].volumes
    sa_off = {"ServiceAccount/team/robot": {"kind": "ServiceAccount", "automountServiceAccountToken": False}}
    assert not container_specs(_pod(spec), "172.18.0.2", {}, sa_off, sa_issuer=ISSUER)[0].volumes
    assert container_specs(_pod({**spec, "automountServiceAccountToken": True}), "172.18.0.2", {}, sa_off,
                           sa_issuer=ISSUER)[0].volumes
    assert not container_specs(_pod(spec), "172.18.0.2", {}, {})[0].volumes  # no issuer (no API yet): no token


def test_command_and_args_expand_var_references_from_the_containers_env():
    spec = {"containers": [{"name": "c", "image": "busybox", "command": ["echo", "$(POD_NAMESPACE)/$(GREETING)"],
                            "args": ["$(UNSET)", "$$(POD_NAME)"], "env": [{"name": "GREETING", "value": "hi"}]}]}
    [c] = container_specs(_pod(spec), "172.18.0.2")
    assert c.argv == ["echo", "team/hi", "$(UNSET)", "$(POD_NAME)"]


def test_certgen_image_runs_the_stand_in_with_upstreams_flags():
    args = ["create", "--host=a,a.ns.svc", "--namespace=ns", "--secret-name=s"]
    got = plan("registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4.0@sha256:" + "b" * 64, None, args, [])
    assert got.argv[-5:] == ["netlab.images.certgen", *args]
    parsed = parser().parse_args(["patch", "--webhook-name=w", "--namespace=ns", "--patch-mutating=false",
                                  "--secret-name=s", "--patch-failure-policy=Fail"])
    assert (parsed.patch_mutating, parsed.patch_validating, parsed.ca_name) == (False, True, "ca")
