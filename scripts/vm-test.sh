#!/usr/bin/env bash
# Boot the repository's Vagrantfile for real (vagrant-libvirt + KVM) and run netlab inside the VM:
# the README's first command on the bundled manifests, then lab 01 started and checked with real packets,
# then `netlab down` and a check that no netlab object is left in the VM.
# Uses the box debian/bookworm64 where `vagrant box add` can fetch it; otherwise builds a minimal Debian 12
# box from the Debian archive (mmdebstrap, direct kernel boot, a per-run SSH key, the host's extra CAs).
# Every libvirt object it makes carries this run's unique name; a trap removes all of them, the box, the
# images and the temporary directory, also on failure. It stops libvirtd/virtlogd only if it started them.
# Usage: sudo scripts/vm-test.sh        (needs root and a usable /dev/kvm; prints the time of each phase)
#        NETLAB_VM_REQUIRE_KVM=1 makes it fail instead of falling back to emulation (CI sets it).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then echo "vm-test.sh: run as root" >&2; exit 1; fi
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then echo "vm-test.sh: /dev/kvm is not usable" >&2; exit 1; fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
run_id="netlab-vmtest-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work="$(mktemp -d /var/tmp/"$run_id".XXXX)"
chmod 755 "$work"   # qemu (user libvirt-qemu) reads the kernel, initrd and pool below it
pool_dir="$work/pool"
export VAGRANT_HOME="$work/vagrant.d" VAGRANT_DOTFILE_PATH="$work/dot-vagrant" VAGRANT_DEFAULT_PROVIDER=libvirt
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1
export NETLAB_VAGRANT_BOX="$run_id"
started_daemons=()   # pids of the libvirt daemons this script started
made_pool=0 box_added=0 vm_up=0

# ---- timing ----------------------------------------------------------------------------------------
timings=()
phase_name="" phase_start=0
phase() {   # phase NAME: end the current phase (printing its time) and start NAME
  local now; now=$(date +%s)
  if [ -n "$phase_name" ]; then
    timings+=("$(printf '%-22s %4ds' "$phase_name" $((now - phase_start)))")
    echo "vm-test: phase '$phase_name' took $((now - phase_start))s"
  fi
  phase_name="$1" phase_start=$now
  [ -n "$1" ] && echo "vm-test: === $1 ==="
  return 0
}

libvirt_chains() { iptables -w -S 2>/dev/null | grep -q -- "-N LIBVIRT_"; }
remove_libvirt_chains() {
  local table chain parent
  for table in filter nat mangle; do
    for pair in INPUT:LIBVIRT_INP FORWARD:LIBVIRT_FWX FORWARD:LIBVIRT_FWI FORWARD:LIBVIRT_FWO OUTPUT:LIBVIRT_OUT \
                POSTROUTING:LIBVIRT_PRT; do
      parent=${pair%%:*} chain=${pair#*:}
      iptables -w -t "$table" -S "$chain" >/dev/null 2>&1 || continue
      iptables -w -t "$table" -D "$parent" -j "$chain" 2>/dev/null
      iptables -w -t "$table" -F "$chain" && iptables -w -t "$table" -X "$chain"
    done
  done
}
had_libvirt_chains=0
if libvirt_chains; then had_libvirt_chains=1; fi

# ---- teardown --------------------------------------------------------------------------------------
cleanup() {
  local rc=$?
  set +e
  phase "teardown"
  cd "$repo"
  if [ "$vm_up" -eq 1 ]; then vagrant destroy -f; fi
  if [ "$box_added" -eq 1 ]; then vagrant box remove -f --all "$NETLAB_VAGRANT_BOX"; fi
  # Only objects named after this run: the management network, the domain, the pool and its volumes.
  if virsh -q net-info "$run_id" >/dev/null 2>&1; then
    virsh -q net-destroy "$run_id"; virsh -q net-undefine "$run_id"
  fi
  if virsh -q dominfo "${run_id}-default" >/dev/null 2>&1; then
    virsh -q destroy "${run_id}-default"; virsh -q undefine "${run_id}-default"
  fi
  if [ "$made_pool" -eq 1 ]; then
    for vol in $(virsh -q vol-list "$run_id" 2>/dev/null | awk '{print $1}'); do virsh -q vol-delete --pool "$run_id" "$vol"; done
    virsh -q pool-destroy "$run_id"; virsh -q pool-undefine "$run_id"
  fi
  rm -f /var/log/libvirt/qemu/"$run_id"-*.log
  rm -rf "$work"
  for pid in "${started_daemons[@]}"; do kill "$pid" 2>/dev/null; done
  # libvirtd leaves its (by then empty) LIBVIRT_* iptables chains behind; remove them if this run made them.
  if [ "$had_libvirt_chains" -eq 0 ] && [ "${#started_daemons[@]}" -gt 0 ]; then remove_libvirt_chains; fi
  phase ""
  echo "vm-test: phase times"; printf '  %s\n' "${timings[@]}"
  if [ "$rc" -eq 0 ]; then echo "vm-test: PASSED"; else echo "vm-test: FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. host packages and daemons --------------------------------------------------------------------
phase "host packages"
packages=(vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
          mmdebstrap dnsmasq-base rsync e2fsprogs openssh-client iptables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

start_daemon() {   # start_daemon NAME PIDFILE: start a libvirt daemon unless one answers already
  local name=$1 pidfile=$2
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  "$name" -d -p "$pidfile"
  for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
  started_daemons+=("$(cat "$pidfile")")
}
if ! virsh -q -c qemu:///system version >/dev/null 2>&1; then
  start_daemon virtlogd /run/virtlogd.pid
  start_daemon libvirtd /run/libvirtd.pid
  for _ in $(seq 100); do virsh -q -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
fi
virsh -q -c qemu:///system version >/dev/null

# A /24 for the management network that no host route already uses.
subnet=""
for _ in $(seq 50); do
  candidate="192.168.$((RANDOM % 150 + 100))"
  if ! ip -4 route | grep -q "^$candidate\." && ! virsh -q net-dumpxml --inactive default 2>/dev/null | grep -q "$candidate\."; then
    subnet="$candidate"; break
  fi
done
[ -n "$subnet" ] || { echo "vm-test: no free 192.168.x.0/24 for the management network" >&2; exit 1; }

mkdir -p "$pool_dir" "$VAGRANT_HOME"
virsh -q pool-define-as "$run_id" dir --target "$pool_dir" >/dev/null
made_pool=1
virsh -q pool-start "$run_id" >/dev/null

# ---- 2. the box --------------------------------------------------------------------------------------
# NETLAB_VM_BOX_CACHE=DIR keeps the box built from the Debian archive in DIR for the next run (then only
# this run's copy of it is removed); without it the box is built in this run's temporary directory.
phase "box"
cd "$repo"
own_box=1
box_dir="${NETLAB_VM_BOX_CACHE:-$work/box}"
if timeout 120 vagrant box add --provider libvirt --name "$NETLAB_VAGRANT_BOX" debian/bookworm64 >/dev/null 2>&1; then
  own_box=0; box_added=1
  echo "vm-test: using debian/bookworm64"
else
  echo "vm-test: debian/bookworm64 is not reachable; using a Debian 12 box built from the Debian archive"
  if [ -s "$box_dir/box.box" ]; then
    echo "vm-test: reusing the box in $box_dir"
  else
    bash "$repo/scripts/vm-box.sh" "$box_dir"
  fi
  chmod 755 "$box_dir"
  vagrant box add --name "$NETLAB_VAGRANT_BOX" "$box_dir/box.box" >/dev/null
  box_added=1
fi

# KVM where it really boots a guest (nested KVM may accept the guest yet never get it past the BIOS);
# otherwise QEMU's emulation (TCG), much slower, said loudly.
driver=qemu cpu_lines='    lv.cpu_mode = "custom"
    lv.cpu_model = "qemu64"'
kvm_problem=""
if [ "$own_box" -eq 1 ]; then kvm_problem="$(bash "$repo/scripts/kvm-boots.sh" "$box_dir/vmlinuz" || true)"; fi
if [ -z "$kvm_problem" ]; then
  driver=kvm cpu_lines='    lv.cpu_mode = "host-passthrough"
    lv.cpu_feature :name => "arch-capabilities", :policy => "disable"'
elif [ "${NETLAB_VM_REQUIRE_KVM:-0}" = 1 ]; then
  echo "vm-test: NETLAB_VM_REQUIRE_KVM=1 but KVM does not boot the box here: $kvm_problem" >&2
  exit 1
else
  echo "vm-test: WARNING: $kvm_problem; using QEMU emulation (TCG), much slower"
fi
echo "vm-test: libvirt domain type: $driver"

# Per-run settings, outside the repository: Vagrant merges $VAGRANT_HOME/Vagrantfile under the project's.
{
  echo 'Vagrant.configure("2") do |config|'
  if [ "$own_box" -eq 1 ]; then
    echo "  config.ssh.private_key_path = \"$box_dir/id_ed25519\""
    echo '  config.ssh.insert_key = false'
  fi
  echo '  config.vm.provider "libvirt" do |lv|'
  echo "    lv.default_prefix = \"$run_id-\""
  echo "    lv.storage_pool_name = \"$run_id\""
  echo "    lv.management_network_name = \"$run_id\""
  echo "    lv.management_network_address = \"$subnet.0/24\""
  echo "    lv.driver = \"$driver\""
  echo "$cpu_lines"
  echo '    lv.graphics_type = "none"'
  echo '    lv.video_type = "none"'
  if [ "$own_box" -eq 1 ]; then
    echo "    lv.kernel = \"$box_dir/vmlinuz\""
    echo "    lv.initrd = \"$box_dir/initrd.img\""
    echo '    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0"'
  fi
  echo '  end'
  echo 'end'
} >"$VAGRANT_HOME/Vagrantfile"

# ---- 3. boot and provision -----------------------------------------------------------------------------
phase "vagrant up"
vm_up=1
vagrant up --provider=libvirt | tr "\r" "\n" | grep --line-buffered -v "Progress:"

# ---- 4. netlab inside the VM ---------------------------------------------------------------------------
in_vm() { vagrant ssh -c "$1" -- -o LogLevel=ERROR; }
phase "README command 1"
in_vm 'cd /vagrant && sudo scripts/provision.sh && sudo netlab up manifests/'
in_vm 'sudo netlab get pods -o wide && sudo netlab down'

phase "lab 01"
in_vm 'sudo netlab lab start 01 && sudo netlab lab check 01'

phase "netlab down"
in_vm 'sudo netlab down'
# Nothing of netlab's may remain: namespaces, links, nftables tables, processes, state and runtime files.
in_vm 'set -e
left=""
[ -z "$(ip netns list)" ] || left="$left netns:$(ip netns list | tr "\n" " ")"
ip -o link | grep -q -E "netlab|nlp|cni0|nlvxlan" && left="$left links"
sudo nft list tables | grep -q -i netlab && left="$left nftables"
pgrep -f "^/opt/netlab/venv/bin/python" >/dev/null && left="$left processes"
[ "$(sudo sh -c "readlink /proc/[0-9]*/ns/net" 2>/dev/null | sort -u | wc -l)" -le 1 ] || left="$left processes-in-other-netns"
[ -z "$(sudo ls -A /run/netlab 2>/dev/null)" ] || left="$left /run/netlab"
[ -z "$(sudo ls -A /var/lib/netlab 2>/dev/null)" ] || left="$left /var/lib/netlab"
if [ -n "$left" ]; then echo "left behind by netlab down:$left"; exit 1; fi
echo "the VM is clean: no netlab namespace, link, nftables table, process or file left"'
