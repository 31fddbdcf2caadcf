"""kubectl-shaped output: `get` tables, `-o name|yaml|json`, and `describe`.

Pure functions over the Kubernetes-shaped JSON objects the controller serves. Nothing here does I/O
or reads the clock: callers pass `now` (seconds since the epoch) so ages are exact in tests.

The layouts follow kubectl's printers (k8s.io/kubernetes/pkg/printers/internalversion) and
describers (k8s.io/kubectl/pkg/describe), including Go's text/tabwriter column alignment:
`get` tables use minwidth 6 and padding 3, `describe` uses padding 2, and a column only aligns
across contiguous lines that have a cell in it.

Text results (`table`, `names_output`, `to_yaml`, `describe`) end with a newline (empty string for
nothing to print); `to_json` does not, like `json.dumps`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import yaml

__all__ = ["format_age", "table", "names_output", "resource_name", "to_yaml", "to_json", "describe",
           "format_label_selector"]

NONE = "<none>"
CLUSTER_SCOPED = frozenset({"Node", "Namespace", "IngressClass", "PersistentVolume", "StorageClass",
                            "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"})
# kubectl's "resource.group" spelling for `-o name` and `get all`.
RESOURCE_NAMES = {
    "Pod": "pod", "Service": "service", "Endpoints": "endpoints", "Node": "node", "Namespace": "namespace",
    "Secret": "secret", "ConfigMap": "configmap", "Event": "event", "ServiceAccount": "serviceaccount",
    "Deployment": "deployment.apps", "ReplicaSet": "replicaset.apps", "DaemonSet": "daemonset.apps",
    "StatefulSet": "statefulset.apps", "EndpointSlice": "endpointslice.discovery.k8s.io",
    "Ingress": "ingress.networking.k8s.io", "IngressClass": "ingressclass.networking.k8s.io",
    "NetworkPolicy": "networkpolicy.networking.k8s.io",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ----- time -------------------------------------------------------------------------------------
def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration for a duration in seconds."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def format_age(created_iso: str | None, now: float) -> str:
    """Age of an RFC 3339 timestamp at `now`, like kubectl's AGE column ("<unknown>" when unset)."""
    t = _parse_time(created_iso)
    if t is None:
        return "<unknown>"
    return human_duration(now - t.timestamp())


def _rfc1123z(value: str | None) -> str:
    """Go's time.RFC1123Z, in UTC: "Mon, 02 Jan 2006 15:04:05 +0000"."""
    t = _parse_time(value)
    if t is None:
        return "<unknown>"
    t = t.astimezone(UTC)
    return f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year} {t:%H:%M:%S} +0000"


# ----- small helpers ----------------------------------------------------------------------------
def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _name(obj: dict) -> str:
    return _meta(obj).get("name", "")


def _age(obj: dict, now: float) -> str:
    return format_age(_meta(obj).get("creationTimestamp"), now)


def format_labels(labels: dict | None) -> str:
    """labels.FormatLabels: sorted "k=v,k2=v2", or <none>."""
    if not labels:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_label_selector(selector: dict | None) -> str:
    """metav1.FormatLabelSelector: "app=api,tier in (a,b),!x", or <none> when it selects everything."""
    if selector is None:
        return NONE
    reqs: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key", ""), e.get("operator", ""), sorted(e.get("values") or [])
        if op == "In":
            reqs.append((key, f"{key} in ({','.join(values)})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({','.join(values)})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            reqs.append((key, f"{key} {op} ({','.join(values)})"))
    text = ",".join(r for _, r in sorted(reqs, key=lambda r: r[0]))
    return text or NONE


def _lb_ingress(status: dict | None, wide: bool) -> str:
    """loadBalancerStatusStringer: sorted unique IPs/hostnames, truncated to 16 columns unless wide."""
    found = set()
    for ing in ((status or {}).get("loadBalancer") or {}).get("ingress") or []:
        if ing.get("ip"):
            found.add(ing["ip"])
        elif ing.get("hostname"):
            found.add(ing["hostname"])
    text = ",".join(sorted(found))
    if not wide and len(text) > 16:
        text = text[:13] + "..."
    return text


def resource_name(obj: dict) -> str:
    """kubectl's "resource.group" for an object: pod, service, deployment.apps, ..."""
    kind = obj.get("kind", "")
    if kind in RESOURCE_NAMES:
        return RESOURCE_NAMES[kind]
    group = obj.get("apiVersion", "").rpartition("/")[0]
    return f"{kind.lower()}.{group}" if group else kind.lower()


def _kind_resource(kind: str) -> str:
    return RESOURCE_NAMES.get(kind, kind.lower())


# ----- Go text/tabwriter ------------------------------------------------------------------------
def _tabwrite(text: str, minwidth: int, padding: int) -> list[str]:
    """Align tab-separated cells like Go's text/tabwriter (left-aligned, trailing blanks trimmed)."""
    rows = [line.split("\t") for line in text.split("\n")]
    if rows and rows[-1] == [""]:
        rows.pop()
    out: list[str] = []
    widths: list[int] = []

    def write_lines(start: int, end: int) -> None:
        for cells in rows[start:end]:
            parts = [c.ljust(widths[j]) if j < len(widths) else c for j, c in enumerate(cells)]
            out.append("".join(parts).rstrip())

    def fmt(start: int, end: int) -> None:
        column = len(widths)
        this = start
        while this < end:
            if column >= len(rows[this]) - 1:
                this += 1
                continue
            write_lines(start, this)
            start = this
            width = minwidth
            while this < end and column < len(rows[this]) - 1:
                width = max(width, len(rows[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(start, this)
            widths.pop()
            start = this
        write_lines(start, end)

    fmt(0, len(rows))
    return out


class _Writer:
    """kubectl describe's PrefixWriter: levels indent by two spaces; flush() ends column blocks."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.buf = ""

    def write(self, level: int, text: str) -> None:
        self.buf += "  " * level + text

    def flush(self) -> None:
        self.parts.append(self.buf)
        self.buf = ""

    def render(self) -> str:
        self.flush()
        lines: list[str] = []
        for part in self.parts:
            lines += _tabwrite(part, 0, 2)
        return "\n".join(lines) + "\n" if lines else ""


# ----- get: tables ------------------------------------------------------------------------------
def _pod_row(pod: dict, now: float, wide: bool) -> list[str]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    restarts = 0
    last_restart: datetime | None = None
    ready = 0

    def note_restart(cs: dict) -> None:
        nonlocal restarts, last_restart
        restarts += int(cs.get("restartCount") or 0)
        finished = _parse_time((((cs.get("lastState") or {}).get("terminated")) or {}).get("finishedAt"))
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished

    initializing = False
    init_specs = spec.get("initContainers") or []
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        note_restart(cs)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        initializing = True
        if term is not None:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            note_restart(cs)
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                code = term.get("exitCode", 0)
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{code}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    if _meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else (
            reason if status.get("phase") in ("Succeeded", "Failed") else "Terminating")
    total = len(spec.get("containers") or status.get("containerStatuses") or [])
    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart.timestamp())} ago)"
    row = [f"{ready}/{total}", reason, restarts_text, _age(pod, now)]
    if wide:
        gates = spec.get("readinessGates") or []
        gates_text = NONE
        if gates:
            true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
            gates_text = f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"
        row += [status.get("podIP") or NONE, spec.get("nodeName") or NONE,
                status.get("nominatedNodeName") or NONE, gates_text]
    return row


def _node_roles(labels: dict) -> list[str]:
    roles = set()
    for k, v in labels.items():
        if k.startswith("node-role.kubernetes.io/") and k[len("node-role.kubernetes.io/"):]:
            roles.add(k[len("node-role.kubernetes.io/"):])
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return sorted(roles)


def _node_row(node: dict, now: float, wide: bool) -> list[str]:
    spec, status = node.get("spec") or {}, node.get("status") or {}
    states = []
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            states = ["Ready" if c.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if spec.get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    row = [",".join(states), ",".join(_node_roles(_meta(node).get("labels") or {})) or NONE, _age(node, now),
           info.get("kubeletVersion", "")]
    if wide:
        def address(kind: str) -> str:
            return next((a["address"] for a in status.get("addresses") or [] if a.get("type") == kind), NONE)
        row += [address("InternalIP"), address("ExternalIP"), info.get("osImage") or "<unknown>",
                info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]
    return row


def _containers_cells(template: dict) -> list[str]:
    containers = ((template or {}).get("spec") or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def _selector_string(selector: dict | None) -> str:
    text = format_label_selector(selector)
    return text


def _deployment_row(d: dict, now: float, wide: bool) -> list[str]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    row = [f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
           str(status.get("updatedReplicas") or 0), str(status.get("availableReplicas") or 0), _age(d, now)]
    if wide:
        row += _containers_cells(spec.get("template") or {}) + [_selector_string(spec.get("selector"))]
    return row


def _replicaset_row(rs: dict, now: float, wide: bool) -> list[str]:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    row = [str(spec.get("replicas", 1)), str(status.get("replicas") or 0),
           str(status.get("readyReplicas") or 0), _age(rs, now)]
    if wide:
        row += _containers_cells(spec.get("template") or {}) + [_selector_string(spec.get("selector"))]
    return row


def _service_ports(spec: dict) -> str:
    ports = []
    for p in spec.get("ports") or []:
        proto = p.get("protocol") or "TCP"
        node_port = f":{p['nodePort']}" if p.get("nodePort") else ""
        ports.append(f"{p.get('port')}{node_port}/{proto}")
    return ",".join(ports) or NONE


def _service_external_ip(svc: dict, wide: bool) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or NONE
    if kind == "LoadBalancer":
        lb = _lb_ingress(svc.get("status"), wide)
        ips = (lb.split(",") if lb else []) + external
        return ",".join(ips) or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _service_row(svc: dict, now: float, wide: bool) -> list[str]:
    spec = svc.get("spec") or {}
    cluster_ip = (spec.get("clusterIPs") or [spec.get("clusterIP")])[0] or NONE
    row = [spec.get("type") or "ClusterIP", cluster_ip, _service_external_ip(svc, wide), _service_ports(spec),
           _age(svc, now)]
    if wide:
        row.append(format_labels(spec.get("selector")))
    return row


def format_endpoints(endpoints: dict | None, port_names: set[str] | None = None) -> str:
    """kubectl's formatEndpoints: "ip:port,..." (at most 3, then " + N more..."), <none> when empty."""
    subsets = (endpoints or {}).get("subsets") or []
    if not subsets:
        return NONE
    shown: list[str] = []
    limit, more, count = 3, False, 0
    for ss in subsets:
        addresses = [a.get("ip", "") for a in ss.get("addresses") or []]
        ports = ss.get("ports") or []
        if not ports:
            count += len(addresses)
            for ip in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(ip)
            continue
        for port in ports:
            if port_names is not None and (port.get("name") or "") not in port_names:
                continue
            count += len(addresses)
            for ip in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(f"[{ip}]:{port.get('port')}" if ":" in ip else f"{ip}:{port.get('port')}")
    text = ",".join(shown)
    if more:
        return f"{text} + {count - limit} more..."
    return text or NONE


def _endpoints_row(ep: dict, now: float, wide: bool) -> list[str]:
    return [format_endpoints(ep), _age(ep, now)]


def _limited(values: list[str], total: int) -> str:
    text = ",".join(values[:3])
    return f"{text} + {total - 3} more..." if total > 3 else text


def _endpointslice_row(es: dict, now: float, wide: bool) -> list[str]:
    ports = es.get("ports") or []
    ports_text = _limited([str(p["port"]) if p.get("port") is not None else "<unset>" for p in ports],
                          len(ports)) or "<unset>"
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    addresses_text = _limited(addresses, len(addresses)) or "<unset>"
    return [es.get("addressType", ""), ports_text, addresses_text, _age(es, now)]


def _namespace_row(ns: dict, now: float, wide: bool) -> list[str]:
    return [(ns.get("status") or {}).get("phase") or "Active", _age(ns, now)]


def _secret_row(s: dict, now: float, wide: bool) -> list[str]:
    keys = set(s.get("data") or {}) | set(s.get("stringData") or {})
    return [s.get("type") or "Opaque", str(len(keys)), _age(s, now)]


def _ingress_row(ing: dict, now: float, wide: bool) -> list[str]:
    spec = ing.get("spec") or {}
    rules = spec.get("rules") or []
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    hosts_text = ",".join(hosts) or "*"
    if hosts and more:
        hosts_text += f" + {len(rules) - 3} more..."
    return [spec.get("ingressClassName") or NONE, hosts_text, _lb_ingress(ing.get("status"), wide),
            "80, 443" if spec.get("tls") else "80", _age(ing, now)]


def _ingressclass_row(ic: dict, now: float, wide: bool) -> list[str]:
    spec = ic.get("spec") or {}
    params = spec.get("parameters")
    text = NONE
    if params:
        text = params.get("kind", "")
        if params.get("apiGroup"):
            text += "." + params["apiGroup"]
        text += "/" + params.get("name", "")
    return [spec.get("controller", ""), text, _age(ic, now)]


def _networkpolicy_row(np: dict, now: float, wide: bool) -> list[str]:
    return [format_label_selector((np.get("spec") or {}).get("podSelector") or {}), _age(np, now)]


def _event_times(ev: dict, now: float) -> tuple[str, str]:
    first = ev.get("firstTimestamp") or ev.get("eventTime")
    last = ev.get("lastTimestamp")
    series = ev.get("series")
    if series and series.get("lastObservedTime"):
        last = series["lastObservedTime"]
    first_text = format_age(first or last or _meta(ev).get("creationTimestamp"), now)
    last_text = format_age(last, now) if last else first_text
    return first_text, last_text


def _event_target(ev: dict) -> str:
    inv = ev.get("involvedObject") or {}
    kind = (inv.get("kind") or "").lower()
    if inv.get("name"):
        return f"{kind}/{inv['name']}" if kind else inv["name"]
    return kind


def _event_row(ev: dict, now: float, wide: bool) -> list[str]:
    first, last = _event_times(ev, now)
    message = (ev.get("message") or "").strip()
    if not wide:
        return [last, ev.get("type", ""), ev.get("reason", ""), _event_target(ev), message]
    source = (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or ""
    if (ev.get("source") or {}).get("host"):
        source += ", " + ev["source"]["host"]
    count = (ev.get("series") or {}).get("count") or ev.get("count") or 1
    subobject = (ev.get("involvedObject") or {}).get("fieldPath", "")
    return [last, ev.get("type", ""), ev.get("reason", ""), _event_target(ev), subobject, source, message,
            first, str(count), _name(ev)]


def _generic_row(obj: dict, now: float, wide: bool) -> list[str]:
    return [_age(obj, now)]


RowFn = Callable[[dict, float, bool], list[str]]
# kind -> (columns, wide-only columns, row function); NAME (and NAMESPACE) are added by table().
COLUMNS: dict[str, tuple[list[str], list[str], RowFn]] = {
    "Pod": (["READY", "STATUS", "RESTARTS", "AGE"], ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
            _pod_row),
    "Node": (["STATUS", "ROLES", "AGE", "VERSION"],
             ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"], _node_row),
    "Deployment": (["READY", "UP-TO-DATE", "AVAILABLE", "AGE"], ["CONTAINERS", "IMAGES", "SELECTOR"],
                   _deployment_row),
    "ReplicaSet": (["DESIRED", "CURRENT", "READY", "AGE"], ["CONTAINERS", "IMAGES", "SELECTOR"],
                   _replicaset_row),
    "Service": (["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], ["SELECTOR"], _service_row),
    "Endpoints": (["ENDPOINTS", "AGE"], [], _endpoints_row),
    "EndpointSlice": (["ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], [], _endpointslice_row),
    "Namespace": (["STATUS", "AGE"], [], _namespace_row),
    "Secret": (["TYPE", "DATA", "AGE"], [], _secret_row),
    "Ingress": (["CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"], [], _ingress_row),
    "IngressClass": (["CONTROLLER", "PARAMETERS", "AGE"], [], _ingressclass_row),
    "NetworkPolicy": (["POD-SELECTOR", "AGE"], [], _networkpolicy_row),
}
EVENT_COLUMNS = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
EVENT_WIDE_COLUMNS = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN",
                      "COUNT", "NAME"]


def table(kind: str, items: list[dict], now: float, wide: bool = False, all_namespaces: bool = False,
          show_kind: bool = False) -> str:
    """`kubectl get` output for `items` of `kind` ("" for no items). -A adds NAMESPACE for namespaced kinds;
    `show_kind` prefixes names with their resource ("pod/web-1", "deployment.apps/web") as `get all` does."""
    if not items:
        return ""
    namespaced = all_namespaces and kind not in CLUSTER_SCOPED
    if kind == "Event":
        header = list(EVENT_WIDE_COLUMNS if wide else EVENT_COLUMNS)
        rows = [_event_row(ev, now, wide) for ev in items]
    else:
        columns, wide_columns, row_fn = COLUMNS.get(kind, (["AGE"], [], _generic_row))
        header = ["NAME"] + columns + (wide_columns if wide else [])
        prefix = _kind_resource(kind) + "/" if show_kind else ""
        rows = [[prefix + _name(obj)] + row_fn(obj, now, wide) for obj in items]
    if namespaced:
        header = ["NAMESPACE"] + header
        rows = [[_meta(obj).get("namespace") or ""] + row for obj, row in zip(items, rows, strict=True)]
    text = "\n".join("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row)
                     for row in [header] + rows)
    return "\n".join(_tabwrite(text, 6, 3)) + "\n"


def names_output(items: list[dict]) -> str:
    """`-o name`: one "resource/name" per line ("pod/web-1", "service/web", "deployment.apps/web")."""
    return "".join(f"{resource_name(obj)}/{_name(obj)}\n" for obj in items)


# ----- -o yaml / -o json ------------------------------------------------------------------------
def _as_document(obj_or_list: dict | list[dict]) -> dict:
    if isinstance(obj_or_list, list):
        return {"apiVersion": "v1", "items": list(obj_or_list), "kind": "List",
                "metadata": {"resourceVersion": ""}}
    return obj_or_list


class _Dumper(yaml.SafeDumper):
    """Block style, no `&id001` anchors for objects that share a dict (views reuse label dicts)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(obj_or_list: dict | list[dict]) -> str:
    """One object as itself; a list (what `get KIND` returns, however many) as a v1 List, like kubectl."""
    return yaml.dump(_as_document(obj_or_list), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def to_json(obj_or_list: dict | list[dict]) -> str:
    """Like to_yaml, as JSON indented by 4 spaces (kubectl's layout), without a trailing newline."""
    return json.dumps(_as_document(obj_or_list), indent=4, ensure_ascii=False)


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
    (`netlab.cluster.netpol.explain`): selected pods, then per rule the peers (pods, CIDRs) and ports."""
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
