"""The compiled data path the API serves (api/dataplane_view.py) and `netlab trace` reads back.

The round trip must give the very values the controller compiled: the same tables (with the notes that
name each rule's policy), topology, services and policy inputs, so a trace from the API's JSON says what
a trace over the controller's Desired says.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from netlab.api import pki as pkimod
from netlab.api.client import ApiFailure, Client
from netlab.api.dataplane_view import dataplane, from_json
from netlab.api.endpoint import Endpoint
from netlab.api.resources import DATAPLANE_PATH
from netlab.api.server import ApiServer
from netlab.compile.desired import Desired
from netlab.compile.nftables import render_full
from netlab.trace.model import plan

GOLDEN = Path(__file__).parent.parent / "golden"
sys.path.insert(0, str(GOLDEN))
from render import desired_set  # noqa: E402  (the golden tests' one way to compile a manifest set)


def _desired(name: str) -> Desired:
    return desired_set([GOLDEN / "inputs" / f"{name}.yaml"])[1]


def _round_trip(desired: Desired):
    return from_json(json.loads(json.dumps(dataplane(desired))))


@pytest.mark.parametrize("name", ["netpol", "ingress", "vxlan"])
def test_the_json_gives_back_what_was_compiled(name: str) -> None:
    desired = _desired(name)
    back = _round_trip(desired)
    assert back.topology == desired.topology
    assert back.services == tuple(svc for _, svc in sorted(desired.services.items()))
    assert back.policy == desired.network.policy
    assert [(p.labels, n.labels) for p, n in zip(back.policy.pods, back.policy.namespaces, strict=False)] == \
        [(p.labels, n.labels) for p, n in zip(desired.network.policy.pods, desired.network.policy.namespaces,
                                              strict=False)]
    assert back.rulesets.keys() == desired.rulesets.keys()
    for node, table in desired.rulesets.items():
        assert render_full(back.rulesets[node]) == render_full(table)
        assert {n: c.notes for n, c in back.rulesets[node].chains.items()} == \
            {n: c.notes for n, c in table.chains.items()}
    rows = list(desired.ingress.rules) if desired.ingress is not None else []
    assert list(back.ingress_rows) == rows


def _flows(desired: Desired) -> list[tuple[str, str, int]]:
    pods = [f"{p.namespace}/{p.name}" for p in desired.topology.pods]
    out = []
    for svc in desired.services.values():
        for port in svc.ports:
            if svc.cluster_ip and port.protocol == "TCP":
                out += [(src, svc.cluster_ip, port.port) for src in pods[:4]]
    out += [(src, p.ip, 8080) for src in pods[:3] for p in desired.topology.pods]
    return out


@pytest.mark.parametrize("name", ["netpol", "vxlan"])
def test_a_trace_from_the_json_is_the_trace_from_desired(name: str) -> None:
    desired = _desired(name)
    back = _round_trip(desired)
    flows = _flows(desired)
    assert len(flows) > 10
    outcomes = set()
    for src, dst, port in flows:
        want = plan(src, dst, port, "tcp", desired.topology, list(desired.services.values()), desired.network.policy,
                    rulesets=desired.rulesets)
        got = plan(src, dst, port, "tcp", back.topology, back.services, back.policy, rulesets=back.rulesets)
        assert (got.outcome, got.steps, got.candidates) == (want.outcome, want.steps, want.candidates), (src, dst)
        outcomes.add(want.outcome)
    assert len(outcomes) > 1, outcomes  # the flows cover more than one ending (policy denies some)


# ----- served by the API ----------------------------------------------------------------------------------


class _Controller:
    def __init__(self, desired: Desired | None) -> None:
        self.state = SimpleNamespace(cluster={}, resource_version=1, addons=[])
        self.desired = desired

    def compiled(self) -> Desired | None:
        return self.desired


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[SimpleNamespace]:
    ctl = _Controller(None)
    pki = pkimod.ensure(tmp_path / "pki", ["127.0.0.1"])
    server = ApiServer(ctl, pki)
    port = server.start("127.0.0.1", 0)
    client = Client("unit", timeout=5, endpoint=Endpoint("127.0.0.1", port), pki=pki)
    try:
        yield SimpleNamespace(ctl=ctl, client=client)
    finally:
        server.stop()


def test_the_api_serves_the_compiled_dataplane(api) -> None:
    with pytest.raises(ApiFailure) as failed:
        api.client.get(DATAPLANE_PATH)  # nothing compiled yet
    assert failed.value.code == 503
    api.ctl.desired = _desired("netpol")
    body = api.client.get(DATAPLANE_PATH)
    assert body["kind"] == "Dataplane"
    assert from_json(body).rulesets.keys() == api.ctl.desired.rulesets.keys()
    assert body["rulesets"]["golden-worker"]["text"] == render_full(api.ctl.desired.rulesets["golden-worker"])
