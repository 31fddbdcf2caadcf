"""Objects netlab runs for the cluster itself, as kind and kubeadm do: cluster DNS (kube-dns).

They are ordinary objects (a Deployment and a Service in kube-system), so `netlab get pods -n
kube-system` shows them and the same data paths serve them.

An add-on object is created only where the user has no object of that kind and name: an object the
user applied (an IngressClass `nginx` marked default, a Namespace `ingress-nginx` with labels of its
own, ...) stays exactly as written, as with the addon manager's `EnsureExists` mode. The add-on's own
objects carry `addonmanager.kubernetes.io/mode: Reconcile` and are put back as netlab defines them,
as the addon manager does with that mode.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Mapping

from netlab.compile.config import ClusterConfig
from netlab.compile.ingress_controller import user_controller_exists
from netlab.compile.nginx_ingress import ingress_class_of

ADDON_LABEL = "addonmanager.kubernetes.io/mode"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
NGINX_CONTROLLER = "k8s.io/ingress-nginx"
DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}


def dns_objects(config: ClusterConfig, python: str, view_path: str) -> list[dict]:
    meta_labels = {**DNS_LABELS, ADDON_LABEL: "Reconcile"}
    container = {
        "name": "coredns",
        "image": "netlab/dns:1.0",
        # IPv6 when kube-dns's ClusterIP is (the primary family's); asyncio's IPv6 sockets are IPv6-only
        "command": [python, "-m", "netlab.runtime.dns", "--view", view_path, "--listen",
                    "::" if config.ip_families[0] == "IPv6" else "0.0.0.0", "--port", "53"],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
        ],
        "readinessProbe": {"tcpSocket": {"port": 53}, "periodSeconds": 1, "timeoutSeconds": 1,
                           "successThreshold": 1, "failureThreshold": 3},
        # the pod's mount namespace hides netlab's run directory; the view comes in as CoreDNS's Corefile does
        "volumeMounts": [{"name": "view", "mountPath": os.path.dirname(view_path), "readOnly": True}],
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": meta_labels},
        "spec": {
            "replicas": config.dns_replicas,
            "selector": {"matchLabels": dict(DNS_LABELS)},
            "template": {
                "metadata": {"labels": dict(DNS_LABELS)},
                "spec": {
                    "containers": [container],
                    "volumes": [{"name": "view", "hostPath": {"path": os.path.dirname(view_path),
                                                              "type": "DirectoryOrCreate"}}],
                    "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": meta_labels},
        "spec": {
            "clusterIP": config.dns_ip,
            "selector": dict(DNS_LABELS),
            "ports": [
                {"name": "dns", "port": 53, "targetPort": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 53, "targetPort": 53, "protocol": "TCP"},
            ],
        },
    }
    return [deployment, service]


API_SERVICE_LABELS = {"component": "apiserver", "provider": "kubernetes"}


def api_service_ip(config: ClusterConfig) -> str:
    """The `kubernetes` Service's ClusterIP: the first address of the (primary) service CIDR, as
    kube-apiserver takes."""
    return str(ipaddress.ip_network(config.primary_service_subnet).network_address + 1)


def kubernetes_objects(config: ClusterConfig, host_ip: str, port: int) -> list[dict]:
    """The `kubernetes` Service in `default` (port 443 https) and its manually kept Endpoints at the API as
    pods reach it (the host's underlay address), as kube-apiserver's endpoint reconciler writes them."""
    labels = {**API_SERVICE_LABELS, ADDON_LABEL: "Reconcile"}
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": labels},
        "spec": {"clusterIP": api_service_ip(config), "type": "ClusterIP", "sessionAffinity": "None",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
    }
    endpoints = {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {ADDON_LABEL: "Reconcile"}},
        "subsets": [{"addresses": [{"ip": host_ip}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
    }
    return [service, endpoints]


def relay_view(upstreams: list[str]) -> dict:
    """A forward-only view for the DNS relay on the host side of the underlay: pods cannot reach the
    host's resolvers (often on loopback), the relay in the host namespace can."""
    return {"domain": "relay.netlab.invalid", "ttl": 30, "upstreams": upstreams, "reverseCIDRs": [],
            "namespaces": [], "services": [], "pods": []}


def dns_view(config: ClusterConfig, services: list, pods: list, namespaces: list[str],
             upstreams: list[str]) -> dict:
    """The view the DNS server answers from (see netlab/compile/dnszone.py)."""
    return {
        "domain": config.cluster_domain,
        "ttl": config.dns_ttl,
        "upstreams": upstreams,
        "reverseCIDRs": [c for c in (config.service_subnet, config.pod_subnet, config.pod_subnet6,
                                      config.service_subnet6) if c],
        "namespaces": sorted(namespaces),
        "services": [
            {
                "name": s.name, "namespace": s.namespace, "type": s.type,
                "clusterIPs": s.cluster_ips(),
                "headless": not s.cluster_ips() and s.type != "ExternalName",
                "externalName": s.external_name,
                "publishNotReadyAddresses": s.publish_not_ready,
                "ports": [{"name": p.name, "port": p.port, "protocol": p.protocol} for p in s.ports],
                "endpoints": [{"ip": ip, "hostname": e.hostname, "ready": e.ready, "podName": e.pod}
                              for family in s.ip_families for e in s.endpoints for ip in e.addresses(family)],
            }
            for s in sorted(services, key=lambda s: s.key)
        ],
        "pods": [
            {"name": p.name, "namespace": p.namespace, "ip": p.ip or p.ip6, "hostname": p.spec.get("hostname"),
             "subdomain": p.spec.get("subdomain")}
            for p in sorted(pods, key=lambda p: p.key)
        ],
    }


INGRESS_NAMESPACE = "ingress-nginx"
INGRESS_LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
INGRESS_CLASS = "nginx"


def is_addon(obj: Mapping) -> bool:
    """Made by netlab for the cluster (and reconciled by it), not applied by the user."""
    return ((obj.get("metadata") or {}).get("labels") or {}).get(ADDON_LABEL) == "Reconcile"


def merge_addons(objects: Mapping[str, dict], wanted: Iterable[dict],
                 key: Callable[[dict], str]) -> tuple[dict[str, dict], list[tuple[str, dict]]]:
    """(the user's objects, the wanted add-on objects to store next to them, by key).

    Add-on objects no longer wanted are dropped; a wanted one is skipped where the user has an object
    with the same key, which stays as the user wrote it."""
    users = {k: o for k, o in objects.items() if not is_addon(o)}
    return users, [(key(o), o) for o in wanted if key(o) not in users]


def default_ingress_class(objects: Iterable[Mapping]) -> Mapping | None:
    """The IngressClass annotated `ingressclass.kubernetes.io/is-default-class: "true"`, which serves
    every Ingress that names no class. Kubernetes only defaults to a single such class (with several,
    its admission refuses class-less Ingresses), so with none or several the answer is None."""
    defaults = [o for o in objects if o.get("kind") == "IngressClass"
                and ((o.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
    return defaults[0] if len(defaults) == 1 else None


LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def default_ingress_class_names(current: Mapping[str, dict], objects: list[dict]) -> list[dict]:
    """The DefaultIngressClass admission plugin: an Ingress created without a class (no ingressClassName, no
    legacy annotation) gets the default IngressClass's name, from the store or the same batch."""
    default = default_ingress_class([*current.values(), *(o for o in objects if o.get("kind") == "IngressClass")])
    if default is None:
        return objects
    name = default["metadata"]["name"]
    out = []
    for o in objects:
        meta = o.get("metadata") or {}
        key = f"Ingress/{meta.get('namespace') or 'default'}/{meta.get('name')}"
        if (o.get("kind") == "Ingress" and key not in current and not (o.get("spec") or {}).get("ingressClassName")
                and LEGACY_CLASS_ANNOTATION not in (meta.get("annotations") or {})):
            o = {**o, "spec": {**(o.get("spec") or {}), "ingressClassName": name}}
        out.append(o)
    return out


def nginx_classes(objects: Iterable[Mapping], controller: str = NGINX_CONTROLLER,
                  ingress_class: str = INGRESS_CLASS) -> frozenset[str]:
    """The class names an ingress-nginx controller serves: every IngressClass whose spec.controller is its
    `--controller-class`, and its `--ingress-class` name (the legacy annotation's value; the add-on's `nginx`)
    unless an IngressClass of that name names another controller."""
    controllers = {(o.get("metadata") or {}).get("name"): (o.get("spec") or {}).get("controller")
                   for o in objects if o.get("kind") == "IngressClass"}
    names = {name for name, c in controllers.items() if c == controller}
    if controllers.get(ingress_class, controller) == controller:
        names.add(ingress_class)
    return frozenset(names)


def nginx_serves_classless(objects: Iterable[Mapping], controller: str = NGINX_CONTROLLER) -> bool:
    """Whether the controller serves Ingresses without a class: the default IngressClass is its own."""
    default = default_ingress_class(objects)
    return default is not None and (default.get("spec") or {}).get("controller") == controller


def ingress_wanted(objects: list[dict], enabled: bool) -> bool:
    """As soon as an Ingress of a class ingress-nginx serves (or of no class, with ingress-nginx's default
    IngressClass) exists, or when the user enabled the addon, the controller runs; never while the user runs
    ingress-nginx's controller image (e.g. from its deploy.yaml), which then serves those classes itself."""
    if user_controller_exists(objects):
        return False
    if enabled:
        return True
    classless, classes = nginx_serves_classless(objects), nginx_classes(objects)
    for o in objects:
        if o["kind"] != "Ingress":
            continue
        cls = ingress_class_of(o)
        if cls in classes or (cls is None and classless):
            return True
    return False


def ingress_objects(nginx_argv: list[str]) -> list[dict]:
    labels = {**INGRESS_LABELS, ADDON_LABEL: "Reconcile"}
    prefix = nginx_argv[nginx_argv.index("-p") + 1]  # nginx's directory: configuration, certificates, pid, temp
    container = {
        "name": "controller",
        "image": "registry.k8s.io/ingress-nginx/controller (netlab: Debian nginx)",
        "command": nginx_argv,
        "ports": [{"name": "http", "containerPort": 80}, {"name": "https", "containerPort": 443}],
        "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 1, "failureThreshold": 3},
        "volumeMounts": [{"name": "nginx", "mountPath": prefix}],
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": INGRESS_NAMESPACE, "labels": {"app.kubernetes.io/name": "ingress-nginx",
                                                            ADDON_LABEL: "Reconcile"}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": INGRESS_CLASS, "labels": labels},
         "spec": {"controller": NGINX_CONTROLLER}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "ingress-nginx-controller", "namespace": INGRESS_NAMESPACE, "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": dict(INGRESS_LABELS)},
                  "template": {"metadata": {"labels": dict(INGRESS_LABELS)},
                               "spec": {"containers": [container],
                                        "volumes": [{"name": "nginx", "hostPath": {"path": prefix,
                                                                                   "type": "DirectoryOrCreate"}}]}}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "ingress-nginx-controller", "namespace": INGRESS_NAMESPACE, "labels": labels},
         # PreferDualStack: both families in a dual-stack cluster (an IPv4 and an IPv6 LoadBalancer IP)
         "spec": {"type": "LoadBalancer", "ipFamilyPolicy": "PreferDualStack", "selector": dict(INGRESS_LABELS),
                  "ports": [{"name": "http", "port": 80, "targetPort": "http"},
                            {"name": "https", "port": 443, "targetPort": "https"}]}},
    ]
