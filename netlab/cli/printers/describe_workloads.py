"""`describe` for Pods, Nodes and Deployments (containers, their states, volumes, tolerations, QoS)."""

from __future__ import annotations

import re

from netlab.api.humanize import NONE, _age, _meta, _name, format_age, format_label_selector
from netlab.cli.printers.describe_base import (
    _annotations_multiline,
    _events,
    _labels_multiline,
    _multiline,
    smart_label,
)
from netlab.cli.printers.format import _rfc1123z, _Writer
from netlab.cli.printers.tables import node_roles


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
    w.write(0, f"Roles:\t{','.join(node_roles(meta.get('labels') or {})) or NONE}\n")
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
        owned = [replicaset for replicaset in replicasets
                 if any(r.get("kind") == "Deployment" and r.get("name") == meta.get("name")
                        for r in _meta(replicaset).get("ownerReferences") or [])]
        # kubectl: the new ReplicaSet has the highest revision; old ones are listed while they have pods
        owned.sort(key=_revision)
        old = [replicaset for replicaset in owned[:-1] if (replicaset.get("spec") or {}).get("replicas")]
        w.write(0, f"OldReplicaSets:\t{_replicaset_list(old) or NONE}\n")
        w.write(0, f"NewReplicaSet:\t{_replicaset_list(owned[-1:]) or NONE}\n")
    _events(w, related.get("events"), now)
    return w.render()


def _replicaset_list(replicasets: list[dict]) -> str:
    return ", ".join(f"{_name(replicaset)} ({(replicaset.get('status') or {}).get('replicas') or 0}/"
                     f"{(replicaset.get('spec') or {}).get('replicas', 1)} replicas created)"
                     for replicaset in replicasets)


def _revision(replicaset: dict) -> int:
    value = str((_meta(replicaset).get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
    return int(value) if value.isdigit() else 0
