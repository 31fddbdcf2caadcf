"""Issue 13: real kubectl's `describe` (client-side: it reads the object, what it relates to, and its core/v1
Events through `fieldSelector=involvedObject.*`) against a real netlab cluster, for pod, service, endpoints,
deployment, replicaset, node, ingress, networkpolicy and namespace; and `get events` by field selector."""

from __future__ import annotations

import json
import re

from tests.integration.test_kubectl_read import table, up


def fields(text: str) -> dict[str, str]:
    """The top-level `Key:  value` lines of a describe output."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Z][A-Za-z -]*):\s+(.*)$", line)
        if m:
            out.setdefault(m.group(1), m.group(2).strip())
    return out


def events_section(text: str) -> list[list[str]]:
    """The rows of the Events table at the end of a describe output ([] for `Events: <none>`)."""
    tail = text.split("\nEvents:", 1)[1]
    if tail.strip() == "<none>":
        return []
    lines = [line for line in tail.splitlines() if line.strip() and not set(line.strip()) <= set("- ")]
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def test_describe_shows_each_kind_with_its_events(lab) -> None:
    ns = up(lab)
    c, k = lab.cluster, lab.kubectl
    pods = json.loads(k("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods}
    app_eps = sorted(f"{ip}:3000" for name, ip in ips.items() if name != f"{c}-solo")
    node_ip = json.loads(k("get", "node", f"{c}-worker", "-o", "json").stdout)["status"]["addresses"][0]["address"]

    out = k("describe", "pod", f"{c}-solo", "-n", ns).stdout
    f = fields(out)
    assert f["Name"] == f"{c}-solo" and f["Namespace"] == ns and f["Status"] == "Running"
    assert f["Node"] == f"{c}-worker/{node_ip}" and f["IP"] == ips[f"{c}-solo"]
    assert f["Service Account"] == "default" and f["QoS Class"] == "BestEffort"
    assert "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s" in out
    assert re.search(r"Image:\s+echo", out) and re.search(r"Ready\s+True", out)
    reasons = {(e[1], e[3]) for e in events_section(out)}
    assert {("Scheduled", "default-scheduler"), ("Started", "kubelet")} <= reasons, out

    rs_pod = next(n for n in ips if n != f"{c}-solo")
    out = k("describe", "pod", rs_pod, "-n", ns).stdout
    assert fields(out)["Controlled By"].startswith(f"ReplicaSet/{c}-app-")

    out = k("describe", "svc", f"{c}-svc", "-n", ns).stdout
    f = fields(out)
    assert f["Selector"] == f"app={c}-app" and f["Type"] == "ClusterIP"
    assert f["IP Family Policy"] == "SingleStack" and f["IP Families"] == "IPv4"
    assert f["Port"] == "http  80/TCP" and f["TargetPort"] == "3000/TCP"
    assert sorted(f["Endpoints"].split(",")) == app_eps
    assert ("Created", "netlab-controller") in {(e[1], e[3]) for e in events_section(out)}

    out = k("describe", "endpoints", f"{c}-svc", "-n", ns).stdout
    assert sorted(re.search(r"Addresses:\s+(\S+)", out).group(1).split(",")) == sorted(a[:-5] for a in app_eps)
    assert re.search(r"http\s+3000\s+TCP", out)

    out = k("describe", "deploy", f"{c}-app", "-n", ns).stdout
    f = fields(out)
    assert f["Replicas"] == "2 desired | 2 updated | 2 total | 2 available | 0 unavailable"
    assert re.fullmatch(rf"{c}-app-\w+ \(2/2 replicas created\)", f["NewReplicaSet"])
    assert re.search(r"Available\s+True\s+MinimumReplicasAvailable", out)
    assert "ScalingReplicaSet" in {e[1] for e in events_section(out)}

    out = k("describe", "rs", "-n", ns).stdout
    f = fields(out)
    assert f["Controlled By"] == f"Deployment/{c}-app" and f["Pods Status"].startswith("2 Running")

    out = k("describe", "node", f"{c}-worker").stdout
    f = fields(out)
    assert f["PodCIDR"].startswith("10.244.") and re.search(r"Ready\s+True\s+.*KubeletReady", out)
    assert f"InternalIP:  {node_ip}" in out and f["Non-terminated Pods"].startswith("(")
    assert re.search(rf"{ns}\s+{c}-solo", out)

    out = k("describe", "ing", f"{c}-ing", "-n", ns).stdout
    f = fields(out)
    assert f["Ingress Class"] == "nginx"
    backend = re.search(rf"/\s+{c}-svc:80 \(([^)]*)\)", out)
    assert backend and sorted(backend.group(1).split(",")) == app_eps, out
    assert ("Created", "netlab-controller") in {(e[1], e[3]) for e in events_section(out)}

    out = k("describe", "netpol", f"{c}-pol", "-n", ns).stdout
    assert re.search(rf"PodSelector:\s+app={c}-app", out) and re.search(r"From:\s+PodSelector: app=solo", out)
    assert "To Port: 3000/TCP" in out and "Policy Types: Ingress" in out

    out = k("describe", "ns", ns).stdout
    assert fields(out)["Status"] == "Active" and f"kubernetes.io/metadata.name={ns}" in out


def test_events_by_field_selector(lab) -> None:
    ns = up(lab)
    c, k = lab.cluster, lab.kubectl
    header, rows = table(k("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={c}-solo").stdout)
    assert header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert {r[3] for r in rows} == {f"pod/{c}-solo"} and {"Scheduled", "Started"} <= {r[2] for r in rows}
    kinds = json.loads(k("get", "events", "-n", ns, "--field-selector", "involvedObject.kind=Deployment",
                         "-o", "json").stdout)["items"]
    assert kinds and {e["involvedObject"]["name"] for e in kinds} == {f"{c}-app"}
    warnings = k("get", "events", "-A", "--field-selector", "type=Warning,involvedObject.namespace=" + ns)
    assert warnings.stdout == "" and "No resources found" in warnings.stderr
    header, rows = table(k("get", "events", "-n", ns, "-o", "wide").stdout)
    assert header == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN",
                      "COUNT", "NAME"]
