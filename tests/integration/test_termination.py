"""Issue 17, graceful termination, with real packets and real kubectl: a deleted pod is Terminating, runs its
preStop hook, drains (its EndpointSlice endpoint ready=false serving=true terminating=true; new connections go
to ready endpoints, requests in flight finish), gets SIGTERM then SIGKILL after its grace period; terminating
endpoints serve only when no ready one is left; a rolling update under steady load loses no request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from conftest import echo_answer, wait_for

SINK = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: v1
kind: Service
metadata: {name: sink}
spec:
  selector: {app: sink}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-sink, labels: {app: sink}}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
"""

PODS = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 8081}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-a, labels: {app: web}}
spec:
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 3000}]
      readinessProbe: {httpGet: {path: /, port: 3000}, periodSeconds: 1}
      lifecycle:
        preStop:
          exec: {command: [sh, -c, "curl -sS -m 3 http://sink:8080/prestop-exec; sleep 4"]}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-b, labels: {app: web}}
spec:
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 3000}]
      readinessProbe: {httpGet: {path: /, port: 3000}, periodSeconds: 1}
      lifecycle:
        preStop:
          sleep: {seconds: 60}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-stubborn}
spec:
  terminationGracePeriodSeconds: 4
  containers:
    - name: sh
      image: busybox
      command: [sh, -c, "trap 'echo got-TERM' TERM; while :; do sleep 0.2; done"]
      lifecycle:
        preStop:
          httpGet: {host: SINK_IP, path: /prestop-http, port: 8080}
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-quick}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
"""


def _get(lab, *what: str, check: bool = True) -> dict:
    proc = lab.kubectl("get", *what, "-o", "json", check=check)
    return json.loads(proc.stdout) if proc.returncode == 0 else {}


def _slice_conditions(lab, service: str) -> dict[str, dict]:
    slices = _get(lab, "endpointslices", "-l", f"kubernetes.io/service-name={service}")["items"]
    return {ep["targetRef"]["name"]: ep["conditions"] for s in slices for ep in s.get("endpoints") or []}


def _who(lab, client: str, url: str, timeout: float = 3) -> str:
    proc = lab.curl(client, url, timeout=timeout)
    return echo_answer(proc.stdout).get("pod", "") if proc.returncode == 0 else f"failed: {proc.stderr.strip()}"


def _gone(lab, pod: str) -> bool:
    return lab.kubectl("get", "pod", pod, check=False).returncode != 0


def test_deleted_pod_drains_then_goes(lab):
    c = lab.cluster
    lab.netlab("up", str(lab.write("sink.yaml", SINK)))
    wait_for(lambda: _get(lab, "pod", f"{c}-sink")["status"].get("podIP"), 30, what="sink pod")
    sink_ip = _get(lab, "pod", f"{c}-sink")["status"]["podIP"]
    lab.netlab("apply", "-f", str(lab.write("pods.yaml", PODS.replace("SINK_IP", sink_ip))))
    client = f"{c}-client"
    wait_for(lambda: all(v["ready"] for v in _slice_conditions(lab, "web").values())
             and len(_slice_conditions(lab, "web")) == 2, 60, what="both web endpoints ready")
    svc = _get(lab, "service", "web")["spec"]["clusterIP"]

    # requests in flight when a is deleted outlast its hook (4 s): every one finishes, as the server drains
    slow = [subprocess.Popen(["ip", "netns", "exec", client, "curl", "-sS", "--max-time", "15",
                              f"http://{svc}/delay/8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(6)]
    time.sleep(1)
    lab.kubectl("delete", "pod", f"{c}-a", "--wait=false")
    pod = _get(lab, "pod", f"{c}-a")
    assert pod["metadata"]["deletionTimestamp"] and pod["metadata"]["deletionGracePeriodSeconds"] == 30
    assert "Terminating" in lab.kubectl("get", "pod", f"{c}-a").stdout
    assert _slice_conditions(lab, "web")[f"{c}-a"] == {"ready": False, "serving": True, "terminating": True}
    endpoints = _get(lab, "endpoints", "web")
    assert pod["status"]["podIP"] not in json.dumps(endpoints)   # the endpoints controller leaves it out
    # new connections go to the ready endpoint only
    assert {_who(lab, client, f"http://{svc}/") for _ in range(8)} == {f"{c}-b"}
    outs = [p.communicate(timeout=30) for p in slow]
    assert all(p.returncode == 0 for p in slow), outs
    wait_for(lambda: _gone(lab, f"{c}-a"), 30, what="pod a gone after its drain")
    assert "GET /prestop-exec" in lab.kubectl("logs", f"{c}-sink").stdout
    events = lab.kubectl("get", "events", "--field-selector", f"involvedObject.name={c}-a").stdout
    assert "Killing" in events

    # b: no ready endpoint left, so the terminating one serves (its preStop hook sleeps)
    lab.kubectl("delete", "pod", f"{c}-b", "--wait=false")
    assert _slice_conditions(lab, "web")[f"{c}-b"]["terminating"] is True
    assert _who(lab, client, f"http://{svc}/") == f"{c}-b"
    t0 = time.monotonic()
    lab.kubectl("delete", "pod", f"{c}-b", "--now", "--wait=false")   # grace 1 from now: SIGTERM, then gone
    wait_for(lambda: _gone(lab, f"{c}-b"), 20, what="pod b gone after --now")
    assert time.monotonic() - t0 < 15
    assert "failed" in _who(lab, client, f"http://{svc}/", timeout=2)   # no endpoint: rejected

    # stubborn ignores SIGTERM: SIGKILL after its 4 s grace period, not before
    lab.kubectl("delete", "pod", f"{c}-stubborn", "--wait=false")
    t0 = time.monotonic()
    time.sleep(2)
    assert "Terminating" in lab.kubectl("get", "pod", f"{c}-stubborn").stdout
    wait_for(lambda: _gone(lab, f"{c}-stubborn"), 20, what="stubborn pod killed")
    assert time.monotonic() - t0 >= 3.0
    assert "GET /prestop-http" in lab.kubectl("logs", f"{c}-sink").stdout

    # --force --grace-period=0: gone at once
    lab.kubectl("delete", "pod", f"{c}-quick", "--force", "--grace-period=0")
    assert _gone(lab, f"{c}-quick")
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.count(f"{c}-quick") == 0


ROLLOUT = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: CLUSTER-web}
spec:
  replicas: 3
  minReadySeconds: 1
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
        - name: echo
          image: echo
          ports: [{containerPort: 3000}]
          readinessProbe: {httpGet: {path: /, port: 3000}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-client}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 8080}]}]
"""

# bounded load: at most this many requests, for at most this many seconds
REQUESTS, SECONDS = 400, 90


def test_rolling_update_under_load_loses_no_request(lab):
    c = lab.cluster
    lab.netlab("up", str(lab.write("rollout.yaml", ROLLOUT)))
    lab.kubectl("rollout", "status", f"deployment/{c}-web", "--timeout=90s", timeout=120)
    svc = _get(lab, "service", "web")["spec"]["clusterIP"]
    # curl in a bounded loop in the client pod: one line per request, its HTTP code (000: failed)
    loop = (f"for i in $(seq {REQUESTS}); do curl -s -o /dev/null -w '%{{http_code}}\\n' --max-time 3 "
            f"http://{svc}/ ; done")
    load = subprocess.Popen(["timeout", str(SECONDS), "ip", "netns", "exec", f"{c}-client", "sh", "-c", loop],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        lab.kubectl("rollout", "restart", f"deployment/{c}-web")
        lab.kubectl("rollout", "status", f"deployment/{c}-web", "--timeout=90s", timeout=120)
        time.sleep(2)   # the last old pods drain while the load goes on
    finally:
        out, _ = load.communicate(timeout=SECONDS + 30)
    codes = out.split()
    assert len(codes) >= 50, f"too few requests sent: {len(codes)}"
    failed = [x for x in codes if x != "200"]
    assert failed == [], f"{len(failed)} of {len(codes)} requests failed during the rollout: {sorted(set(failed))}"
    wait_for(lambda: len(_get(lab, "pods", "-l", "app=web")["items"]) == 3, 30, what="old pods gone")

    # a scale-down terminates the pods it removes the same way (a hook keeps them Terminating a while)
    lab.kubectl("patch", f"deployment/{c}-web", "-p", json.dumps({"spec": {"template": {"spec": {"containers": [
        {"name": "echo", "lifecycle": {"preStop": {"sleep": {"seconds": 3}}}}]}}}}))
    lab.kubectl("rollout", "status", f"deployment/{c}-web", "--timeout=90s", timeout=120)
    wait_for(lambda: len(_get(lab, "pods", "-l", "app=web")["items"]) == 3, 30, what="old pods gone")
    lab.kubectl("scale", f"deployment/{c}-web", "--replicas=1")
    terminating = [p["metadata"]["name"] for p in _get(lab, "pods", "-l", "app=web")["items"]
                   if p["metadata"].get("deletionTimestamp")]
    assert len(terminating) == 2
    assert "Terminating" in lab.kubectl("get", "pods", "-l", "app=web").stdout
    conditions = _slice_conditions(lab, "web")
    assert all(conditions[name]["terminating"] and not conditions[name]["ready"] for name in terminating)
    wait_for(lambda: len(_get(lab, "pods", "-l", "app=web")["items"]) == 1, 30, what="scaled down to 1")


CRASH = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-fast}
spec:
  containers: [{name: echo, image: echo, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: CLUSTER-stubborn}
spec:
  terminationGracePeriodSeconds: 15
  containers:
    - name: sh
      image: busybox
      command: [sh, -c, "trap 'echo got-TERM' TERM; while :; do sleep 0.2; done"]
"""


def test_a_controller_restart_during_a_termination_still_ends_the_pod(lab):
    c = lab.cluster
    lab.netlab("up", str(lab.write("crash.yaml", CRASH)))
    wait_for(lambda: _get(lab, "pod", f"{c}-stubborn")["status"].get("phase") == "Running", 30, what="running")
    # kubectl delete waits for the pod object to go (an echo server exits on SIGTERM at once)
    lab.kubectl("delete", "pod", f"{c}-fast", "--timeout=60s", timeout=90)
    assert _gone(lab, f"{c}-fast")

    lab.kubectl("delete", "pod", f"{c}-stubborn", "--wait=false")
    t0 = time.monotonic()
    pid = int(open(f"/run/netlab/{c}/controller.pid").read())
    os.kill(pid, signal.SIGKILL)
    lab.netlab("up", timeout=120)   # a new controller, from the state file
    if time.monotonic() - t0 < 12:   # (on a loaded machine `up` may take longer than the grace period)
        assert "Terminating" in lab.kubectl("get", "pod", f"{c}-stubborn").stdout
    wait_for(lambda: _gone(lab, f"{c}-stubborn"), 60, what="stubborn pod ended by the next controller")
    assert time.monotonic() - t0 >= 13.0   # its grace period still counted from the deletion
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.count(f"{c}-stubborn") == 0
