"""The objects netlab's gateway controller adds to the cluster: the GatewayClass `netlab`, which exists
by default (an add-on object: a user's GatewayClass of the same name stays as written)."""

from __future__ import annotations

from netlab.compile.addons import ADDON_LABEL
from netlab.model.gateway import GROUP

CLASS_NAME = "netlab"
CONTROLLER_NAME = "netlab.dev/gateway-controller"


def gateway_class() -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "GatewayClass",
            "metadata": {"name": CLASS_NAME, "labels": {ADDON_LABEL: "Reconcile"}},
            "spec": {"controllerName": CONTROLLER_NAME,
                     "description": "netlab's Gateways: Debian nginx in proxy pods behind a LoadBalancer Service"}}


GATEWAY_LABEL = "gateway.networking.k8s.io/gateway-name"
NGINX = "/usr/sbin/nginx"


def proxy_name(gateway: str) -> str:
    """The Deployment and Service of a Gateway's proxy (NGINX Gateway Fabric's naming: <gateway>-nginx)."""
    return f"{gateway}-nginx"


def gateway_dir(root: str, namespace: str, name: str) -> str:
    """Where a Gateway's nginx keeps its configuration, pid and temp files ('_' cannot occur in names)."""
    return f"{root}/{namespace}_{name}"


def proxy_objects(gateways: list[dict], classes: frozenset[str], root: str) -> list[dict]:
    """For each Gateway of a netlab class: a Deployment of nginx proxy pods in its namespace, labelled with
    the Gateway's name, and a LoadBalancer Service with a port per listener port (its address becomes the
    Gateway's status.addresses)."""
    out = []
    for gw in gateways:
        spec, meta = gw.get("spec") or {}, gw["metadata"]
        if spec.get("gatewayClassName") not in classes:
            continue
        ns, name = meta.get("namespace") or "default", meta["name"]
        ports = sorted({li["port"] for li in spec.get("listeners") or [] if li.get("protocol") == "HTTP"
                        or (li.get("protocol") == "HTTPS" and (li.get("tls") or {}).get("mode") == "Terminate")})
        if not ports:
            continue
        directory = gateway_dir(root, ns, name)
        labels = {GATEWAY_LABEL: name}
        owner = {ADDON_LABEL: "Reconcile", **labels}
        container = {
            "name": "nginx", "image": "netlab/gateway-nginx (Debian nginx)",
            "command": [NGINX, "-c", f"{directory}/nginx.conf", "-p", directory, "-e", "stderr"],
            "ports": [{"name": f"port-{p}", "containerPort": p} for p in ports],
            "readinessProbe": {"tcpSocket": {"port": ports[0]}, "periodSeconds": 1, "failureThreshold": 3},
            "volumeMounts": [{"name": "nginx", "mountPath": directory}],
        }
        out += [
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": proxy_name(name), "namespace": ns, "labels": owner},
             "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)},
                      "template": {"metadata": {"labels": dict(labels)},
                                   "spec": {"containers": [container],
                                            "volumes": [{"name": "nginx", "hostPath": {
                                                "path": directory, "type": "DirectoryOrCreate"}}]}}}},
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": proxy_name(name), "namespace": ns, "labels": owner},
             # PreferDualStack: an IPv4 and an IPv6 address in a dual-stack cluster
             "spec": {"type": "LoadBalancer", "ipFamilyPolicy": "PreferDualStack", "selector": dict(labels),
                      "ports": [{"name": f"port-{p}", "port": p, "targetPort": p} for p in ports]}},
        ]
    return out
