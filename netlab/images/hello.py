"""Stand-ins for the small demo servers of the Kubernetes tutorials and HashiCorp's examples:

- ``hello-app --version TAG``: gcr.io/google-samples/hello-app, "Hello, world!", its version and the
  pod's hostname on $PORT (8080)
- ``hello-go-gke``: gcr.io/google-samples/hello-go-gke, ``{"message":"Hello"}`` on port 80
- ``http-echo -text=TEXT [-listen=:5678] [-status-code=200]``: hashicorp/http-echo, TEXT on every path
"""

from __future__ import annotations

import argparse
import os
import sys

from netlab.images.agnhost import go_flags, hostname, http_server, log, start, wait_forever


def _listen_port(listen: str) -> int:
    """`:5678`, `0.0.0.0:5678` or `5678` -> 5678."""
    return int(listen.rsplit(":", 1)[-1])


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="netlab.images.hello")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("hello-app").add_argument("--version", default="1.0")
    sub.add_parser("hello-go-gke")
    echo = sub.add_parser("http-echo")
    echo.add_argument("--text", default=None)
    echo.add_argument("--listen", default=":5678")
    echo.add_argument("--status-code", type=int, default=200)
    return p


def main(argv: list[str] | None = None) -> int:
    args, _ = parser().parse_known_args(go_flags(sys.argv[1:] if argv is None else argv))
    if args.cmd == "hello-app":
        port = int(os.environ.get("PORT") or 8080)
        body = f"Hello, world!\nVersion: {args.version}\nHostname: {hostname()}\n"
        start(http_server(port, {"*": lambda h, q: (200, body)}))
        log(f"Server listening on port {port}")
    elif args.cmd == "hello-go-gke":
        start(http_server(80, {"*": lambda h, q: (200, '{"message":"Hello"}')}))
    else:
        if args.text is None:
            print("Missing -text option!", file=sys.stderr)
            return 127
        text, status = args.text + "\n", args.status_code
        port = _listen_port(args.listen)
        start(http_server(port, {"*": lambda h, q: (status, text)}))
        log(f"[INFO] server is listening on {args.listen}")
    wait_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
