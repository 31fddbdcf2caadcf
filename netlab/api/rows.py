"""The cells of kubectl's `get` rows per kind, as upstream's printers compute them
(pkg/printers/internalversion/printers.go). Pure: objects are Kubernetes-shaped dicts, callers pass `now`.
Each row function gives the cells after NAME: the priority-0 ones, then the wide ones when `wide`."""

from __future__ import annotations

from datetime import datetime

from netlab.api.humanize import (
    NONE,
    _age,
    _lb_ingress,
    _meta,
    _name,
    _parse_time,
    format_age,
    format_label_selector,
    format_labels,
    human_duration,
)


def pod_row(pod: dict, now: float, wide: bool) -> list[str]:
    """kubectl's READY, STATUS, RESTARTS, AGE (and the wide columns) for one pod."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    init_reason, counted = _init_containers_reason(spec, status)
    reason = init_reason or status.get("reason") or status.get("phase") or "Unknown"
    ready = 0
    if init_reason is None or _condition_true(status, "Initialized"):
        reason, ready = _containers_reason(status, reason)
        counted += status.get("containerStatuses") or []
    if _meta(pod).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else (
            reason if status.get("phase") in ("Succeeded", "Failed") else "Terminating")
    total = len(spec.get("containers") or status.get("containerStatuses") or [])
    row = [f"{ready}/{total}", reason, _restarts_text(counted, now), _age(pod, now)]
    if wide:
        row += [status.get("podIP") or NONE, spec.get("nodeName") or NONE,
                status.get("nominatedNodeName") or NONE, _readiness_gates_text(spec, status)]
    return row


def _condition_true(status: dict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def _init_containers_reason(spec: dict, status: dict) -> tuple[str | None, list[dict]]:
    """(the STATUS an unfinished init container gives, or None; the init statuses kubectl counts restarts of)."""
    counted: list[dict] = []
    init_specs = spec.get("initContainers") or []
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        counted.append(cs)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if term is not None:
            if term.get("reason"):
                return "Init:" + term["reason"], counted
            if term.get("signal"):
                return f"Init:Signal:{term['signal']}", counted
            return f"Init:ExitCode:{term.get('exitCode', 0)}", counted
        if waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            return "Init:" + waiting["reason"], counted
        return f"Init:{i}/{len(init_specs)}", counted
    return None, counted


def _containers_reason(status: dict, reason: str) -> tuple[str, int]:
    """(STATUS after the app containers have their say, starting from `reason`; how many are ready)."""
    ready = 0
    has_running = False
    for cs in reversed(status.get("containerStatuses") or []):
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
        reason = "Running" if _condition_true(status, "Ready") else "NotReady"
    return reason, ready


def _restarts_text(statuses: list[dict], now: float) -> str:
    """RESTARTS: the sum over `statuses`, with the age of the latest restart when there was one."""
    restarts = 0
    last_restart: datetime | None = None
    for cs in statuses:
        restarts += int(cs.get("restartCount") or 0)
        finished = _parse_time((((cs.get("lastState") or {}).get("terminated")) or {}).get("finishedAt"))
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished
    if restarts and last_restart is not None:
        return f"{restarts} ({human_duration(now - last_restart.timestamp())} ago)"
    return str(restarts)


def _readiness_gates_text(spec: dict, status: dict) -> str:
    gates = spec.get("readinessGates") or []
    if not gates:
        return NONE
    true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"


def node_roles(labels: dict) -> list[str]:
    roles = set()
    for k, v in labels.items():
        if k.startswith("node-role.kubernetes.io/") and k[len("node-role.kubernetes.io/"):]:
            roles.add(k[len("node-role.kubernetes.io/"):])
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return sorted(roles)


def node_row(node: dict, now: float, wide: bool) -> list[str]:
    spec, status = node.get("spec") or {}, node.get("status") or {}
    states = []
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            states = ["Ready" if c.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if spec.get("unschedulable"):
        states.append("SchedulingDisabled")
    info = status.get("nodeInfo") or {}
    row = [",".join(states), ",".join(node_roles(_meta(node).get("labels") or {})) or NONE, _age(node, now),
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


def deployment_row(d: dict, now: float, wide: bool) -> list[str]:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    row = [f"{status.get('readyReplicas') or 0}/{spec.get('replicas', 1)}",
           str(status.get("updatedReplicas") or 0), str(status.get("availableReplicas") or 0), _age(d, now)]
    if wide:
        row += _containers_cells(spec.get("template") or {}) + [_selector_string(spec.get("selector"))]
    return row


def replicaset_row(rs: dict, now: float, wide: bool) -> list[str]:
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


def service_row(svc: dict, now: float, wide: bool) -> list[str]:
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


def endpoints_row(ep: dict, now: float, wide: bool) -> list[str]:
    return [format_endpoints(ep), _age(ep, now)]


def _limited(values: list[str], total: int) -> str:
    text = ",".join(values[:3])
    return f"{text} + {total - 3} more..." if total > 3 else text


def endpointslice_row(es: dict, now: float, wide: bool) -> list[str]:
    ports = es.get("ports") or []
    ports_text = _limited([str(p["port"]) if p.get("port") is not None else "<unset>" for p in ports],
                          len(ports)) or "<unset>"
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    addresses_text = _limited(addresses, len(addresses)) or "<unset>"
    return [es.get("addressType", ""), ports_text, addresses_text, _age(es, now)]


def namespace_row(ns: dict, now: float, wide: bool) -> list[str]:
    return [(ns.get("status") or {}).get("phase") or "Active", _age(ns, now)]


def secret_row(s: dict, now: float, wide: bool) -> list[str]:
    keys = set(s.get("data") or {}) | set(s.get("stringData") or {})
    return [s.get("type") or "Opaque", str(len(keys)), _age(s, now)]


def ingress_row(ing: dict, now: float, wide: bool) -> list[str]:
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


def ingressclass_row(ic: dict, now: float, wide: bool) -> list[str]:
    spec = ic.get("spec") or {}
    params = spec.get("parameters")
    text = NONE
    if params:
        text = params.get("kind", "")
        if params.get("apiGroup"):
            text += "." + params["apiGroup"]
        text += "/" + params.get("name", "")
    return [spec.get("controller", ""), text, _age(ic, now)]


def networkpolicy_row(np: dict, now: float, wide: bool) -> list[str]:
    return [format_label_selector((np.get("spec") or {}).get("podSelector") or {}), _age(np, now)]


def event_times(ev: dict, now: float) -> tuple[str, str]:
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


def event_row(ev: dict, now: float, wide: bool) -> list[str]:
    first, last = event_times(ev, now)
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


def generic_row(obj: dict, now: float, wide: bool) -> list[str]:
    return [_age(obj, now)]
