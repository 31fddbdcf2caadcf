"""`describe` text in kubectl's layout."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from netlab.cli.printers.format import (
    NONE,
    _age,
    _meta,
    _name,
    _parse_time,
    _rfc1123z,
    _Writer,
    format_age,
    format_label_selector,
    format_labels,
)
from netlab.cli.printers.tables import (
    _event_times,
    _node_roles,
    format_endpoints,
)

# ----- describe ---------------------------------------------------------------------------------
SKIP_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})


def _labels_multiline(w: _Writer, title: str, labels: dict | None, indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    if not labels:
        w.write(0, NONE + "\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(0, f"{indent}\t")
        w.write(0, f"{key}={labels[key]}\n")


def _annotations_multiline(w: _Writer, title: str, annotations: dict | None, indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    keys = sorted(k for k in (annotations or {}) if k not in SKIP_ANNOTATIONS)
    if not keys:
        w.write(0, NONE + "\n")
        return
    lead = indent + "\t"
    for i, key in enumerate(keys):
        if i:
            w.write(0, lead)
        value = str((annotations or {})[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > 140 or "\n" in value:
            w.write(0, f"{key}:\n")
            for line in value.split("\n"):
                w.write(0, f"{lead}  {line[:138] + '...' if len(line) > 138 else line}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def _multiline(w: _Writer, title: str, values: list[str], indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    if not values:
        w.write(0, NONE + "\n")
        return
    for i, value in enumerate(values):
        if i:
            w.write(0, f"{indent}\t")
        w.write(0, f"{value}\n")


def _events(w: _Writer, events: list[dict] | None, now: float) -> None:
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")

    def when(ev: dict) -> float:
        t = _parse_time(ev.get("lastTimestamp") or ev.get("eventTime") or _meta(ev).get("creationTimestamp"))
        return t.timestamp() if t else 0.0

    for ev in sorted(events, key=when):
        first, last = _event_times(ev, now)
        count = (ev.get("series") or {}).get("count") or ev.get("count") or 1
        interval = f"{last} (x{count} over {first})" if count > 1 else first
        source = (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or ""
        w.write(1, f"{ev.get('type', '')}\t{ev.get('reason', '')}\t{interval}\t{source}\t"
                   f"{(ev.get('message') or '').strip()}\n")


def _controller(obj: dict) -> str:
    refs = _meta(obj).get("ownerReferences") or []
    for ref in refs:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return ""


def _ports_text(ports: list[dict], key: str) -> str:
    return ",".join(f"{p.get(key, 0)}/{p.get('protocol') or 'TCP'}" for p in ports) or NONE


FIELD_PATHS = {
    "metadata.name": lambda pod: _meta(pod).get("name", ""),
    "metadata.namespace": lambda pod: _meta(pod).get("namespace", ""),
    "metadata.uid": lambda pod: _meta(pod).get("uid", ""),
    "spec.nodeName": lambda pod: (pod.get("spec") or {}).get("nodeName", ""),
    "spec.serviceAccountName": lambda pod: (pod.get("spec") or {}).get("serviceAccountName", "default"),
    "status.podIP": lambda pod: (pod.get("status") or {}).get("podIP", ""),
    "status.hostIP": lambda pod: (pod.get("status") or {}).get("hostIP", ""),
}


def _field_value(pod: dict | None, path: str) -> str:
    if pod is None:
        return ""
    if path in FIELD_PATHS:
        return str(FIELD_PATHS[path](pod))
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
    if m:
        return str((_meta(pod).get(m.group(1)) or {}).get(m.group(2), ""))
    return ""


def _describe_state(w: _Writer, title: str, state: dict) -> None:
    if state.get("running") is not None:
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{_rfc1123z(state['running'].get('startedAt'))}\n")
    elif state.get("terminated") is not None:
        term = state["terminated"]
        w.write(2, f"{title}:\tTerminated\n")
        if term.get("reason"):
            w.write(3, f"Reason:\t{term['reason']}\n")
        if term.get("message"):
            w.write(3, f"Message:\t{term['message']}\n")
        w.write(3, f"Exit Code:\t{term.get('exitCode', 0)}\n")
        if term.get("signal"):
            w.write(3, f"Signal:\t{term['signal']}\n")
        if term.get("startedAt"):
            w.write(3, f"Started:\t{_rfc1123z(term['startedAt'])}\n")
        if term.get("finishedAt"):
            w.write(3, f"Finished:\t{_rfc1123z(term['finishedAt'])}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")
        if (state.get("waiting") or {}).get("reason"):
            w.write(3, f"Reason:\t{state['waiting']['reason']}\n")


def _describe_containers(w: _Writer, title: str, containers: list[dict], statuses: list[dict] | None,
                         pod: dict | None, space: str) -> None:
    by_name = {s.get("name"): s for s in statuses or []}
    w.write(0, f"{space}{title}:\n")
    for c in containers:
        status = by_name.get(c.get("name"))
        w.write(1, f"{' ' if space else ''}{c.get('name', '')}:\n")
        if status and status.get("containerID"):
            w.write(2, f"Container ID:\t{status['containerID']}\n")
        w.write(2, f"Image:\t{c.get('image', '')}\n")
        if status and status.get("imageID"):
            w.write(2, f"Image ID:\t{status['imageID']}\n")
        ports = c.get("ports") or []
        ports_text = _ports_text(ports, "containerPort")
        w.write(2, f"{'Ports' if ',' in ports_text else 'Port'}:\t{ports_text}\n")
        host_text = _ports_text(ports, "hostPort")
        w.write(2, f"{'Host Ports' if ',' in host_text else 'Host Port'}:\t{host_text}\n")
        for key, label in (("command", "Command"), ("args", "Args")):
            if c.get(key):
                w.write(2, f"{label}:\n")
                for arg in c[key]:
                    for line in str(arg).split("\n"):
                        w.write(3, f"{line}\n")
        if status:
            _describe_state(w, "State", status.get("state") or {})
            if (status.get("lastState") or {}).get("terminated"):
                _describe_state(w, "Last State", status["lastState"])
            w.write(2, f"Ready:\t{'True' if status.get('ready') else 'False'}\n")
            w.write(2, f"Restart Count:\t{status.get('restartCount', 0)}\n")
        env = c.get("env") or []
        w.write(2, "Environment:" + ("\t<none>" if not env else "") + "\n")
        for var in env:
            source = var.get("valueFrom")
            if source is None:
                for i, line in enumerate(str(var.get("value", "")).split("\n")):
                    w.write(3, f"{var.get('name')}:\t{line}\n" if i == 0 else f"\t{line}\n")
            elif source.get("fieldRef"):
                ref = source["fieldRef"]
                value = _field_value(pod, ref.get("fieldPath", ""))
                where = f"{ref.get('apiVersion', 'v1')}:{ref.get('fieldPath')}"
                w.write(3, f"{var.get('name')}:\t{value} ({where})\n")
            elif source.get("secretKeyRef"):
                ref = source["secretKeyRef"]
                w.write(3, f"{var.get('name')}:\t<set to the key '{ref.get('key')}' in secret "
                           f"'{ref.get('name')}'>\tOptional: {str(bool(ref.get('optional'))).lower()}\n")
            elif source.get("configMapKeyRef"):
                ref = source["configMapKeyRef"]
                w.write(3, f"{var.get('name')}:\t<set to the key '{ref.get('key')}' of config map "
                           f"'{ref.get('name')}'>\tOptional: {str(bool(ref.get('optional'))).lower()}\n")
            else:
                w.write(3, f"{var.get('name')}:\t<unknown source>\n")
        mounts = c.get("volumeMounts") or []
        if not mounts:
            w.write(2, "Mounts:\t<none>\n")
        else:
            w.write(2, "Mounts:\n")
            for m in mounts:
                mode = "ro" if m.get("readOnly") else "rw"
                w.write(3, f"{m.get('mountPath')} from {m.get('name')} ({mode})\n")


def _tolerations(w: _Writer, tolerations: list[dict]) -> None:
    lines = []
    for t in tolerations:
        text = t.get("key", "")
        if t.get("value"):
            text += "=" + t["value"]
        if t.get("effect"):
            text += ":" + t["effect"]
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        lines.append(text)
    _multiline(w, "Tolerations", lines)


def _volumes(w: _Writer, volumes: list[dict], space: str) -> None:
    if not volumes:
        w.write(0, f"{space}Volumes:\t<none>\n")
        return
    w.write(0, f"{space}Volumes:\n")
    for v in volumes:
        w.write(0, f"{space}  {v.get('name')}:\n")
        source = next((k for k in v if k != "name"), "")
        w.write(0, f"{space}    Type:\t{smart_label(source) or '<unknown>'}\n")


def _qos_class(spec: dict) -> str:
    """BestEffort without requests or limits; Guaranteed when every container limits cpu and memory
    with equal (or unset) requests; Burstable otherwise."""
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for key in ("cpu", "memory"):
            if key not in limits or requests.get(key, limits[key]) != limits[key]:
                return "Burstable"
    return "Guaranteed"


def _describe_pod(pod: dict, now: float, related: dict) -> str:
    meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Priority:\t{spec.get('priority', 0)}\n")
    if spec.get("priorityClassName"):
        w.write(0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    w.write(0, f"Service Account:\t{spec.get('serviceAccountName') or 'default'}\n")
    node = spec.get("nodeName")
    w.write(0, f"Node:\t{node + '/' + status.get('hostIP', '') if node else NONE}\n")
    if status.get("startTime"):
        w.write(0, f"Start Time:\t{_rfc1123z(status['startTime'])}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    if meta.get("deletionTimestamp"):
        w.write(0, f"Status:\tTerminating (lasts {format_age(meta['deletionTimestamp'], now)})\n")
    else:
        w.write(0, f"Status:\t{status.get('phase', '')}\n")
    if status.get("reason"):
        w.write(0, f"Reason:\t{status['reason']}\n")
    if status.get("message"):
        w.write(0, f"Message:\t{status['message']}\n")
    w.write(0, f"IP:\t{status.get('podIP', '')}\n")
    ips = status.get("podIPs") or []
    if not ips:
        w.write(0, "IPs:\t<none>\n")
    else:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{ip.get('ip', '')}\n")
    if _controller(pod):
        w.write(0, f"Controlled By:\t{_controller(pod)}\n")
    if spec.get("initContainers"):
        _describe_containers(w, "Init Containers", spec["initContainers"],
                             status.get("initContainerStatuses"), pod, "")
    _describe_containers(w, "Containers", spec.get("containers") or [], status.get("containerStatuses") or [],
                         pod, "")
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')}\n")
    _volumes(w, spec.get("volumes") or [], "")
    w.write(0, f"QoS Class:\t{status.get('qosClass') or _qos_class(spec)}\n")
    _labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    _tolerations(w, spec.get("tolerations") or [])
    _events(w, related.get("events"), now)
    return w.render()


def _describe_node(node: dict, now: float, related: dict) -> str:
    meta, spec, status = _meta(node), node.get("spec") or {}, node.get("status") or {}
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Roles:\t{','.join(_node_roles(meta.get('labels') or {})) or NONE}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"CreationTimestamp:\t{_rfc1123z(meta.get('creationTimestamp'))}\n")
    taints = []
    for t in spec.get("taints") or []:
        value = "=" + t["value"] if t.get("value") else ""
        taints.append(f"{t.get('key', '')}{value}:{t.get('effect', '')}")
    _multiline(w, "Taints", taints)
    w.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')} \t{_rfc1123z(c.get('lastHeartbeatTime'))} \t"
                       f"{_rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t"
                       f"{c.get('message', '')}\n")
    w.write(0, "Addresses:\n")
    for a in status.get("addresses") or []:
        w.write(1, f"{a.get('type')}:\t{a.get('address')}\n")
    info = status.get("nodeInfo") or {}
    labels = meta.get("labels") or {}
    w.write(0, "System Info:\n")
    for label, value in (("Kernel Version", info.get("kernelVersion")), ("OS Image", info.get("osImage")),
                         ("Operating System", info.get("operatingSystem") or labels.get("kubernetes.io/os")),
                         ("Architecture", info.get("architecture") or labels.get("kubernetes.io/arch")),
                         ("Container Runtime Version", info.get("containerRuntimeVersion")),
                         ("Kubelet Version", info.get("kubeletVersion"))):
        if value:
            w.write(1, f"{label}:\t{value}\n")
    if spec.get("podCIDR"):
        w.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if spec.get("podCIDRs"):
        w.write(0, f"PodCIDRs:\t{','.join(spec['podCIDRs'])}\n")
    pods = related.get("pods")
    if pods is not None:
        w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
        w.write(1, "Namespace\tName\tAge\n")
        w.write(1, "---------\t----\t---\n")
        for p in pods:
            w.write(1, f"{_meta(p).get('namespace', '')}\t{_name(p)}\t{_age(p, now)}\n")
    _events(w, related.get("events"), now)
    return w.render()


def _describe_pod_template(w: _Writer, template: dict) -> None:
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    w.write(0, "Pod Template:\n")
    _labels_multiline(w, "Labels", meta.get("labels"), indent="  ")
    if meta.get("annotations"):
        _annotations_multiline(w, "Annotations", meta["annotations"], indent="  ")
    if spec.get("serviceAccountName"):
        w.write(0, f"  Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("initContainers"):
        _describe_containers(w, "Init Containers", spec["initContainers"], None, None, "  ")
    _describe_containers(w, "Containers", spec.get("containers") or [], None, None, "  ")
    _volumes(w, spec.get("volumes") or [], "  ")
    if spec.get("nodeSelector"):
        _labels_multiline(w, "Node-Selectors", spec["nodeSelector"], indent="  ")


def _describe_deployment(d: dict, now: float, related: dict) -> str:
    meta, spec, status = _meta(d), d.get("spec") or {}, d.get("status") or {}
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{_rfc1123z(meta.get('creationTimestamp'))}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    desired = spec.get("replicas", 1)
    available = status.get("availableReplicas") or 0
    unavailable = status.get("unavailableReplicas", max(desired - available, 0))
    w.write(0, f"Replicas:\t{desired} desired | {status.get('updatedReplicas') or 0} updated | "
               f"{status.get('replicas') or 0} total | {available} available | {unavailable} unavailable\n")
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    w.write(0, f"StrategyType:\t{kind}\n")
    w.write(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}\n")
    if kind == "RollingUpdate":
        ru = strategy.get("rollingUpdate") or {}
        w.write(0, f"RollingUpdateStrategy:\t{ru.get('maxUnavailable', '25%')} max unavailable, "
                   f"{ru.get('maxSurge', '25%')} max surge\n")
    _describe_pod_template(w, spec.get("template") or {})
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}\n")
    replicasets = related.get("replicasets")
    if replicasets is not None:
        owned = [rs for rs in replicasets
                 if any(r.get("kind") == "Deployment" and r.get("name") == meta.get("name")
                        for r in _meta(rs).get("ownerReferences") or [])]
        text = ", ".join(f"{_name(rs)} ({(rs.get('status') or {}).get('replicas') or 0}/"
                         f"{(rs.get('spec') or {}).get('replicas', 1)} replicas created)"
                         for rs in owned[-1:])
        w.write(0, "OldReplicaSets:\t<none>\n")
        w.write(0, f"NewReplicaSet:\t{text or NONE}\n")
    _events(w, related.get("events"), now)
    return w.render()


def _describe_service(svc: dict, now: float, related: dict) -> str:
    meta, spec, status = _meta(svc), svc.get("spec") or {}, svc.get("status") or {}
    kind = spec.get("type") or "ClusterIP"
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    w.write(0, f"Type:\t{kind}\n")
    if kind != "ExternalName":
        w.write(0, f"IP Family Policy:\t{spec.get('ipFamilyPolicy') or 'SingleStack'}\n")
        w.write(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or ['IPv4'])}\n")
    cluster_ip = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0]
    w.write(0, f"IP:\t{cluster_ip or NONE}\n")
    ips = spec.get("clusterIPs") or ([cluster_ip] if cluster_ip else [])
    if ips:
        w.write(0, f"IPs:\t{','.join(ips)}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        w.write(0, f"IP:\t{spec['loadBalancerIP']}\n")
    if kind == "ExternalName":
        w.write(0, f"External Name:\t{spec.get('externalName', '')}\n")
    ingress = ((status.get("loadBalancer") or {}).get("ingress")) or []
    if ingress:
        text = ", ".join(i.get("ip") or i.get("hostname", "") for i in ingress)
        w.write(0, f"LoadBalancer Ingress:\t{text}\n")
    endpoints = related.get("endpoints")
    for p in spec.get("ports") or []:
        name = p.get("name") or "<unset>"
        proto = p.get("protocol") or "TCP"
        w.write(0, f"Port:\t{name}\t{p.get('port')}/{proto}\n")
        w.write(0, f"TargetPort:\t{p.get('targetPort', p.get('port'))}/{proto}\n")
        if p.get("nodePort"):
            w.write(0, f"NodePort:\t{name}\t{p['nodePort']}/{proto}\n")
        if kind != "ExternalName":
            text = format_endpoints(endpoints, {p.get("name") or ""}) if endpoints else NONE
            w.write(0, f"Endpoints:\t{text}\n")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity') or 'None'}\n")
    if kind in ("NodePort", "LoadBalancer"):
        w.write(0, f"External Traffic Policy:\t{spec.get('externalTrafficPolicy') or 'Cluster'}\n")
    if kind != "ExternalName":
        w.write(0, f"Internal Traffic Policy:\t{spec.get('internalTrafficPolicy') or 'Cluster'}\n")
    if spec.get("healthCheckNodePort"):
        w.write(0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    if related.get("dns_names"):
        _multiline(w, "DNS Names", list(related["dns_names"]))
    _events(w, related.get("events"), now)
    return w.render()


def _describe_secret(secret: dict, now: float, related: dict) -> str:
    meta = _meta(secret)
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"\nType:\t{secret.get('type') or 'Opaque'}\n")
    w.write(0, "\nData\n====\n")
    sizes: dict[str, int] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            sizes[key] = len(base64.b64decode(str(value), validate=True))
        except (binascii.Error, ValueError):
            sizes[key] = len(str(value))
    for key, value in (secret.get("stringData") or {}).items():
        sizes[key] = len(str(value).encode())
    for key in sorted(sizes):
        w.write(0, f"{key}:\t{sizes[key]} bytes\n")
    return w.render()


def _describe_namespace(ns: dict, now: float, related: dict) -> str:
    meta = _meta(ns)
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Status:\t{(ns.get('status') or {}).get('phase') or 'Active'}\n")
    w.write(0, "\nNo resource quota.\n\nNo LimitRange resource.\n")
    return w.render()


def _describe_endpoints(ep: dict, now: float, related: dict) -> str:
    meta = _meta(ep)
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, "Subsets:\n")
    for ss in ep.get("subsets") or []:
        w.write(1, f"Addresses:\t{','.join(a.get('ip', '') for a in ss.get('addresses') or []) or NONE}\n")
        not_ready = ",".join(a.get("ip", "") for a in ss.get("notReadyAddresses") or [])
        w.write(1, f"NotReadyAddresses:\t{not_ready or NONE}\n")
        if ss.get("ports"):
            w.write(1, "Ports:\n")
            w.write(2, "Name\tPort\tProtocol\n")
            w.write(2, "----\t----\t--------\n")
            for p in ss["ports"]:
                w.write(2, f"{p.get('name') or '<unset>'}\t{p.get('port')}\t{p.get('protocol') or 'TCP'}\n")
        w.write(0, "\n")
    _events(w, related.get("events"), now)
    return w.render()


def _netpol_peers(w: _Writer, rules: list[dict], direction: str) -> None:
    indent = "    "
    peers_key, peer_word = ("from", "From") if direction == "ingress" else ("to", "To")
    if not rules:
        w.write(0, f"{indent}<none> (Selected pods are isolated for {direction} connectivity)\n")
        return
    for i, rule in enumerate(rules):
        if not rule.get("ports"):
            w.write(0, f"{indent}To Port: <any> (traffic allowed to all ports)\n")
        for p in rule.get("ports") or []:
            port = str(p.get("port", "<nil>"))
            if p.get("endPort"):
                port += f"-{p['endPort']}"
            w.write(0, f"{indent}To Port: {port}/{p.get('protocol') or 'TCP'}\n")
        peers = rule.get(peers_key) or []
        if not peers:
            restricted = "source" if direction == "ingress" else "destination"
            w.write(0, f"{indent}{peer_word}: <any> (traffic not restricted by {restricted})\n")
        for peer in peers:
            w.write(0, f"{indent}{peer_word}:\n")
            if peer.get("namespaceSelector") is not None:
                w.write(1, f"{indent}NamespaceSelector: {format_label_selector(peer['namespaceSelector'])}\n")
            if peer.get("podSelector") is not None:
                w.write(1, f"{indent}PodSelector: {format_label_selector(peer['podSelector'])}\n")
            if peer.get("ipBlock") is not None:
                block = peer["ipBlock"]
                w.write(1, f"{indent}IPBlock:\n")
                w.write(2, f"{indent}CIDR: {block.get('cidr', '')}\n")
                w.write(2, f"{indent}Except: {', '.join(block.get('except') or [])}\n")
        if i != len(rules) - 1:
            w.write(0, f"{indent}----------\n")


def _describe_networkpolicy(np: dict, now: float, related: dict) -> str:
    meta, spec = _meta(np), np.get("spec") or {}
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    created = _parse_time(meta.get("creationTimestamp"))
    created_text = created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if created else "<unknown>"
    w.write(0, f"Created on:\t{created_text}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, "Spec:\n")
    w.write(1, "PodSelector: ")
    selector = format_label_selector(spec.get("podSelector") or {})
    if selector == NONE:
        w.write(2, "<none> (Allowing the specific traffic to all pods in this namespace)\n")
    else:
        w.write(2, f"{selector}\n")
    types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if spec.get("egress") else []))
    if "Ingress" in types:
        w.write(1, "Allowing ingress traffic:\n")
        _netpol_peers(w, spec.get("ingress") or [], "ingress")
    else:
        w.write(1, "Not affecting ingress traffic\n")
    if "Egress" in types:
        w.write(1, "Allowing egress traffic:\n")
        _netpol_peers(w, spec.get("egress") or [], "egress")
    else:
        w.write(1, "Not affecting egress traffic\n")
    w.write(1, f"Policy Types: {', '.join(types)}\n")
    if related.get("explain"):
        _netpol_explained(w, related["explain"])
    return w.render()


def _netpol_explained(w: _Writer, ex: dict) -> None:
    """netlab's addition after kubectl's layout: the policy resolved against the live pods
    (`netlab.compile.netpol.explain`): selected pods, then per rule the peers (pods, CIDRs) and ports."""
    w.flush()
    selected = ex.get("selectedPods") or []
    w.write(0, f"Selected pods ({len(selected)}):\n")
    if not selected:
        w.write(1, "<none> (no pod matches the pod selector yet)\n")
    for p in selected:
        w.write(1, f"{p['pod']}\t{p.get('ip') or '<none>'}\t{p.get('node') or '<none>'}\n")
    w.flush()
    for key, title, who in (("ingress", "Allowing ingress traffic from:", "source"),
                            ("egress", "Allowing egress traffic to:", "destination")):
        if key.capitalize() not in (ex.get("policyTypes") or []):
            continue
        w.write(0, f"{title}\n")
        rules = ex.get(key) or []
        if not rules:
            w.write(1, f"<none> (selected pods are isolated for {key})\n")
        for rule in rules:
            w.write(1, f"Rule {rule.get('rule', 0)}:\n")
            peers = rule.get("peers")
            if peers == "all":
                w.write(2, f"Peers: <any> (every {who})\n")
            elif not peers:
                w.write(2, "Peers: <none> (nothing matches the peers yet)\n")
            else:
                w.write(2, "Peers:\n")
                for peer in peers:
                    if "cidr" in peer:
                        text = f"CIDR {peer['cidr']}"
                        if peer.get("except"):
                            text += f" except {', '.join(peer['except'])}"
                        w.write(3, f"{text}\n")
                    else:
                        w.write(3, f"{peer['pod']}\t{peer.get('ip') or '<none>'}\n")
            ports = rule.get("ports")
            if ports == "all":
                w.write(2, "Ports: <any>\n")
            elif not ports:
                w.write(2, "Ports: <none> (no named port resolves on any destination)\n")
            else:
                texts = [", ".join(entry.get("ports") or []) for entry in ports]
                if len(set(texts)) == 1:  # numeric ports: the same on every destination
                    w.write(2, f"Ports: {texts[0]}\n")
                else:  # named ports resolve per destination pod
                    w.write(2, "Ports:\n")
                    for entry, text in zip(ports, texts, strict=True):
                        target = "<non-pod addresses>" if entry.get("pod") == "*" else entry.get("pod")
                        w.write(3, f"{target}\t{text}\n")
            w.flush()


def smart_label(field: str) -> str:
    """kubectl's smartLabelFor: "podSelector" -> "Pod Selector", "apiVersion" -> "API Version"."""
    if not field or any(not (ch.isalpha() or ch == "-") for ch in field):
        return field
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|[A-Z]+|-", field)
    words = []
    for part in parts:
        acronym = part.upper() in ("API", "URL", "UID", "OSB", "GUID")
        words.append(part.upper() if acronym else part[:1].upper() + part[1:])
    return " ".join(words)


GENERIC_SKIP = frozenset({".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                          ".metadata.labels", ".metadata.annotations"})


def _unstructured(w: _Writer, level: int, content: dict, prefix: str) -> None:
    for field in sorted(content):
        value, path = content[field], f"{prefix}.{field}"
        if path in GENERIC_SKIP:
            continue
        if isinstance(value, dict):
            w.write(level, f"{smart_label(field)}:\n")
            _unstructured(w, level + 1, value, path)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(field)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _unstructured(w, level + 1, child, path)
                else:
                    w.write(level + 1, f"{_go_value(child)}\n")
        else:
            w.write(level, f"{smart_label(field)}:\t{_go_value(value)}\n")


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


def _describe_generic(obj: dict, now: float, related: dict) -> str:
    meta = _meta(obj)
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    _unstructured(w, 0, obj, "")
    if "events" in related:
        _events(w, related.get("events"), now)
    return w.render()


def _describe_ingress(ing: dict, now: float, related: dict) -> str:
    """kubectl's layout, with the rules resolved to endpoints from related["rules"] and netlab's notes."""
    meta, spec = _meta(ing), ing.get("spec") or {}
    w = _Writer()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    address = ",".join(i.get("ip", "") for i in ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress")
                       or [])
    w.write(0, f"Address:\t{address}\n")
    w.write(0, f"Ingress Class:\t{spec.get('ingressClassName') or NONE}\n")
    rows = related.get("rules") or []
    default = [r for r in rows if not r.get("path") and r.get("host") == "*"]
    w.write(0, "Default backend:\t" + (_ingress_backend_text(default[0]) if default else "<default>") + "\n")
    if spec.get("tls"):
        w.write(0, "TLS:\n")
        for t in spec["tls"]:
            w.write(0, f"  {t.get('secretName') or 'SNI'} terminates {','.join(t.get('hosts') or [])}\n")
    w.write(0, "Rules:\n  Host\tPath\tBackends\n")
    w.write(0, "  ----\t----\t--------\n")
    by_host: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("path"):
            by_host.setdefault(r["host"], []).append(r)
    for host in sorted(by_host):
        w.write(0, f"  {host}\t\t\n")
        for r in by_host[host]:
            w.write(0, f"  \t{r['path']}\t{_ingress_backend_text(r)}\n")
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    notes = related.get("notes") or []
    if notes:
        w.write(0, "Notes:\n")
        for note in notes:
            w.write(0, f"  {note}\n")
    _events(w, related.get("events"), now)
    return w.render()


def _ingress_backend_text(row: dict) -> str:
    if row.get("error") and not row.get("endpoints"):
        return f"{row.get('backend', '')} ({row['error']})"
    return f"{row.get('backend', '')} ({','.join(row.get('endpoints') or []) or NONE})"


DESCRIBERS: dict[str, Callable[[dict, float, dict], str]] = {
    "Ingress": _describe_ingress,
    "Pod": _describe_pod, "Node": _describe_node, "Deployment": _describe_deployment,
    "Service": _describe_service,
    "Secret": _describe_secret, "Namespace": _describe_namespace, "Endpoints": _describe_endpoints,
    "NetworkPolicy": _describe_networkpolicy,
}


def describe(kind: str, obj: dict, now: float, related: dict | None = None) -> str:
    """`kubectl describe` text for one object. `related` may hold "events" (Event objects about it),
    "pods" (for a Node), "endpoints" (an Endpoints object, for a Service), "dns_names" (Service),
    "replicasets" (for a Deployment). Secret values are never printed, only their sizes."""
    return DESCRIBERS.get(kind, _describe_generic)(obj, now, related or {})

