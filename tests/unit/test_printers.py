"""kubectl-shaped printers: exact table, name, YAML and describe output for served objects."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from netlab.cli import printers

NOW = 1_700_000_000.0


def ts(ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - ago))


def pod(name: str = "web-7d4b9c8f6d-abcde", ns: str = "default", ago: float = 300, state: dict | None = None,
        ready: bool = True, restarts: int = 0, ip: str = "10.244.1.2", node: str = "worker",
        phase: str = "Running", last_state: dict | None = None) -> dict:
    status = {"name": "web", "image": "netlab/echo", "ready": ready, "restartCount": restarts,
              "state": state or {"running": {"startedAt": ts(ago - 10)}}}
    if last_state:
        status["lastState"] = last_state
    cond = "True" if ready else "False"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": "u1", "creationTimestamp": ts(ago),
                     "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6d"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                          "name": "web-7d4b9c8f6d", "controller": True}]},
        "spec": {"containers": [{"name": "web", "image": "netlab/echo", "ports": [{"containerPort": 3000}],
                                 "env": [{"name": "MODE", "value": "echo"},
                                         {"name": "MY_IP",
                                          "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}],
                 "nodeName": node},
        "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "172.18.0.3",
                   "startTime": ts(ago),
                   "conditions": [{"type": "PodScheduled", "status": "True"},
                                  {"type": "Initialized", "status": "True"},
                                  {"type": "ContainersReady", "status": cond},
                                  {"type": "Ready", "status": cond}],
                   "containerStatuses": [status]},
    }


def service(name: str, type_: str = "ClusterIP", ports: list | None = None, **spec: object) -> dict:
    body = {"type": type_, "selector": {"app": name}, "ports": ports or [{"port": 80, "targetPort": 3000}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "uid": "s1", "creationTimestamp": ts(3600)},
            "spec": body}


def endpoints(ips: list[str], port: int = 3000) -> dict:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ts(60)},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips],
                         "ports": [{"port": port, "protocol": "TCP"}]}] if ips else []}


# ----- ages -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("seconds", "expected"), [
    (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (150, "2m30s"), (599, "9m59s"), (600, "10m"),
    (45 * 60, "45m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"), (3 * 3600 + 25 * 60, "3h25m"),
    (8 * 3600, "8h"),
    (40 * 3600, "40h"), (48 * 3600, "2d"), (53 * 3600, "2d5h"), (8 * 86400, "8d"), (400 * 86400, "400d"),
    (730 * 86400, "2y"), (800 * 86400, "2y70d"), (3000 * 86400, "8y"),
])
def test_format_age_follows_human_duration(seconds: int, expected: str) -> None:
    assert printers.format_age(ts(seconds), NOW) == expected


def test_format_age_edges() -> None:
    assert printers.format_age(None, NOW) == "<unknown>"
    assert printers.format_age(ts(-1), NOW) == "0s"
    assert printers.format_age(ts(-5), NOW) == "<invalid>"
    assert printers.format_age("2023-11-14T22:13:10.5+00:00", NOW) == "9s"


# ----- pods -------------------------------------------------------------------------------------
def test_pod_table() -> None:
    out = printers.table("Pod", [pod(), pod(name="db-0", ago=7200, restarts=3)], NOW)
    assert out == (
        "NAME                   READY   STATUS    RESTARTS   AGE\n"
        "web-7d4b9c8f6d-abcde   1/1     Running   0          5m\n"
        "db-0                   1/1     Running   3          120m\n"
    )


def test_pod_table_wide() -> None:
    out = printers.table("Pod", [pod()], NOW, wide=True)
    assert out == (
        "NAME                   READY   STATUS    RESTARTS   AGE   IP           NODE     NOMINATED NODE"
        "   READINESS GATES\n"
        "web-7d4b9c8f6d-abcde   1/1     Running   0          5m    10.244.1.2   worker   <none>"
        "           <none>\n"
    )


def test_pod_table_all_namespaces_and_show_kind() -> None:
    out = printers.table("Pod", [pod(name="a", ns="default"), pod(name="coredns", ns="kube-system")], NOW,
                         all_namespaces=True, show_kind=True)
    assert out == (
        "NAMESPACE     NAME          READY   STATUS    RESTARTS   AGE\n"
        "default       pod/a         1/1     Running   0          5m\n"
        "kube-system   pod/coredns   1/1     Running   0          5m\n"
    )


def test_pod_statuses_crashloop_creating_completed_error() -> None:
    crash = pod(name="crash", ready=False, restarts=4, state={"waiting": {"reason": "CrashLoopBackOff"}},
                last_state={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ts(20)}})
    creating = pod(name="new", ready=False, state={"waiting": {"reason": "ContainerCreating"}},
                   phase="Pending")
    done = pod(name="job", ready=False, state={"terminated": {"exitCode": 0, "reason": "Completed"}},
               phase="Succeeded")
    failed = pod(name="bad", ready=False, state={"terminated": {"exitCode": 2}}, phase="Failed")
    out = printers.table("Pod", [crash, creating, done, failed], NOW)
    assert out == (
        "NAME    READY   STATUS              RESTARTS      AGE\n"
        "crash   0/1     CrashLoopBackOff    4 (20s ago)   5m\n"
        "new     0/1     ContainerCreating   0             5m\n"
        "job     0/1     Completed           0             5m\n"
        "bad     0/1     ExitCode:2          0             5m\n"
    )


def test_empty_table_is_empty() -> None:
    assert printers.table("Pod", [], NOW) == ""


# ----- nodes, deployments, replicasets -------------------------------------------------------------
def node(name: str, control_plane: bool, ip: str) -> dict:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "creationTimestamp": ts(86400 * 3)},
            "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                     {"type": "Hostname", "address": name}],
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "netlab", "kernelVersion": "6.8.0", "osImage": "netns",
                                    "containerRuntimeVersion": "netlab://0.1"}}}


def test_node_table_normal_wide_and_all_namespaces() -> None:
    nodes = [node("control-plane", True, "172.18.0.2"), node("worker", False, "172.18.0.3")]
    expected = (
        "NAME            STATUS   ROLES           AGE   VERSION\n"
        "control-plane   Ready    control-plane   3d    netlab\n"
        "worker          Ready    <none>          3d    netlab\n"
    )
    assert printers.table("Node", nodes, NOW) == expected
    assert printers.table("Node", nodes, NOW, all_namespaces=True) == expected   # cluster-scoped
    assert printers.table("Node", nodes[1:], NOW, wide=True) == (
        "NAME     STATUS   ROLES    AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE   KERNEL-VERSION"
        "   CONTAINER-RUNTIME\n"
        "worker   Ready    <none>   3d    netlab    172.18.0.3    <none>        netns      6.8.0"
        "            netlab://0.1\n"
    )


DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ts(600)},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "netlab/echo",
                                                   "ports": [{"containerPort": 3000}]}]}}},
    "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 3},
}


def test_deployment_table() -> None:
    assert printers.table("Deployment", [DEPLOYMENT], NOW) == (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "web    2/3     3            2           10m\n"
    )
    assert printers.table("Deployment", [DEPLOYMENT], NOW, wide=True, show_kind=True) == (
        "NAME                  READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES        SELECTOR\n"
        "deployment.apps/web   2/3     3            2           10m   web          netlab/echo   app=web\n"
    )


def test_replicaset_table() -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-7d4b9c8f6d", "namespace": "default", "creationTimestamp": ts(600)},
          "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 3}}
    assert printers.table("ReplicaSet", [rs], NOW) == (
        "NAME             DESIRED   CURRENT   READY   AGE\n"
        "web-7d4b9c8f6d   3         3         3       10m\n"
    )


# ----- services, endpoints -------------------------------------------------------------------------
def test_service_table_each_type() -> None:
    items = [
        service("web", clusterIP="10.96.0.20"),
        service("db", clusterIP="None", ports=[{"port": 5432, "name": "pg"}]),
        service("np", "NodePort", clusterIP="10.96.0.21",
                ports=[{"port": 80, "nodePort": 30080}, {"port": 53, "protocol": "UDP", "nodePort": 30053}]),
        service("lb", "LoadBalancer", clusterIP="10.96.0.22", ports=[{"port": 443, "nodePort": 31443}]),
        {**service("lb2", "LoadBalancer", clusterIP="10.96.0.23"),
         "status": {"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}},
        service("ext", "ExternalName", externalName="example.com"),
        service("noip"),
    ]
    del items[5]["spec"]["ports"]
    assert printers.table("Service", items, NOW) == (
        "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP      PORT(S)                     AGE\n"
        "web    ClusterIP      10.96.0.20   <none>           80/TCP                      60m\n"
        "db     ClusterIP      None         <none>           5432/TCP                    60m\n"
        "np     NodePort       10.96.0.21   <none>           80:30080/TCP,53:30053/UDP   60m\n"
        "lb     LoadBalancer   10.96.0.22   <pending>        443:31443/TCP               60m\n"
        "lb2    LoadBalancer   10.96.0.23   172.18.255.200   80/TCP                      60m\n"
        "ext    ExternalName   <none>       example.com      <none>                      60m\n"
        "noip   ClusterIP      <none>       <none>           80/TCP                      60m\n"
    )


def test_service_table_wide_selector() -> None:
    svc = service("web", clusterIP="10.96.0.20")
    svc["spec"]["selector"] = {"tier": "front", "app": "web"}
    assert printers.table("Service", [svc], NOW, wide=True) == (
        "NAME   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE   SELECTOR\n"
        "web    ClusterIP   10.96.0.20   <none>        80/TCP    60m   app=web,tier=front\n"
    )


def test_endpoints_table_truncates_after_three() -> None:
    items = [endpoints(["10.244.1.2", "10.244.2.2"]),
             {**endpoints([f"10.244.{i}.2" for i in range(1, 6)]), "metadata": {"name": "many"}},
             {**endpoints([]), "metadata": {"name": "empty", "creationTimestamp": ts(5)}}]
    assert printers.table("Endpoints", items, NOW) == (
        "NAME    ENDPOINTS                                                     AGE\n"
        "web     10.244.1.2:3000,10.244.2.2:3000                               60s\n"
        "many    10.244.1.2:3000,10.244.2.2:3000,10.244.3.2:3000 + 2 more...   <unknown>\n"
        "empty   <none>                                                        5s\n"
    )


def test_other_kinds_tables() -> None:
    slice_ = {"kind": "EndpointSlice", "metadata": {"name": "web-abc12", "creationTimestamp": ts(60)},
              "addressType": "IPv4", "ports": [{"port": 3000}],
              "endpoints": [{"addresses": ["10.244.1.2"]}, {"addresses": ["10.244.2.2"]}]}
    assert printers.table("EndpointSlice", [slice_], NOW) == (
        "NAME        ADDRESSTYPE   PORTS   ENDPOINTS               AGE\n"
        "web-abc12   IPv4          3000    10.244.1.2,10.244.2.2   60s\n"
    )
    secret = {"kind": "Secret", "metadata": {"name": "tls", "creationTimestamp": ts(60)},
              "type": "kubernetes.io/tls", "data": {"tls.crt": "eA==", "tls.key": "eQ=="}}
    assert printers.table("Secret", [secret], NOW) == (
        "NAME   TYPE                DATA   AGE\n"
        "tls    kubernetes.io/tls   2      60s\n"
    )
    ingress = {"kind": "Ingress", "metadata": {"name": "web", "creationTimestamp": ts(60)},
               "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example"]}],
                        "rules": [{"host": "a.example"}, {"host": "b.example"}]},
               "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.2"}]}}}
    assert printers.table("Ingress", [ingress], NOW) == (
        "NAME   CLASS   HOSTS                 ADDRESS      PORTS     AGE\n"
        "web    nginx   a.example,b.example   172.18.0.2   80, 443   60s\n"
    )
    netpols = [{"kind": "NetworkPolicy", "metadata": {"name": "api", "creationTimestamp": ts(60)},
                "spec": {"podSelector": {"matchLabels": {"app": "api"}}}},
               {"kind": "NetworkPolicy", "metadata": {"name": "deny-all", "creationTimestamp": ts(60)},
                "spec": {"podSelector": {}}}]
    assert printers.table("NetworkPolicy", netpols, NOW) == (
        "NAME       POD-SELECTOR   AGE\n"
        "api        app=api        60s\n"
        "deny-all   <none>         60s\n"
    )
    ns = {"kind": "Namespace", "metadata": {"name": "default", "creationTimestamp": ts(60)},
          "status": {"phase": "Active"}}
    assert printers.table("Namespace", [ns], NOW, all_namespaces=True) == (
        "NAME      STATUS   AGE\n"
        "default   Active   60s\n"
    )
    widget = {"kind": "Widget", "metadata": {"name": "w", "creationTimestamp": ts(9)}}
    assert printers.table("Widget", [widget], NOW) == "NAME   AGE\nw      9s\n"


def test_event_table() -> None:
    ev = {"kind": "Event", "metadata": {"name": "netlab.1", "namespace": "default"},
          "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-1"},
          "reason": "Started", "message": "Started container web", "type": "Normal",
          "lastTimestamp": ts(30), "source": {"component": "netlab-controller"}}
    assert printers.table("Event", [ev], NOW, all_namespaces=True) == (
        "NAMESPACE   LAST SEEN   TYPE     REASON    OBJECT      MESSAGE\n"
        "default     30s         Normal   Started   pod/web-1   Started container web\n"
    )


# ----- -o name, yaml, json -----------------------------------------------------------------------
def test_names_output() -> None:
    items = [pod(name="a"), service("x"), DEPLOYMENT,
             {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"}}]
    assert printers.names_output(items) == (
        "pod/a\nservice/x\ndeployment.apps/web\nnetworkpolicy.networking.k8s.io/np\n")


def test_yaml_single_object_and_list() -> None:
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
           "spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}}
    assert printers.to_yaml(obj) == (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 80\n"
        "  selector:\n    app: x\n")
    text = printers.to_yaml([obj, obj])   # the same dict twice: no &id001 anchors
    assert text.startswith("apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n")
    assert text.endswith("kind: List\nmetadata:\n  resourceVersion: ''\n")
    assert yaml.safe_load(text) == {"apiVersion": "v1", "items": [obj, obj], "kind": "List",
                                    "metadata": {"resourceVersion": ""}}


def test_json_single_and_list() -> None:
    obj = {"kind": "Pod", "metadata": {"name": "a"}}
    assert printers.to_json(obj) == '{\n    "kind": "Pod",\n    "metadata": {\n        "name": "a"\n    }\n}'
    assert json.loads(printers.to_json([obj]))["kind"] == "List"


# ----- describe ----------------------------------------------------------------------------------
def test_describe_pod() -> None:
    ev = {"kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "web"},
          "type": "Normal", "reason": "Started", "message": "Started container web", "lastTimestamp": ts(30),
          "source": {"component": "netlab-controller"}}
    out = printers.describe("Pod", pod(), NOW, {"events": [ev]})
    assert out == (
        "Name:             web-7d4b9c8f6d-abcde\n"
        "Namespace:        default\n"
        "Priority:         0\n"
        "Service Account:  default\n"
        "Node:             worker/172.18.0.3\n"
        "Start Time:       Tue, 14 Nov 2023 22:08:20 +0000\n"
        "Labels:           app=web\n"
        "                  pod-template-hash=7d4b9c8f6d\n"
        "Annotations:      <none>\n"
        "Status:           Running\n"
        "IP:               10.244.1.2\n"
        "IPs:\n"
        "  IP:           10.244.1.2\n"
        "Controlled By:  ReplicaSet/web-7d4b9c8f6d\n"
        "Containers:\n"
        "  web:\n"
        "    Image:          netlab/echo\n"
        "    Port:           3000/TCP\n"
        "    Host Port:      0/TCP\n"
        "    State:          Running\n"
        "      Started:      Tue, 14 Nov 2023 22:08:30 +0000\n"
        "    Ready:          True\n"
        "    Restart Count:  0\n"
        "    Environment:\n"
        "      MODE:   echo\n"
        "      MY_IP:  10.244.1.2 (v1:status.podIP)\n"
        "    Mounts:   <none>\n"
        "Conditions:\n"
        "  Type              Status\n"
        "  PodScheduled      True\n"
        "  Initialized       True\n"
        "  ContainersReady   True\n"
        "  Ready             True\n"
        "Volumes:            <none>\n"
        "QoS Class:          BestEffort\n"
        "Node-Selectors:     <none>\n"
        "Tolerations:        <none>\n"
        "Events:\n"
        "  Type    Reason   Age   From               Message\n"
        "  ----    ------   ----  ----               -------\n"
        "  Normal  Started  30s   netlab-controller  Started container web\n"
    )


def test_describe_pod_waiting_and_terminated_states() -> None:
    crash = pod(ready=False, restarts=2, state={"waiting": {"reason": "CrashLoopBackOff"}},
                last_state={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ts(20)}})
    out = printers.describe("Pod", crash, NOW, {"events": []})
    assert "    State:          Waiting\n      Reason:       CrashLoopBackOff\n" in out
    assert "    Last State:     Terminated\n      Reason:       Error\n      Exit Code:    1\n" in out
    assert "    Restart Count:  2\n" in out
    assert out.endswith("Tolerations:        <none>\nEvents:             <none>\n")


def test_describe_service() -> None:
    svc = service("web", "NodePort", clusterIP="10.96.0.20", clusterIPs=["10.96.0.20"],
                  ports=[{"name": "http", "port": 80, "targetPort": 3000, "nodePort": 30080}])
    ep = endpoints(["10.244.1.2", "10.244.2.2"])
    ep["subsets"][0]["ports"][0]["name"] = "http"
    out = printers.describe("Service", svc, NOW,
                            {"events": [], "endpoints": ep, "dns_names": ["web.default.svc.cluster.local"]})
    assert out == (
        "Name:                     web\n"
        "Namespace:                default\n"
        "Labels:                   <none>\n"
        "Annotations:              <none>\n"
        "Selector:                 app=web\n"
        "Type:                     NodePort\n"
        "IP Family Policy:         SingleStack\n"
        "IP Families:              IPv4\n"
        "IP:                       10.96.0.20\n"
        "IPs:                      10.96.0.20\n"
        "Port:                     http  80/TCP\n"
        "TargetPort:               3000/TCP\n"
        "NodePort:                 http  30080/TCP\n"
        "Endpoints:                10.244.1.2:3000,10.244.2.2:3000\n"
        "Session Affinity:         None\n"
        "External Traffic Policy:  Cluster\n"
        "Internal Traffic Policy:  Cluster\n"
        "DNS Names:                web.default.svc.cluster.local\n"
        "Events:                   <none>\n"
    )


def test_describe_service_without_endpoints_and_load_balancer() -> None:
    svc = {**service("lb", "LoadBalancer", clusterIP="10.96.0.22", ports=[{"port": 80}]),
           "status": {"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}}
    out = printers.describe("Service", svc, NOW, {"endpoints": None})
    assert "LoadBalancer Ingress:     172.18.255.200\n" in out
    assert "Port:                     <unset>  80/TCP\n" in out
    assert "TargetPort:               80/TCP\n" in out
    assert "Endpoints:                <none>\n" in out


def test_describe_deployment_and_node() -> None:
    out = printers.describe("Deployment", DEPLOYMENT, NOW, {"events": []})
    assert "Selector:               app=web\n" in out
    assert "Replicas:               3 desired | 3 updated | 3 total | 2 available | 1 unavailable\n" in out
    assert "StrategyType:           RollingUpdate\n" in out
    assert "Pod Template:\n  Labels:  app=web\n  Containers:\n   web:\n    Image:        netlab/echo\n" in out
    out = printers.describe("Node", node("worker", False, "172.18.0.3"), NOW, {"pods": [pod()], "events": []})
    assert out.startswith("Name:               worker\nRoles:              <none>\n")
    assert "Addresses:\n  InternalIP:  172.18.0.3\n  Hostname:    worker\n" in out
    assert "PodCIDRs:                     10.244.0.0/24\n" in out
    assert ("Non-terminated Pods:          (1 in total)\n"
            "  Namespace                   Name                  Age\n"
            "  ---------                   ----                  ---\n"
            "  default                     web-7d4b9c8f6d-abcde  5m\n") in out


def test_describe_secret_hides_values() -> None:
    secret = {"kind": "Secret", "metadata": {"name": "tls", "namespace": "default"},
              "type": "kubernetes.io/tls", "data": {"tls.key": "c2VjcmV0IQ==", "tls.crt": "aGVsbG8="}}
    out = printers.describe("Secret", secret, NOW, {})
    assert out.endswith("Type:  kubernetes.io/tls\n\nData\n====\ntls.crt:  5 bytes\ntls.key:  7 bytes\n")
    assert "c2VjcmV0IQ" not in out and "secret!" not in out


def test_describe_network_policy_and_generic() -> None:
    np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
          "metadata": {"name": "api", "namespace": "default", "creationTimestamp": ts(60)},
          "spec": {"podSelector": {"matchLabels": {"app": "api"}},
                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                "ports": [{"port": 3000}]}]}}
    out = printers.describe("NetworkPolicy", np, NOW, {})
    assert ("Spec:\n  PodSelector:     app=api\n  Allowing ingress traffic:\n    To Port: 3000/TCP\n"
            "    From:\n      PodSelector: app=web\n  Not affecting egress traffic\n"
            "  Policy Types: Ingress\n") in out
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "web", "namespace": "default", "uid": "u"},
           "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example"}]}}
    assert printers.describe("IngressClass", {**ing, "kind": "IngressClass"}, NOW, {"events": []}) == (
        "Name:         web\n"
        "Namespace:    default\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "API Version:  networking.k8s.io/v1\n"
        "Kind:         IngressClass\n"
        "Metadata:\n"
        "  UID:  u\n"
        "Spec:\n"
        "  Ingress Class Name:  nginx\n"
        "  Rules:\n"
        "    Host:  a.example\n"
        "Events:    <none>\n"
    )


def test_describe_ingress_resolves_rules_to_endpoints() -> None:
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "web", "namespace": "default", "annotations": {"x": "y"}},
           "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example"], "secretName": "s"}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "172.18.255.201"}]}}}
    rows = [{"ingress": "default/web", "host": "a.example", "path": "/", "pathType": "Prefix",
             "backend": "app:80", "endpoints": ["10.244.1.2:3000"], "error": None},
            {"ingress": "default/web", "host": "a.example", "path": "/api", "pathType": "Prefix",
             "backend": "api:80", "endpoints": [], "error": "service not found"}]
    out = printers.describe("Ingress", ing, NOW, {"rules": rows, "notes": ["annotation x: ignored"], "events": []})
    assert "Address:          172.18.255.201\n" in out
    assert "  s terminates a.example\n" in out
    assert "/     app:80 (10.244.1.2:3000)" in out and "/api  api:80 (service not found)" in out
    assert "Notes:\n  annotation x: ignored\n" in out
