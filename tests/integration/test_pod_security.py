"""A pod cannot take over the host or the cluster (issue 11, section 5).

Each escape is tried from inside a real pod, both by the container itself (started by the launcher)
and by `netlab exec` (which joins the container), and the test fails if it works.
"""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess
import sys
import time
from pathlib import Path

from conftest import echo_answer, wait_for

from netlab.compile import names
from netlab.compile.security import CAPABILITIES, DEFAULT_CAPS, cap_mask

# Every attempt prints "<name>=<exit code>"; 0 means the escape worked.
ESCAPES = {
    "read-state": "cat /var/lib/netlab/CLUSTER/state.json",
    "list-state": "ls /var/lib/netlab/CLUSTER",
    # the API answers pods (the `kubernetes` Service), but only to a client certificate they cannot read
    "api-anonymous": "sh -c 'curl -sfk --max-time 2 https://$KUBERNETES_SERVICE_HOST/api/v1/pods'",
    "api-keys": "cat /var/lib/netlab/CLUSTER/pki/admin.key",
    "launcher-socket": "test -S /run/netlab/CLUSTER/launcher.sock",
    "netns-exec-node": "ip netns exec CLUSTER-control-plane true",
    "nsenter-host": "nsenter --net=/proc/1/ns/net true",
    "nft-flush": "nft flush ruleset",
    "link-add": "ip link add nl-esc type veth peer name nl-esc2",
    "read-shadow": "grep -q : /etc/shadow",
    "write-host": "touch /etc/netlab-escape-CLUSTER",
    "core-pattern": "sh -c 'echo x > /proc/sys/kernel/core_pattern'",
    "raw-disk": "sh -c 'ls /dev | grep -qE \"^(sd|vd|nvme|xvd|loop)\"'",
    "mknod-disk": "sh -c 'mknod /tmp/d b 8 0 && head -c1 /tmp/d'",
    "other-pods": "ls /run/netlab/CLUSTER/pods",
    "etc-netns": "ls /etc/netns/CLUSTER-victim",
    "host-processes": "test $(ls -d /proc/[0-9]* | wc -l) -gt 10",
}


def _script(cluster: str) -> str:
    lines = [f"{cmd.replace('CLUSTER', cluster)} >/dev/null 2>&1; echo {name}=$?" for name, cmd in ESCAPES.items()]
    return "; ".join(lines)


def _results(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split("=", 1) for line in text.splitlines() if "=" in line)
            if k in ESCAPES}


def _status(text: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def _pod(lab, name: str) -> dict:
    return json.loads(lab.netlab("get", "pod", name, "-o", "json").stdout)


def test_a_default_pod_cannot_escape(lab) -> None:
    c = lab.cluster
    command = ["sh", "-c", f"{_script(c)}; grep -E '^(Cap|NoNewPrivs)' /proc/self/status; sleep infinity"]
    lab.netlab("up", str(lab.write("esc.yaml", f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: CLUSTER-esc}}
    spec:
      containers:
        - name: shell
          image: busybox
          command: {json.dumps(command)}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {{name: CLUSTER-victim}}
    spec:
      containers: [{{name: echo, image: echo, ports: [{{containerPort: 8080}}]}}]
    """)))
    pod = f"{c}-esc"

    def logs() -> str:
        return lab.netlab("logs", pod).stdout

    wait_for(lambda: "CapEff" in logs(), timeout=20, what="the escape script to finish")
    for source, text in (("container", logs()),
                         ("exec", lab.netlab("exec", pod, "--", "sh", "-c", _script(c)).stdout)):
        results = _results(text)
        assert set(results) == set(ESCAPES), (source, text)
        worked = sorted(name for name, code in results.items() if code == 0)
        assert not worked, f"escapes that worked from the {source}: {worked}"
    # its own PID namespace: the host's processes (the controller here) can be neither seen nor signalled
    controller = Path(f"/run/netlab/{c}/controller.pid").read_text().strip()
    assert lab.netlab("exec", pod, "--", "kill", "-0", controller, check=False).returncode != 0
    assert lab.netlab("exec", pod, "--", "cat", "/proc/1/cmdline").stdout.startswith("sh\0-c\0")
    status = _status(logs())
    default = f"{cap_mask(DEFAULT_CAPS):016x}"
    assert status["CapEff"] == status["CapPrm"] == status["CapBnd"] == default, status
    assert status["CapInh"] == status["CapAmb"] == "0" * 16
    assert status["NoNewPrivs"] == "0"
    # its own host name and IPC namespace, as a Kubernetes pod
    assert lab.netlab("exec", pod, "--", "hostname").stdout.strip() == pod
    assert lab.netlab("exec", pod, "--", "getent", "hosts", pod).stdout.split()[0] == lab.pod_ip(pod)
    own_ipc = lab.netlab("exec", pod, "--", "readlink", "/proc/self/ns/ipc").stdout.strip()
    assert own_ipc and own_ipc != os.readlink("/proc/self/ns/ipc")
    # exec gets the container's capabilities too, and the pod's own resolv.conf as before
    exec_status = _status(lab.netlab("exec", pod, "--", "cat", "/proc/self/status").stdout)
    assert exec_status["CapEff"] == default
    resolv = lab.netlab("exec", pod, "--", "cat", "/etc/resolv.conf").stdout
    assert "nameserver 10.96.0.10" in resolv and "search default.svc.cluster.local" in resolv
    # the pod's network is its own; other pods are still reachable through it
    victim_ip = lab.pod_ip(f"{c}-victim")
    answer = lab.netlab("exec", pod, "--", "curl", "-sS", "--max-time", "3", f"http://{victim_ip}:8080/").stdout
    assert echo_answer(answer)["pod"] == f"{c}-victim"
    # nothing the pod tried changed the host or the node
    assert not Path(f"/etc/netlab-escape-{c}").exists()
    node_rules = subprocess.run(["ip", "netns", "exec", f"{c}-control-plane", "nft", "list", "ruleset"],
                                capture_output=True, text=True)
    assert f"table inet {names.NFT_TABLE}" in node_rules.stdout or f"table ip {names.NFT_TABLE}" in node_rules.stdout


def test_security_context_is_honoured(lab) -> None:
    c = lab.cluster
    lab.netlab("up", str(lab.write("sc.yaml", """
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-admin}
    spec:
      containers:
        - name: tools
          image: nicolaka/netshoot
          command: [sleep, infinity]
          securityContext: {capabilities: {add: [NET_ADMIN]}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-user}
    spec:
      securityContext: {runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000]}
      containers:
        - name: echo
          image: echo
          ports: [{containerPort: 80}]
          securityContext: {runAsUser: 1234, allowPrivilegeEscalation: false}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-minimal}
    spec:
      containers:
        - name: sleep
          image: busybox
          command: [sleep, infinity]
          securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}, readOnlyRootFilesystem: true}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-priv}
    spec:
      containers:
        - name: sleep
          image: busybox
          command: [sleep, infinity]
          securityContext: {privileged: true}
    """)))
    # `up` waits for Ready, which a refused container never is: apply it on its own
    lab.netlab("apply", "-f", str(lab.write("nonroot.yaml", """
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-nonroot}
    spec:
      securityContext: {runAsNonRoot: true}
      containers: [{name: app, image: busybox, command: [sleep, infinity]}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-nopath}
    spec:
      restartPolicy: Never
      volumes: [{name: data, hostPath: {path: /nonexistent/CLUSTER}}]
      containers:
        - {name: app, image: busybox, command: ["true"], volumeMounts: [{name: data, mountPath: /data}]}
    """)))

    def ex(pod: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return lab.netlab("exec", f"{c}-{pod}", "--", *argv, check=check)

    # NET_ADMIN added: rules and links change in the pod's own namespace, and nowhere else
    ex("admin", "nft", "add", "table", "inet", "podtable")
    assert "table inet podtable" in ex("admin", "nft", "list", "ruleset").stdout
    ex("admin", "ip", "addr", "add", "192.0.2.7/32", "dev", "lo")
    seen = lab.in_ns(f"{c}-admin", "ip", "-br", "addr", "show", "dev", "lo").stdout
    assert "192.0.2.7/32" in seen
    node = subprocess.run(["ip", "netns", "exec", f"{c}-control-plane", "nft", "list", "tables"],
                          capture_output=True, text=True).stdout
    assert "podtable" not in node
    assert ex("admin", "ip", "netns", "exec", f"{c}-control-plane", "true", check=False).returncode != 0
    admin_caps = int(_status(ex("admin", "cat", "/proc/self/status").stdout)["CapEff"], 16)
    assert admin_caps == cap_mask(DEFAULT_CAPS | {"NET_ADMIN"})

    # runAsUser (container over pod), runAsGroup and supplementalGroups from the pod, no_new_privs
    assert ex("user", "id", "-u").stdout.strip() == "1234"
    assert ex("user", "id", "-g").stdout.strip() == "3000"
    assert "4000" in ex("user", "id", "-G").stdout.split()
    status = _status(ex("user", "cat", "/proc/self/status").stdout)
    assert status["NoNewPrivs"] == "1"
    assert status["CapEff"] == status["CapPrm"] == "0" * 16  # what execve leaves a non-root user
    assert status["CapBnd"] == f"{cap_mask(DEFAULT_CAPS):016x}"
    echo = subprocess.run(["ps", "-o", "uid=", "-p", str(_echo_pid(c))],
                          capture_output=True, text=True).stdout.strip()
    assert echo == "1234"
    user_ip = lab.pod_ip(f"{c}-user")  # a non-root container binds port 80, as with containerd 2
    assert echo_answer(lab.curl(None, f"http://{user_ip}/").stdout)["pod"] == f"{c}-user"

    # -t: a terminal of the container's own /dev/pts, and the command's exit status
    out, code = _exec_with_terminal(lab, f"{c}-user", "tty; id -u; exit 4")
    assert "/dev/pts/0" in out and "1234" in out and code == 4, (out, code)

    status = _status(ex("minimal", "cat", "/proc/self/status").stdout)
    assert int(status["CapEff"], 16) == int(status["CapBnd"], 16) == cap_mask({"NET_BIND_SERVICE"})
    assert ex("minimal", "touch", "/tmp/x", check=False).returncode != 0  # readOnlyRootFilesystem
    ex("admin", "touch", "/tmp/x")  # without it /tmp is writable (and the container's own)
    assert not Path("/tmp/x").exists()

    priv = int(_status(ex("priv", "cat", "/proc/self/status").stdout)["CapEff"], 16)
    assert priv & cap_mask({"SYS_ADMIN", "NET_ADMIN"}) == cap_mask({"SYS_ADMIN", "NET_ADMIN"})
    assert priv & ~cap_mask(CAPABILITIES) == 0

    # runAsNonRoot with the image's root user: refused, as kubelet refuses it
    def waiting() -> dict:
        st = _pod(lab, f"{c}-nonroot")["status"].get("containerStatuses") or [{}]
        return (st[0].get("state") or {}).get("waiting") or {}

    wait_for(lambda: waiting().get("reason") == "CreateContainerConfigError", timeout=10, what="the refusal")
    assert "runAsNonRoot and image will run as root" in waiting()["message"]
    assert _pod(lab, f"{c}-nonroot")["status"]["phase"] == "Pending"
    events = lab.netlab("events").stdout
    assert "Error: container has runAsNonRoot and image will run as root" in events
    assert not Path(f"/run/netlab/{c}/pods/default_{c}-nonroot/app.pid").exists()

    # a container that cannot be set up fails as runc's start errors do: exit code 128, one line why
    wait_for(lambda: _pod(lab, f"{c}-nopath")["status"]["phase"] == "Failed", timeout=10, what="the failure")
    terminated = _pod(lab, f"{c}-nopath")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 128
    assert "cannot set up the container" in lab.netlab("logs", f"{c}-nopath").stdout


def _exec_with_terminal(lab, pod: str, script: str) -> tuple[str, int]:
    """`netlab exec -it POD -- sh -c SCRIPT` on a terminal of ours: (what it printed, exit status)."""
    argv = ["nsenter", f"--net=/run/netns/{lab.host_ns}", sys.executable, "-m", "netlab.cli", "--cluster",
            lab.cluster, "exec", "-it", pod, "--", "sh", "-c", script]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out, deadline = b"", time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the command ended
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def _echo_pid(cluster: str) -> int:
    return json.loads(Path(f"/run/netlab/{cluster}/pods/default_{cluster}-user/echo.pid").read_text())["pid"]


def test_state_and_runtime_files_are_root_only(lab) -> None:
    c = lab.cluster
    lab.netlab("up", str(lab.write("files.yaml", """
    apiVersion: v1
    kind: Secret
    metadata: {name: CLUSTER-secret}
    stringData: {password: hunter2}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: CLUSTER-files, labels: {app: CLUSTER-files}}
    spec:
      containers: [{name: echo, image: echo}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: CLUSTER-files}
    spec:
      selector: {app: CLUSTER-files}
      ports: [{port: 80}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: CLUSTER-files}
    spec:
      ingressClassName: nginx
      rules:
        - host: files.example
          http:
            paths: [{path: /, pathType: Prefix, backend: {service: {name: CLUSTER-files, port: {number: 80}}}}]
    """)))
    state, run = Path(names.state_dir(c)), Path(names.run_dir(c))
    wait_for(lambda: (run / "pods" / f"default_{c}-files" / "echo.pid").exists(), what="the pidfile")
    for directory in (state, run, run / "pods", run / "pods" / f"default_{c}-files"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    files = [p for p in (*state.rglob("*"), *run.rglob("*"))
             if p.is_file() or p.is_socket()]
    assert any(p.name == "state.json" for p in files) and any(p.name == "echo.log" for p in files)
    assert any(p.name == "nginx.conf" for p in files) and any(p.suffix == ".key" for p in files)
    own = {"nginx.pid", "error.log"}  # the ingress pod's nginx writes these itself, with a container's umask
    # a volume's files have the modes the pod asks for (the service account token's 0644, as the kubelet's), for
    # its containers' users: they sit in the pod's 0700 directory, which nobody else can enter
    def in_volume(p: Path) -> bool:
        return run in p.parents and "volumes" in p.relative_to(run).parts

    loose = [f"{p} {stat.S_IMODE(p.stat().st_mode):o}" for p in files
             if stat.S_IMODE(p.stat().st_mode) & 0o077 and p.name not in own and not in_volume(p)]
    assert not loose, loose
    nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat",
                             str(state / "state.json")], capture_output=True, text=True)
    assert nobody.returncode != 0 and "hunter2" not in nobody.stdout
    assert os.stat(state / "state.json").st_uid == 0
