"""`describe` for Services, Endpoints, NetworkPolicies (with netlab's explanation) and Ingresses."""

from __future__ import annotations

from netlab.api.humanize import NONE, _meta, _parse_time, format_label_selector, format_labels
from netlab.cli.printers.describe_base import _annotations_multiline, _events, _header, _labels_multiline, _multiline
from netlab.cli.printers.format import _Writer
from netlab.cli.printers.tables import format_endpoints


def _describe_service(svc: dict, now: float, related: dict) -> str:
    meta, spec, status = _meta(svc), svc.get("spec") or {}, svc.get("status") or {}
    kind = spec.get("type") or "ClusterIP"
    w = _Writer()
    _header(w, meta)
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
    if related.get("counters") is not None:
        _service_counters(w, related["counters"])
    _events(w, related.get("events"), now)
    return w.render()


def _service_counters(w: _Writer, rows: list[dict]) -> None:
    """netlab's addition: new connections DNATed to each endpoint (nft counters of the endpoint chains)."""
    w.flush()
    w.write(0, "New connections per endpoint (nft counters):\n")
    if not rows:
        w.write(1, "<none> (no endpoint chains)\n")
    for r in rows:
        w.write(1, f"{r['port']}/{r['protocol']}\t{r['endpoint']}\t{r['pod'] or '<none>'}\t"
                   f"{r['connections']} connections\n")
    w.flush()


def _describe_endpoints(ep: dict, now: float, related: dict) -> str:
    meta = _meta(ep)
    w = _Writer()
    _header(w, meta)
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
    if related.get("counters") is not None:
        _netpol_counters(w, related["counters"])
    return w.render()


def _netpol_counters(w: _Writer, rows: list[dict]) -> None:
    """netlab's addition: packets and bytes per policy rule and pod, from the nft counters of the pod
    chains (only packets of connections not yet established reach them: connection attempts)."""
    w.flush()
    w.write(0, "Counters (nft, new connections' packets since the rules were installed):\n")
    if not rows:
        w.write(1, "<none> (the policy selects no running pod)\n")
    for r in rows:
        w.write(1, f"{r['pod']}\t{r['rule']}\t{r['verdict']}\t{r['packets']} packets\t{r['bytes']} bytes\n")
    w.flush()


def _netpol_explained(w: _Writer, ex: dict) -> None:
    """netlab's addition after kubectl's layout: the policy resolved against the live pods
    (`netlab.compile.netpol_explain.explain`): selected pods, then per rule the peers (pods, CIDRs) and ports."""
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
