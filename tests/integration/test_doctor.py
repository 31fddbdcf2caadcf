"""`netlab doctor` checks this machine and names the fix for each failure."""

from __future__ import annotations


def test_doctor_passes_here_and_reports_a_conflicting_route(lab):
    ok = lab.netlab("doctor")
    assert "[ok  ] root" in ok.stdout and "[ok  ] network namespaces" in ok.stdout
    assert "[ok  ] vxlan" in ok.stdout and "[ok  ] address plan" in ok.stdout
    assert "[ok  ] pod confinement: kernel" in ok.stdout
    # A route the "host" already has into the pod CIDR: doctor fails and says how to fix it, and up refuses.
    lab.host("ip", "link", "add", "conflict0", "type", "veth", "peer", "name", "conflict1", check=True)
    lab.host("ip", "link", "set", "conflict0", "up", check=True)
    lab.host("ip", "route", "add", "10.244.7.0/24", "dev", "conflict0", check=True)
    bad = lab.netlab("doctor", check=False)
    assert bad.returncode != 0
    assert "[FAIL] address plan: 10.244.0.0/16 overlaps the host route 10.244.7.0/24" in bad.stdout
    assert "fix: choose other networking.podSubnet" in bad.stdout
    up = lab.netlab("up", check=False)
    assert up.returncode != 0 and "overlaps the host route 10.244.7.0/24" in up.stderr
