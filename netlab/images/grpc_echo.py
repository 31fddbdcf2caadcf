"""A gRPC echo server, for GRPCRoute backends (image `netlab/grpc-echo`): it answers every unary method
of every service, without a schema, with the echo server's `key: value` text (pod, namespace, ip, node,
the method's full name, the peer and the request metadata), so a client sees which backend and
method took its call.

Messages are raw bytes (grpcio's generic handlers with no serializer): a client calls any method with
any bytes, e.g. ``channel.unary_unary("/demo.Greeter/Hello")(b"")``. Usage:
``python -m netlab.images.grpc_echo [--port 3000]``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from concurrent import futures

import grpc

from netlab.images.echo import Identity, render_text


class _Echo(grpc.GenericRpcHandler):
    def __init__(self, identity: Identity):
        self.identity = identity

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = details.method

        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            meta = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
            info = {"pod": self.identity.pod, "namespace": self.identity.namespace, "ip": self.identity.ip,
                    "node": self.identity.node, "method": method, "peer": context.peer()}
            info.update((f"metadata-{k}", v) for k, v in sorted(meta.items()) if not k.startswith(":"))
            print(f"{context.peer()} {method}", flush=True)
            return render_text(info).encode()

        return grpc.unary_unary_rpc_method_handler(answer)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="netlab.images.grpc_echo")
    p.add_argument("--port", type=int, default=3000)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[_Echo(Identity.from_env())])
    server.add_insecure_port(f"[::]:{args.port}")
    server.start()
    print(f"gRPC echo listening on port {args.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop(grace=5).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
