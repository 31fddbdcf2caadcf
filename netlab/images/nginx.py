"""A stand-in for the official nginx image: Debian's nginx with a configuration of the container's own,
written in its private /tmp (its pid file and temp paths there too; the host's /etc/nginx/nginx.conf is
never read). It serves /usr/share/nginx/html on --port (80) as the image's default.conf does: Debian's
welcome page, or the files a volume mounts there. With --conf-d (a volume is mounted at
/etc/nginx/conf.d) that directory's *.conf replace the default server, as in the image; with --proxy URL
every request goes there (gcr.io/google-samples/hello-frontend, whose nginx proxies to http://hello).

``python -m netlab.images.nginx [--port 80] [--conf-d] [--proxy URL]`` execs nginx in the foreground.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

NGINX = "/usr/sbin/nginx"
HTML = "/usr/share/nginx/html"
CONF_D = "/etc/nginx/conf.d"
MIME_TYPES = "/etc/nginx/mime.types"


def config(private: str, port: int, conf_d: bool, as_root: bool, proxy: str = "") -> str:
    """nginx.conf for a container whose writable files live under `private`; with `proxy`, its server
    passes every request there (hello-frontend) instead of serving files."""
    temps = "".join(f"    {kind}_temp_path {private}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    content = (f"        location / {{\n            proxy_pass {proxy};\n        }}\n" if proxy else
               f"        root {HTML};\n        index index.html index.htm;\n")
    server = (f"    include {CONF_D}/*.conf;\n" if conf_d else
              f"    server {{\n        listen {port} default_server;\n        server_name localhost;\n"
              f"{content}    }}\n")
    return (
        ("user nobody nogroup;\n" if as_root else "")
        + "worker_processes 1;\n"
        + "daemon off;\n"
        + "error_log stderr notice;\n"
        + f"pid {private}/nginx.pid;\n"
        + "events {\n    worker_connections 1024;\n}\n"
        + "http {\n"
        + f"    include {MIME_TYPES};\n"
        + "    default_type application/octet-stream;\n"
        + "    access_log /dev/stdout;\n"
        + "    sendfile on;\n"
        + "    keepalive_timeout 65;\n"
        + temps
        + server
        + "}\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="netlab.images.nginx")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--conf-d", action="store_true")
    p.add_argument("--proxy", default="")
    args = p.parse_args(argv)
    private = tempfile.mkdtemp(prefix="nginx-")
    conf = os.path.join(private, "nginx.conf")
    with open(conf, "w") as f:
        f.write(config(private, args.port, args.conf_d, os.geteuid() == 0, args.proxy))
    if os.geteuid() == 0:  # workers run as nobody: they write the temp paths
        os.chmod(private, 0o755)
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(private, kind), exist_ok=True)
            os.chown(os.path.join(private, kind), 65534, -1)
    sys.stdout.flush()
    os.execv(NGINX, [NGINX, "-e", "stderr", "-p", private, "-c", conf])
    return 0


if __name__ == "__main__":
    sys.exit(main())
