"""Kubernetes-shaped JSON views of the controller's state (what the API serves and `get` prints)."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import time
import uuid

from netlab.api import gateway_views
from netlab.api.backend import StoreView
from netlab.api.resources import BUILTIN_NAMESPACES
from netlab.compile import podsets, replicasets, workloads
from netlab.compile.endpoint_objects import endpoints_object, endpointslice_objects
from netlab.compile.services import port_key
from netlab.compile.topology import Topology, order_by_family
from netlab.compile.workloads import PlacedPod, node_labels
from netlab.runtime.containers import ContainerStatus


def timestamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _container_status(s: ContainerStatus, image: str, probe_ok: bool = True) -> dict:
    if s.state == "running":
        state = {"running": {"startedAt": timestamp(s.started_at or time.time())}}
    elif s.state == "terminated":
        state = {"terminated": {"exitCode": s.exit_code, "reason": s.reason or "Error",
                                "finishedAt": timestamp(s.finished_at or time.time())}}
    else:
        state = {"waiting": {"reason": s.reason or "ContainerCreating"}}
        if s.message:
            state["waiting"]["message"] = s.message
    status = {"name": s.name, "image": image, "imageID": image, "ready": s.state == "running" and probe_ok,
              "restartCount": s.restart_count, "started": s.state == "running", "state": state, "lastState": {}}
    if s.pid:
        status["containerID"] = f"netlab://{s.pid}"
    if s.restart_count and s.state != "terminated" and s.finished_at:
        # the kubelet's lastState: how the previous run ended (kubectl's RESTARTS shows its age)
        status["lastState"] = {"terminated": {"exitCode": s.exit_code or 0, "reason": "Error" if s.exit_code
                                              else "Completed", "finishedAt": timestamp(s.finished_at)}}
    return status


def pod_phase(statuses: list[ContainerStatus], restart_policy: str) -> str:
    if not statuses:
        return "Pending"
    if all(s.state == "running" for s in statuses):
        return "Running"
    if restart_policy != "Always" and all(s.state == "terminated" for s in statuses):
        if all(s.exit_code == 0 for s in statuses):
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
    if any(s.started_at for s in statuses):
        return "Running"
    return "Pending"


def has_terminated(statuses: list[ContainerStatus], restart_policy: str) -> bool:
    """Phase Succeeded or Failed: the pod ran to completion and, as with the endpoints controller, is never
    an endpoint again, ready or not."""
    return pod_phase(statuses, restart_policy) in ("Succeeded", "Failed")


def derived_uid(kind: str, namespace: str, name: str) -> str:
    """A stable uid for an object the controller derives (a Deployment's ReplicaSets): clients such as the
    official Python client require ownerReferences[].uid, and kubectl matches owners by uid."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"netlab:{kind}/{namespace}/{name}"))


def pod(p: PlacedPod, statuses: list[ContainerStatus], topo: Topology, probe_ready=None,
        ready: bool | None = None, owner_uid: str | None = None, deleting: tuple[float, int] | None = None) -> dict:
    """probe_ready(container) -> bool: the readiness probe's verdict (True without a probe).
    ready: the pod readiness the data plane currently uses (endpoints follow it).
    owner_uid: the uid of the object a user wrote that owns the pod (a Deployment's ReplicaSets' are derived).
    deleting: (when the deletion began, grace seconds) of a terminating pod."""
    images = {c["name"]: c.get("image", "") for c in p.spec.get("containers", [])}
    phase = pod_phase(statuses, p.spec.get("restartPolicy", "Always"))
    probe_ready = probe_ready or (lambda _name: True)
    if ready is None:
        ready = bool(statuses) and all(s.state == "running" and probe_ready(s.name) for s in statuses)
    families = topo.ip_families
    node_ip = order_by_family([topo.node(p.node).underlay_ip, p.ip6 and topo.node(p.node).underlay_ip6],
                              families)[0] if p.node else ""
    pod_ips = order_by_family([p.ip, p.ip6], families)
    meta = {"name": p.name, "namespace": p.namespace, "uid": p.uid, "labels": p.labels,
            "creationTimestamp": timestamp(p.created)}
    if deleting is not None:   # the apiserver's view of a graceful deletion: the time it will be gone by
        meta["deletionTimestamp"] = timestamp(deleting[0] + deleting[1])
        meta["deletionGracePeriodSeconds"] = deleting[1]
    if p.owner:
        kind, owner = p.owner.split("/", 1)
        if kind == "Deployment":
            kind, owner, owner_uid = "ReplicaSet", f"{owner}-{p.template_hash}", None
            owner_uid = derived_uid(kind, p.namespace, owner)
        meta["ownerReferences"] = [{"apiVersion": OWNER_API_VERSIONS.get(kind, "apps/v1"),
                                    "kind": kind, "name": owner, "uid": owner_uid or "",
                                    "controller": True, "blockOwnerDeletion": True}]
    cond = "True" if ready else "False"
    if not p.node:
        return _unscheduled(meta, p)
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {**POD_SPEC_DEFAULTS, **p.spec, "nodeName": p.node},
        "status": {
            "phase": phase, "podIP": pod_ips[0], "podIPs": [{"ip": ip} for ip in pod_ips], "hostIP": node_ip,
            "startTime": timestamp(p.created),
            "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
                           {"type": "ContainersReady", "status": cond}, {"type": "Ready", "status": cond}],
            "containerStatuses": [_container_status(s, images.get(s.name, ""), probe_ready(s.name))
                                  for s in statuses],
        },
    }


def _unscheduled(meta: dict, p: PlacedPod) -> dict:
    """A pod no node can take (its host ports are taken everywhere): Pending, as the apiserver shows it."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {**POD_SPEC_DEFAULTS, **p.spec},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": p.unschedulable,
                 "lastTransitionTime": timestamp(p.created)}]}}


OWNER_API_VERSIONS = {"ReplicationController": "v1", "Job": "batch/v1"}  # the other pod owners are apps/v1


#: What the apiserver fills in on a pod it admits (defaulting, the ServiceAccount and DefaultTolerationSeconds
#: admission plugins), so `kubectl describe pod` shows what it shows on a real cluster.
POD_SPEC_DEFAULTS = {
    "serviceAccountName": "default", "serviceAccount": "default", "schedulerName": "default-scheduler",
    "priority": 0, "enableServiceLinks": True, "securityContext": {},
    "tolerations": [{"key": f"node.kubernetes.io/{taint}", "operator": "Exists", "effect": "NoExecute",
                     "tolerationSeconds": 300} for taint in ("not-ready", "unreachable")],
}

UNDERLAY_BRIDGE_ANNOTATION = "netlab.dev/underlay-bridge"
HOST_IP_ANNOTATION = "netlab.dev/underlay-host-ip"


KUBELET_VERSION = "v1.37.0-netlab"


def _first_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().strip()
    except OSError:
        return ""


@functools.lru_cache(maxsize=1)
def host_info() -> dict:
    """What a kubelet reports about its machine (every node is a namespace of this host): nodeInfo and
    capacity."""
    uname = os.uname()
    pretty = "Linux"
    try:
        for line in open("/etc/os-release", encoding="utf-8"):
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    memory = "0"
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal:"):
                memory = f"{line.split()[1]}Ki"
    except OSError:
        pass
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(uname.machine, uname.machine)
    try:
        version = importlib.metadata.version("kube-netlab")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    info = {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "", "kernelVersion": uname.release,
            "osImage": pretty, "containerRuntimeVersion": f"netlab://{version}", "architecture": arch,
            "operatingSystem": "linux", "machineID": _first_line("/etc/machine-id"),
            "systemUUID": _first_line("/sys/class/dmi/id/product_uuid"),
            "bootID": _first_line("/proc/sys/kernel/random/boot_id")}
    capacity = {"cpu": str(os.cpu_count() or 1), "memory": memory, "pods": "110", "ephemeral-storage": "0"}
    return {"nodeInfo": info, "capacity": capacity}


_NODE_CONDITIONS = (
    ("NetworkUnavailable", "False", "RouteCreated", "netlab created the node's namespace, bridge and routes"),
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def node(n, started: float, pod_count: int = 0, bridge: str = "", host_ip: str = "",
         taints: list[dict] | None = None, families: tuple[str, ...] = ("IPv4",)) -> dict:
    """A Node as its kubelet reports it. Heartbeat times stay at the controller's start, so a node's
    resourceVersion changes only when something about it does. Its InternalIP and podCIDR are those of
    the cluster's primary family (`families`' first)."""
    internal_ip = order_by_family([n.underlay_ip, getattr(n, "underlay_ip6", "")], families)[0]
    pod_cidr = order_by_family([n.pod_cidr, getattr(n, "pod_cidr6", "")], families)[0]
    # Like flannel's public-ip annotation: where the node sits on the underlay, for `netlab graph` and humans.
    notes = {UNDERLAY_BRIDGE_ANNOTATION: bridge, HOST_IP_ANNOTATION: host_ip} if bridge else {}
    since = timestamp(started)
    host = host_info()
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": n.name, "labels": node_labels(n), "creationTimestamp": since,
                     **({"annotations": notes} if notes else {})},
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr], **({"taints": taints} if taints else {})},
        "status": {
            "addresses": [{"type": "InternalIP", "address": internal_ip}, {"type": "Hostname", "address": n.name}],
            "conditions": [{"type": t, "status": st, "lastHeartbeatTime": since, "lastTransitionTime": since,
                            "reason": r, "message": m} for t, st, r, m in _NODE_CONDITIONS],
            "nodeInfo": host["nodeInfo"], "capacity": host["capacity"], "allocatable": host["capacity"],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        },
    }


def namespace(name: str, obj: dict | None, created: float, terminating: float | None = None) -> dict:
    """terminating: when its deletion began (phase Terminating until its contents are gone)."""
    meta = dict((obj or {}).get("metadata") or {"name": name, "creationTimestamp": timestamp(created)})
    meta["labels"] = {**(meta.get("labels") or {}), "kubernetes.io/metadata.name": name}
    if terminating is not None:
        meta["deletionTimestamp"] = timestamp(terminating)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active" if terminating is None else "Terminating"}}


def scale(obj: dict) -> dict:
    """The autoscaling/v1 Scale subresource of a Deployment, ReplicaSet, StatefulSet or ReplicationController view."""
    from netlab.api.humanize import format_label_selector

    meta = obj["metadata"]
    selector = (obj.get("spec") or {}).get("selector")
    if obj.get("kind") == "ReplicationController" and selector:  # a plain map
        selector = {"matchLabels": selector}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": format_label_selector(selector) if selector else ""}}


# the kinds whose views read the pods' states
POD_KINDS = frozenset({"Pod", "Deployment", "ReplicaSet", "ReplicationController", "StatefulSet", "DaemonSet"})


def snapshot(ctl: StoreView, kinds) -> dict[str, list[dict]]:
    """Every object of the kinds given, as the API shows them, the pod views computed once (if needed)."""
    pods = _list_pods(ctl, None) if POD_KINDS & set(kinds) else []
    out = {}
    for kind in kinds:
        if kind == "Pod":
            out[kind] = pods
        elif kind == "Deployment":
            out[kind] = _list_deployments(ctl, None, pods)
        elif kind == "ReplicaSet":
            out[kind] = _list_replicasets(ctl, None, pods)
        else:
            out[kind] = list_objects(ctl, kind, None)
    return out


def list_objects(ctl: StoreView, kind: str, ns: str | None) -> list[dict]:
    """Objects of `kind` in namespace `ns` (None: all namespaces), sorted by namespace and name."""
    if kind == "Event":  # in the order they happened
        return [e for e in ctl.events if ns is None or e["metadata"]["namespace"] == ns]
    lister = _LISTERS.get(kind)
    out = lister(ctl, ns) if lister is not None else _stored(ctl, kind, ns)
    return sorted(out, key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))


def _in_ns(o: dict, ns: str | None) -> bool:
    return ns is None or (o["metadata"].get("namespace") or "default") == ns


def _stored(ctl: StoreView, kind: str, ns: str | None) -> list[dict]:
    return [o for o in ctl.state.objects.values() if o["kind"] == kind and _in_ns(o, ns)]


def _list_pods(ctl: StoreView, ns: str | None) -> list[dict]:
    topo = ctl.topology()
    objects = ctl.state.objects

    def owner_uid(p: PlacedPod) -> str | None:
        kind, _, name = (p.owner or "").partition("/")
        stored = objects.get(f"{kind}/{p.namespace}/{name}") if p.owner else None
        return (stored or {}).get("metadata", {}).get("uid")
    def deleting(key: str) -> tuple[float, int] | None:
        t = ctl.state.terminating.get(key)
        return (t.since, t.grace) if t else None
    draining = [t.pod for k, t in ctl.state.terminating.items() if k not in ctl.state.pods]
    return [_written_meta(pod(p, ctl.supervisor.status(p.key), topo, lambda c, p=p: ctl.probe_ready(p, c),
                              ctl.ready.get(p.key, False), owner_uid(p), deleting(p.key)),
                          objects.get(f"Pod/{p.key}") or ctl.state.pod_meta.get(p.uid))
            for p in [*ctl.state.pods.values(), *draining] if ns is None or p.namespace == ns]


WRITTEN_POD_META = ("annotations", "managedFields", "generation")


def _written_meta(view: dict, written: dict | None) -> dict:
    """A pod the user wrote shows the metadata he wrote (annotations such as kubectl's last-applied
    configuration, managedFields), as a stored object does; so does a Deployment's pod he labelled or
    annotated (the controller's pod_meta; its labels are already the pod's)."""
    if written is None:
        return view
    meta = written.get("metadata") or {}
    extra = {k: meta[k] for k in WRITTEN_POD_META if meta.get(k)}
    return {**view, "metadata": {**view["metadata"], **extra}} if extra else view


def _list_nodes(ctl: StoreView, ns: str | None) -> list[dict]:
    topo = ctl.topology()
    counts: dict[str, int] = {}
    for p in ctl.state.pods.values():
        counts[p.node] = counts.get(p.node, 0) + 1
    return [node(n, ctl.started, counts.get(n.name, 0), topo.bridge, topo.host_ip, podsets.node_taints(n, topo.nodes),
                 topo.ip_families)
            for n in topo.nodes]


def _list_namespaces(ctl: StoreView, ns: str | None) -> list[dict]:
    explicit = {o["metadata"]["name"]: o for o in ctl.state.objects.values() if o["kind"] == "Namespace"}
    return [namespace(n, explicit.get(n), ctl.started) for n in sorted(set(explicit) | set(BUILTIN_NAMESPACES))]


def _list_deployments(ctl: StoreView, ns: str | None, pods: list[dict] | None = None) -> list[dict]:
    """`pods` is unused (a Deployment's status comes from the rollout's own accounting); snapshot passes it to
    every pod-reading lister alike."""
    stored = _stored(ctl, "Deployment", ns)
    status = workloads.deployment_statuses(stored, ctl.state.pods, _ready_since(ctl), time.time(),
                                           getattr(ctl, "deployment_status", {}))
    return [{**o, "status": status[workloads.namespaced_name(o)]} for o in stored]


def _ready_since(ctl: StoreView) -> dict[str, float]:
    if hasattr(ctl, "ready_since"):  # the controller tracks since when; a bare store view only knows whether
        return ctl.ready_since
    return {k: ctl.started for k, r in ctl.ready.items() if r}


def _with_uid(replicaset: dict) -> dict:
    meta = replicaset["metadata"]
    if meta.get("uid"):
        return replicaset
    return {**replicaset, "metadata": {**meta, "uid": derived_uid("ReplicaSet", meta["namespace"], meta["name"])}}


def _list_replicasets(ctl: StoreView, ns: str | None, pods: list[dict] | None = None) -> list[dict]:
    now = time.time()
    history = getattr(ctl.state, "replicasets", {})
    out = [_with_uid(replicaset) for o in _stored(ctl, "Deployment", ns)
           for replicaset in replicasets.replicasets(o, history.get(workloads.namespaced_name(o), {}),
                                                     ctl.state.pods, _ready_since(ctl), now)]
    return out + _list_written_sets(ctl, "ReplicaSet", ns)


def _list_written_sets(ctl: StoreView, kind: str, ns: str | None) -> list[dict]:
    """ReplicaSets (or ReplicationControllers) the user wrote himself, with their status from their pods."""
    out = []
    for o in _stored(ctl, kind, ns):
        owned = workloads.owned_pods(o, ctl.state.pods.values())
        ready = sum(1 for p in owned if ctl.ready.get(p.key, False))
        out.append({**o, "status": {"replicas": len(owned), "fullyLabeledReplicas": len(owned),
                                    "readyReplicas": ready, "availableReplicas": ready,
                                    "observedGeneration": o["metadata"].get("generation", 1)}})
    return out


def _list_statefulsets(ctl: StoreView, ns: str | None) -> list[dict]:
    return [{**o, "status": podsets.statefulset_status(o, ctl.state.pods, ctl.ready)}
            for o in _stored(ctl, "StatefulSet", ns)]


def _list_daemonsets(ctl: StoreView, ns: str | None) -> list[dict]:
    nodes = ctl.topology().nodes
    return [{**o, "status": podsets.daemonset_status(o, ctl.state.pods, ctl.ready, nodes)}
            for o in _stored(ctl, "DaemonSet", ns)]


def _list_services(ctl: StoreView, ns: str | None) -> list[dict]:
    out = []
    for o in _stored(ctl, "Service", ns):
        key = f"{o['metadata'].get('namespace', 'default')}/{o['metadata']['name']}"
        resolved = ctl.resolved.get(key)
        out.append(service(o, ctl.state.allocations.get(key), resolved.ip_families if resolved else None))
    return out


def _computed_endpoints(ctl: StoreView, ns: str | None, render) -> list[dict]:
    """`render(resolved, created)` for every selector Service in `ns` the endpoints controller resolved."""
    out = []
    for rs in ctl.resolved.values():
        svc = ctl.state.objects.get(f"Service/{rs.namespace}/{rs.name}")
        if svc is None or not _in_ns(svc, ns) or not (svc.get("spec") or {}).get("selector"):
            continue
        out.append(render(rs, svc["metadata"].get("creationTimestamp")))
    return out


def _list_endpoints(ctl: StoreView, ns: str | None) -> list[dict]:
    return _computed_endpoints(ctl, ns, endpoints_object) + _stored(ctl, "Endpoints", ns)


def _list_endpointslices(ctl: StoreView, ns: str | None) -> list[dict]:
    return [s for slices in _computed_endpoints(ctl, ns, endpointslice_objects) for s in slices]


def _list_jobs(ctl: StoreView, ns: str | None) -> list[dict]:
    """Jobs with the status the job controller (runtime/jobside.py) last computed, and the selector and
    template labels the API server gives a Job without manualSelector."""
    status = getattr(ctl, "job_status", {})
    return [{**o, "spec": _job_selected(o), "status": status.get(workloads.namespaced_name(o), {})}
            for o in _stored(ctl, "Job", ns)]


def _job_selected(job: dict) -> dict:
    spec, uid, name = job["spec"], job["metadata"].get("uid", ""), job["metadata"]["name"]
    if spec.get("manualSelector") or spec.get("selector") or not uid:
        return spec
    template = spec["template"]
    meta = template.get("metadata") or {}
    labels = {**(meta.get("labels") or {}), "batch.kubernetes.io/controller-uid": uid,
              "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name}
    return {**spec, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
            "template": {**template, "metadata": {**meta, "labels": labels}}}


def _list_cronjobs(ctl: StoreView, ns: str | None) -> list[dict]:
    status = getattr(ctl, "cronjob_status", {})
    return [{**o, "status": status.get(workloads.namespaced_name(o), {})} for o in _stored(ctl, "CronJob", ns)]


def _list_ingresses(ctl: StoreView, ns: str | None) -> list[dict]:
    """status.loadBalancer: the address of the Service the controller publishes (its --publish-service)."""
    publish = ctl.ingress.publish_service
    alloc = ctl.state.allocations.get(publish) if publish else None
    address = [{"ip": ip} for ip in alloc.load_balancer_ips(("IPv4", "IPv6"))] if alloc else []
    handled = ctl.ingress.served
    return [{**o, "status": {"loadBalancer": {"ingress": address} if address and
                             f"{o['metadata'].get('namespace', 'default')}/{o['metadata']['name']}" in handled
                             else {}}}
            for o in _stored(ctl, "Ingress", ns)]


_LISTERS = {
    "Pod": _list_pods, "Node": _list_nodes, "Namespace": _list_namespaces, "Deployment": _list_deployments,
    "ReplicaSet": _list_replicasets, "Service": _list_services, "StatefulSet": _list_statefulsets,
    "DaemonSet": _list_daemonsets, "Endpoints": _list_endpoints,
    "ReplicationController": lambda ctl, ns: _list_written_sets(ctl, "ReplicationController", ns),
    "EndpointSlice": _list_endpointslices, "Ingress": _list_ingresses, "Job": _list_jobs, "CronJob": _list_cronjobs,
    "GatewayClass": gateway_views.list_gateway_classes, "Gateway": gateway_views.list_gateways,
    "HTTPRoute": lambda ctl, ns: gateway_views.list_routes(ctl, "HTTPRoute", ns),
    "GRPCRoute": lambda ctl, ns: gateway_views.list_routes(ctl, "GRPCRoute", ns),
}


def service(obj: dict, alloc, families: tuple[str, ...] | None = None) -> dict:
    """The Service as the API server stores it: with its allocated ClusterIP, node ports and LB address."""
    spec = dict(obj.get("spec") or {})
    status: dict = {"loadBalancer": {}}
    if alloc is not None:
        ips = alloc.cluster_ips(tuple(families or ("IPv4",)))
        if ips:
            spec["clusterIP"], spec["clusterIPs"] = ips[0], ips
        ports = []
        for p in spec.get("ports") or []:
            node_port = alloc.node_ports.get(port_key(p))
            ports.append({**p, "nodePort": node_port} if node_port else p)
        spec["ports"] = ports
        lb_ips = alloc.load_balancer_ips(tuple(families or ("IPv4",)))
        if lb_ips:   # one per family, in ipFamilies order (MetalLB's dual-stack pools)
            status["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": "VIP"} for ip in lb_ips]}
    if spec.get("clusterIP") == "None":
        spec["clusterIPs"] = ["None"]
    if spec.get("type") != "ExternalName":   # the apiserver's defaults for a single-stack IPv4 cluster
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if families and families != ("IPv4",):   # a dual-stack cluster's headless Service (families.py)
            spec["ipFamilies"] = list(families)
    return {**obj, "spec": spec, "status": status}
