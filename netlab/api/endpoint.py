"""Where a running cluster's API listens, as the controller records it for the CLI and `netlab kubeconfig`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from netlab.compile import names

DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_PORT = 6443


@dataclass(frozen=True)
class Endpoint:
    address: str
    port: int
    host_address: str | None = None   # the host's underlay address, where pods reach the API

    @property
    def url(self) -> str:
        return f"https://{self.address}:{self.port}"


def save(cluster: str, endpoint: Endpoint) -> None:
    path = Path(names.api_endpoint_file(cluster))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({k: v for k, v in asdict(endpoint).items() if v is not None}))
    os.replace(tmp, path)


def load(cluster: str) -> Endpoint | None:
    """The recorded endpoint, or None when the cluster's controller has not recorded one."""
    try:
        data = json.loads(Path(names.api_endpoint_file(cluster)).read_text())
        return Endpoint(str(data["address"]), int(data["port"]), data.get("host_address"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove(cluster: str) -> None:
    Path(names.api_endpoint_file(cluster)).unlink(missing_ok=True)
