"""Stand-in for registry.k8s.io/ingress-nginx/kube-webhook-certgen, which ingress-nginx's deploy.yaml runs in
its two admission Jobs. It talks to the API as a pod does: https://$KUBERNETES_SERVICE_HOST with the
service account token and CA the kubelet mounted (netlab.compile.serviceaccount).

- ``create --host=h1,h2 --namespace=NS --secret-name=NAME [--cert-name=cert --key-name=key]``: when the
  Secret does not exist yet, makes a CA and a serving certificate for the hosts and stores the Secret with
  the keys `ca`, `cert` and `key` (PEM); an existing Secret is kept, as upstream does.
- ``patch --webhook-name=NAME --namespace=NS --secret-name=NAME [--patch-validating=true]
  [--patch-mutating=true] [--patch-failure-policy=Fail|Ignore]``: puts the Secret's CA into every webhook's
  ``clientConfig.caBundle`` of the ValidatingWebhookConfiguration (and MutatingWebhookConfiguration) NAME.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

from netlab.api import pki
from netlab.compile.serviceaccount import MOUNT_PATH
from netlab.images.agnhost import go_flags

ADMISSION = "admissionregistration.k8s.io/v1"


class Api:
    """The in-cluster client: KUBERNETES_SERVICE_HOST/PORT, the mounted token and CA."""

    def __init__(self, sa_dir: str = MOUNT_PATH) -> None:
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        self.base = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        with open(os.path.join(sa_dir, "token")) as f:
            self.token = f.read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(sa_dir, "ca.crt"))

    def call(self, method: str, path: str, body: dict | None = None) -> dict | None:
        """The decoded answer; None for 404."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise SystemExit(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}") from e


def _secret_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/secrets" + (f"/{name}" if name else "")


def create(api: Api, args: argparse.Namespace) -> None:
    if api.call("GET", _secret_path(args.namespace, args.secret_name)) is not None:
        print(f"secret {args.namespace}/{args.secret_name} already exists", flush=True)
        return
    hosts = [h.strip() for h in args.host.split(",") if h.strip()]
    if not hosts:
        raise SystemExit("--host is required")
    ca, ca_key = pki.make_ca("kube-webhook-certgen")
    cert, key = pki.issue(ca, ca_key, hosts[0], server=True, dns=hosts)
    data = {args.ca_name: pki.cert_pem(ca), args.cert_name: pki.cert_pem(cert), args.key_name: pki.key_pem(key)}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": args.secret_name, "namespace": args.namespace},
              "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}
    api.call("POST", _secret_path(args.namespace), secret)
    print(f"created secret {args.namespace}/{args.secret_name} for {', '.join(hosts)}", flush=True)


def _patch_webhooks(api: Api, kind_path: str, name: str, ca: str, failure_policy: str | None) -> None:
    path = f"/apis/{ADMISSION}/{kind_path}/{name}"
    obj = api.call("GET", path)
    if obj is None:
        raise SystemExit(f"{kind_path} {name} not found")
    for hook in obj.get("webhooks") or []:
        hook.setdefault("clientConfig", {})["caBundle"] = ca
        if failure_policy:
            hook["failurePolicy"] = failure_policy
    api.call("PUT", path, obj)
    print(f"patched {kind_path} {name}", flush=True)


def patch(api: Api, args: argparse.Namespace) -> None:
    secret = api.call("GET", _secret_path(args.namespace, args.secret_name))
    if secret is None or args.ca_name not in (secret.get("data") or {}):
        raise SystemExit(f"secret {args.namespace}/{args.secret_name} (with key {args.ca_name}) not found")
    ca = secret["data"][args.ca_name]
    if args.patch_validating:
        _patch_webhooks(api, "validatingwebhookconfigurations", args.webhook_name, ca, args.patch_failure_policy)
    if args.patch_mutating:
        _patch_webhooks(api, "mutatingwebhookconfigurations", args.webhook_name, ca, None)


def _bool(text: str) -> bool:
    return text.lower() in ("1", "t", "true", "yes")


def parser() -> argparse.ArgumentParser:
    """Upstream's flags (cobra: required ones are errors when missing; booleans bare or `=false`)."""
    p = argparse.ArgumentParser(prog="kube-webhook-certgen", description="netlab's stand-in for kube-webhook-certgen")
    p.add_argument("--log-level", default="info")
    p.add_argument("--log-format", default="text")
    p.add_argument("--kubeconfig", default=None, help="accepted; the stand-in always uses the pod's own credentials")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("create", "patch"):
        s = sub.add_parser(name)
        s.add_argument("--namespace", required=True)
        s.add_argument("--secret-name", required=True)
        s.set_defaults(ca_name="ca")
    cr = sub.choices["create"]
    cr.add_argument("--host", required=True)
    cr.add_argument("--cert-name", default="cert")
    cr.add_argument("--key-name", default="key")
    pa = sub.choices["patch"]
    pa.add_argument("--webhook-name", required=True)
    pa.add_argument("--patch-validating", type=_bool, nargs="?", const=True, default=True)
    pa.add_argument("--patch-mutating", type=_bool, nargs="?", const=True, default=True)
    pa.add_argument("--patch-failure-policy", choices=("Ignore", "Fail"), default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(go_flags(list(sys.argv[1:] if argv is None else argv)))
    (create if args.cmd == "create" else patch)(Api(), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
