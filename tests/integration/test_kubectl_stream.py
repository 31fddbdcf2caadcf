"""Issue 14: the streaming verbs with real kubectl 1.37 against netlab's API: exec (exit codes, stdin, a
real TTY with window-size changes, errors), cp, logs with kubectl's options, attach, port-forward (pod,
svc, deploy; concurrent connections; a closed port), `kubectl proxy` to the services/pods proxy
subresources, and a client that vanishes mid-stream."""

from __future__ import annotations

import concurrent.futures
import fcntl
import os
import pty
import queue
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from netlab.api.server import WORKER_THREADS
from tests.integration.conftest import echo_answer, wait_for

MANIFEST = """
kind: Cluster
apiVersion: netlab.dev/v1alpha1
nodes:
  - role: control-plane
  - role: worker
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-web
  labels: {app: CLUSTER-web}
spec:
  containers:
    - name: echo
      image: echo
      ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-talk
  labels: {app: CLUSTER-talk}
spec:
  containers:
    - name: talk
      image: busybox
      command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; exec sleep 3600"]
    - name: quiet
      image: busybox
      command: ["sleep", "3600"]
---
apiVersion: v1
kind: Service
metadata:
  name: CLUSTER-svc
spec:
  selector: {app: CLUSTER-web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-reader
spec:
  containers:
    - name: r
      image: busybox
      stdin: true
      command: ["sh", "-c", "while read line; do echo got:$line; done"]
---
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-tls
  labels: {app: CLUSTER-tls}
spec:
  volumes: [{name: certs, emptyDir: {}}]
  containers:
    - name: s
      image: alpine
      volumeMounts: [{name: certs, mountPath: /certs}]
      command: ["sh", "-c", "cd /certs && openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem
                -subj /CN=pod -days 1 2>/dev/null && exec openssl s_server -www -accept 8443 -cert c.pem -key k.pem"]
---
apiVersion: v1
kind: Service
metadata:
  name: CLUSTER-tls
spec:
  selector: {app: CLUSTER-tls}
  ports: [{name: https, port: 443, targetPort: 8443}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: CLUSTER-dep
spec:
  replicas: 1
  selector: {matchLabels: {app: CLUSTER-dep}}
  template:
    metadata: {labels: {app: CLUSTER-dep}}
    spec:
      containers:
        - name: app
          image: echo
          ports: [{containerPort: 3000}]
"""

CRASHER = """
apiVersion: v1
kind: Pod
metadata:
  name: CLUSTER-crash
spec:
  containers:
    - name: c
      image: busybox
      command: ["sh", "-c", "echo run-$(date +%s%N); sleep 0.5; exit 1"]
"""


def _kubectl_argv(lab) -> list[str]:
    return ["nsenter", f"--net=/run/netns/{lab.host_ns}", str(Path(sys.executable).parent / "kubectl"),
            "--kubeconfig", str(lab.kubeconfig)]


def _up(lab) -> str:
    lab.netlab("up", str(lab.write("lab.yaml", MANIFEST)), timeout=180)
    return lab.cluster


Step = tuple[str, bytes | tuple[int, int]]


def _in_pty(argv: list[str], script: list[Step], timeout: float = 20,
            env: dict[str, str] | None = None) -> tuple[bytes, int]:
    """Run argv on a pty of ours (a real terminal for kubectl): steps are ("send", bytes), ("size", (rows,
    cols)) or ("expect", bytes). Returns all output and the exit code."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, {**os.environ, **(env or {})})
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    out, deadline = b"", time.monotonic() + timeout

    def read_until(pattern: bytes | None) -> None:
        nonlocal out
        while time.monotonic() < deadline and (pattern is None or not re.search(pattern, out)):
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                out += chunk
        if pattern is not None and not re.search(pattern, out):
            raise AssertionError(f"no {pattern!r} in {out!r}")

    try:
        for step, arg in script:
            if step == "send":
                os.write(fd, arg)
            elif step == "size":
                rows, cols = arg
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            else:
                read_until(arg)
        read_until(None)
        _, status = os.waitpid(pid, 0)
        return out, os.waitstatus_to_exitcode(status)
    finally:
        os.close(fd)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def test_exec_cp_and_errors(lab) -> None:
    c = _up(lab)
    web = f"{c}-web"
    done = lab.kubectl("exec", web, "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (done.returncode, done.stdout, done.stderr.splitlines()[0]) == (3, "out\n", "err")
    assert lab.kubectl("exec", web, "--", "true").returncode == 0

    # the pod's own network namespace and resolv.conf
    resolv = lab.kubectl("exec", web, "--", "cat", "/etc/resolv.conf").stdout
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert lab.pod_ip(web) in lab.kubectl("exec", web, "--", "ip", "-4", "-o", "addr").stdout

    # stdin (-i) to its end
    fed = lab.host(*_kubectl_argv(lab), "exec", "-i", web, "--", "sh", "-c", "wc -c; echo done",
                   input="x" * 100000, check=True)
    assert fed.stdout.split() == ["100000", "done"]

    # kubectl's fallback: one SPDY/3.1 stream per channel after a plain upgrade (-v=6 shows the 101 to a POST)
    spdy_env = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
    done = lab.host(*_kubectl_argv(lab), "-v=6", "exec", "-i", web, "--", "sh", "-c", "cat; echo err >&2; exit 5",
                    input="via spdy\n", env=spdy_env)
    assert (done.returncode, done.stdout) == (5, "via spdy\n"), done.stderr
    assert "err" in done.stderr and re.search(r'verb="POST" url="\S+/exec\?\S+" status="101 Switching', done.stderr)

    # kubectl's own errors: a missing pod, a missing container, a missing command
    missing = lab.kubectl("exec", f"nope-{c}", "--", "true", check=False)
    assert missing.returncode == 1 and f'pods "nope-{c}" not found' in missing.stderr
    bad = lab.kubectl("exec", web, "-c", "nope", "--", "true", check=False)
    assert bad.returncode == 1 and "container nope is not valid for pod" in bad.stderr
    assert lab.kubectl("exec", web, "--", "no-such-command", check=False).returncode == 127

    # a real terminal: the shell sees a tty of the size kubectl's terminal has, and follows its changes
    out, code = _in_pty(_kubectl_argv(lab) + ["exec", "-it", web, "--", "sh"], [
        ("expect", rb"[#$] "), ("send", b"stty size; tty\n"), ("expect", rb"30 100\r\n/dev/pts/\d+"),
        ("size", (41, 132)), ("send", b"stty size\n"), ("expect", rb"41 132"), ("send", b"exit 7\n")])
    assert code == 7, out
    out, code = _in_pty(_kubectl_argv(lab) + ["exec", "-it", web, "--", "sh"], [
        ("expect", rb"[#$] "), ("size", (33, 111)), ("send", b"stty size\n"), ("expect", rb"33 111"),
        ("send", b"exit 0\n")], env=spdy_env)
    assert code == 0, out

    # cp both ways (kubectl runs tar through exec)
    src = lab.workdir / "up.txt"
    src.write_bytes(os.urandom(200000))
    lab.kubectl("cp", str(src), f"{web}:/tmp/up.bin")
    lab.kubectl("cp", f"{web}:/tmp/up.bin", str(lab.workdir / "down.bin"))
    assert (lab.workdir / "down.bin").read_bytes() == src.read_bytes()


def test_logs_with_kubectls_options(lab) -> None:
    c = _up(lab)
    talk = f"{c}-talk"
    wait_for(lambda: "line5" in lab.kubectl("logs", talk, "-c", "talk").stdout, what="talk's output")
    assert lab.kubectl("logs", talk, "-c", "talk").stdout == "line1\nline2\nline3\nline4\nline5\noops\n"
    assert lab.kubectl("logs", talk, "-c", "talk", "--tail", "2").stdout == "line5\noops\n"
    assert lab.kubectl("logs", talk, "-c", "talk", "--limit-bytes", "8").stdout == "line1\nli"
    both = lab.kubectl("logs", talk, "--all-containers", "--prefix").stdout
    assert f"[pod/{talk}/talk] line1" in both
    assert 'Defaulted container "talk"' in lab.kubectl("logs", talk).stderr   # kubectl picks the first
    raw = lab.kubectl("get", "--raw", f"/api/v1/namespaces/default/pods/{talk}/log", check=False)
    assert "a container name must be specified for pod" in raw.stderr
    assert lab.kubectl("logs", "-l", f"app={c}-talk", "-c", "talk", "--tail", "1").stdout == "oops\n"
    assert lab.kubectl("logs", f"deploy/{c}-dep").returncode == 0

    # -f streams what comes later, until the client stops
    follow = subprocess.Popen([*_kubectl_argv(lab), "logs", "-f", talk, "-c", "talk", "--tail", "1"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert _readline(follow) == "oops\n"
        lab.kubectl("exec", talk, "-c", "talk", "--", "sh", "-c", "echo later >> /proc/1/fd/1")
        assert _readline(follow) == "later\n"
    finally:
        follow.kill()
        follow.wait()

    # --timestamps and --since: each line's time is when it was written (within a fraction of a second)
    stamped = lab.kubectl("logs", talk, "-c", "talk", "--timestamps", "--tail", "1").stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z later\n", stamped), stamped
    time.sleep(3)
    lab.kubectl("exec", talk, "-c", "talk", "--", "sh", "-c", "echo recent >> /proc/1/fd/1")
    assert lab.kubectl("logs", talk, "-c", "talk", "--since", "2s").stdout == "recent\n"
    assert lab.kubectl("logs", talk, "-c", "talk", "--since-time", "2020-01-01T00:00:00Z").stdout.startswith("line1")

    # -p: the output of the container's previous run
    lab.netlab("apply", "-f", str(lab.write("crash.yaml", CRASHER)))
    crash = f"{c}-crash"
    wait_for(lambda: lab.kubectl("logs", crash, "-p", check=False).stdout.startswith("run-"), timeout=60,
             what="a restarted container")
    previous = lab.kubectl("logs", crash, "-p").stdout
    assert previous.count("run-") == 1 and previous != lab.kubectl("logs", crash).stdout


def _readline(proc: subprocess.Popen, timeout: float = 15) -> str:
    """The next line of proc's stdout (read by a thread, so that a silent process cannot hang the test)."""
    lines = getattr(proc, "lines", None)
    if lines is None:
        lines = proc.lines = queue.Queue()   # type: ignore[attr-defined]

        def pump() -> None:
            for line in iter(proc.stdout.readline, ""):
                lines.put(line)
            lines.put("")

        threading.Thread(target=pump, daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError("no output in time") from None


def _forward(lab, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([*_kubectl_argv(lab), "port-forward", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    lines: list[str] = []
    expected = sum(1 for a in args if ":" in a)
    while sum("Forwarding from 127.0.0.1" in line for line in lines) < expected:
        line = _readline(proc, 30)
        if not line:
            raise AssertionError(f"port-forward ended: {lines} {proc.stderr.read()}")
        lines.append(line)
    return proc, lines


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_port_forward_and_proxy(lab) -> None:
    c = _up(lab)
    base = 20000 + int(c[1:], 16) % 20000
    pod, _ = _forward(lab, f"pod/{c}-web", f"{base}:8080", f"{base + 1}:9999")
    try:
        answers = []
        with concurrent.futures.ThreadPoolExecutor(6) as pool:   # several connections at once
            for result in pool.map(lambda i: lab.curl(None, f"http://127.0.0.1:{base}/n{i}"), range(6)):
                answers.append(echo_answer(result.stdout))
        assert {a["pod"] for a in answers} == {f"{c}-web"}
        assert {a["request"] for a in answers} == {f"GET /n{i} HTTP/1.1" for i in range(6)}
        refused = lab.curl(None, f"http://127.0.0.1:{base + 1}/")
        assert refused.returncode != 0                                 # the closed port: that connection ends
        assert echo_answer(lab.curl(None, f"http://127.0.0.1:{base}/after").stdout)["pod"] == f"{c}-web"
        assert pod.poll() is None                                       # and the tunnel stays up
    finally:
        _stop(pod)

    # kubectl's fallback, plain SPDY/3.1 over the upgraded connection (-v=6 shows the 101 to a POST)
    spdy, _ = _forward(lab, "-v=6", f"pod/{c}-web", f"{base + 4}:8080",
                       env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"})
    try:
        assert echo_answer(lab.curl(None, f"http://127.0.0.1:{base + 4}/spdy").stdout)["pod"] == f"{c}-web"
    finally:
        log = _stop(spdy)
    assert re.search(r'verb="POST" url="https://\S+/portforward" status="101 Switching Protocols"', log), log

    svc, _ = _forward(lab, f"svc/{c}-svc", f"{base + 2}:80")
    try:
        assert echo_answer(lab.curl(None, f"http://127.0.0.1:{base + 2}/").stdout)["pod"] == f"{c}-web"
    finally:
        _stop(svc)
    dep, lines = _forward(lab, f"deploy/{c}-dep", ":3000")
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+) -> 3000", "".join(lines)).group(1))
        assert echo_answer(lab.curl(None, f"http://127.0.0.1:{port}/").stdout)["pod"].startswith(f"{c}-dep-")
    finally:
        _stop(dep)

    proxy = subprocess.Popen([*_kubectl_argv(lab), "proxy", f"--port={base + 3}"], stdout=subprocess.PIPE, text=True)
    try:
        assert "Starting to serve" in _readline(proxy)
        root = f"http://127.0.0.1:{base + 3}/api/v1/namespaces/default"
        via_svc = echo_answer(lab.curl(None, f"{root}/services/{c}-svc:80/proxy/some/path?q=1").stdout)
        assert via_svc["pod"] == f"{c}-web" and via_svc["request"] == "GET /some/path?q=1 HTTP/1.1"
        assert echo_answer(lab.curl(None, f"{root}/services/{c}-svc/proxy/").stdout)["pod"] == f"{c}-web"
        assert echo_answer(lab.curl(None, f"{root}/pods/{c}-web:8080/proxy/").stdout)["pod"] == f"{c}-web"
        missing = lab.host("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{root}/services/nope/proxy/")
        assert missing.stdout == "404"
        # https: targets go over TLS to the pod, its certificate unverified, as kube-apiserver's proxy dials them
        for target in (f"services/https:{c}-tls:https", f"services/https:{c}-tls:443", f"pods/https:{c}-tls:8443"):
            assert "s_server -www" in lab.curl(None, f"{root}/{target}/proxy/").stdout, target
    finally:
        _stop(proxy)


def _processes(prefix: bytes) -> list[int]:
    """Processes whose command line starts with prefix (arguments separated by NUL)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/cmdline").read_bytes().startswith(prefix):
                    found.append(int(entry))
            except OSError:
                pass
    return found


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _threads(pid: int) -> int:
    return int(re.search(r"Threads:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def _abandon_streams(lab, token: str, port: int, copies: int = 1) -> None:
    """Start exec (with and without stdin) and port-forward clients, then kill them mid-stream."""
    c = lab.cluster
    clients = [subprocess.Popen([*_kubectl_argv(lab), *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
               for args in (["exec", f"{c}-web", "--", "sleep", token],
                            ["exec", "-i", f"{c}-web", "--", "sh", "-c", f"sleep {token}; cat"])
               for _ in range(copies)]
    forward, _ = _forward(lab, f"pod/{c}-web", f"{port}:8080")
    clients.append(forward)
    sleeping = f"sleep\0{token}\0".encode()
    try:
        wait_for(lambda: len(_processes(sleeping)) == 2 * copies, timeout=30, what="the commands running")
        assert echo_answer(lab.curl(None, f"http://127.0.0.1:{port}/").stdout)["pod"] == f"{c}-web"
    finally:
        for client in clients:
            client.kill()
            client.wait()
    wait_for(lambda: not _processes(sleeping) and not _processes(b"sh\0-c\0sleep " + token.encode()),
             timeout=15, what="no process left behind")


def test_vanished_clients_leave_nothing_and_attach(lab) -> None:
    from netlab.runtime.lifecycle import controller_pid

    c = _up(lab)
    controller = controller_pid(c)
    assert controller is not None
    port = 20000 + int(c[1:], 16) % 20000
    # A stream that outlives its client keeps its sockets (and pipes to the container) open: the
    # controller's open descriptors must come back to where they were. Threads are only bounded: the API's
    # worker pool and the probe pool start their threads lazily, up to a fixed size, and keep them.
    _abandon_streams(lab, f"{int(c[1:], 16) % 1000}.1", port, copies=2)
    fds, threads = _fds(controller), _threads(controller)
    _abandon_streams(lab, f"{int(c[1:], 16) % 1000}.2", port + 1)
    wait_for(lambda: _fds(controller) <= fds, timeout=15, what=f"open descriptors back to {fds}")
    assert _threads(controller) <= threads + WORKER_THREADS

    # attach to a running container: its output so far and what follows; kubectl ends with the client
    attach = subprocess.Popen([*_kubectl_argv(lab), "attach", f"{c}-talk", "-c", "talk"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert [_readline(attach) for _ in range(2)] == ["line1\n", "line2\n"]
    finally:
        attach.kill()
        attach.wait()
    # attach -i to a container with `stdin: true`: what we type reaches it (WebSocket, then kubectl's SPDY fallback)
    for word, env in (("hello", {}), ("spdy", {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"})):
        attach = subprocess.Popen([*_kubectl_argv(lab), "attach", "-i", f"{c}-reader"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  env={**os.environ, **env})
        try:
            while word == "spdy" and _readline(attach) != "got:hello\n":   # the output so far comes first
                pass
            attach.stdin.write(f"{word}\n")
            attach.stdin.flush()
            assert _readline(attach) == f"got:{word}\n"
        finally:
            attach.kill()
            attach.wait()


def test_run_attached_and_detached(lab) -> None:
    """`kubectl run` needs POST create (and a watch to wait for the pod): skipped where the API refuses it."""
    import pytest

    c = _up(lab)
    once = lab.kubectl("run", f"{c}-once", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo hello-run",
                       check=False)
    if "MethodNotAllowed" in once.stderr:
        pytest.skip("this API does not create pods by POST yet")
    assert once.returncode == 0, once.stderr
    wait_for(lambda: lab.kubectl("logs", f"{c}-once", check=False).stdout == "hello-run\n", timeout=30,
             what="the run pod's output")

    attached = lab.kubectl("run", f"{c}-it", "--image=busybox", "-i", "--rm", "--restart=Never", "--",
                           "sh", "-c", "echo from-run", check=False, timeout=60)
    assert attached.returncode == 0, attached.stderr
    assert "from-run" in attached.stdout
    assert f'pod "{c}-it" deleted' in attached.stdout + attached.stderr
    # `run --rm` does not wait (its --wait is false): the pod goes once its termination is over
    wait_for(lambda: lab.kubectl("get", "pod", f"{c}-it", check=False).returncode != 0, timeout=30,
             what="the --rm pod to be gone")

    # `run -i` sets stdinOnce: the command reads the client's stdin to its end, then goes on
    piped = lab.kubectl("run", f"{c}-cat", "--image=busybox", "-i", "--rm", "--restart=Never", "--",
                        "sh", "-c", "cat; echo end-of-input", input="one\ntwo\n", check=False, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert "one\ntwo\nend-of-input\n" in piped.stdout

    out, code = _in_pty(_kubectl_argv(lab) + ["run", f"{c}-tty", "--image=busybox", "-it", "--rm", "--restart=Never",
                                              "--", "sh", "-c", "echo in-a-tty"], [("expect", rb"deleted")],
                        timeout=60)
    assert code == 0 and b"in-a-tty" in out, out
