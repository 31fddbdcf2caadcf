#!/usr/bin/env bash
# Exit 0 if /dev/kvm really runs a Linux guest here, else exit 1 with the reason on stdout.
# Opening /dev/kvm is not enough: under some nested hypervisors a guest's BIOS and the kernel's decompressor
# run, then the kernel hangs before its first message. So this boots a kernel image under KVM for up to
# 30 s and looks for its banner on the serial console.
# Usage: scripts/kvm-boots.sh [KERNEL]   (default: the newest /boot/vmlinuz-*; needs qemu-system-x86)
set -uo pipefail

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then echo "no usable /dev/kvm"; exit 1; fi
if ! command -v qemu-system-x86_64 >/dev/null; then echo "qemu-system-x86_64 is not installed"; exit 1; fi
kernel="${1:-$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)}"
if [ -z "$kernel" ] || ! [ -r "$kernel" ]; then echo "no kernel image to boot (none in /boot)"; exit 1; fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# -arch-capabilities: QEMU cannot even start with that MSR under some nested KVMs.
timeout 30 qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -m 256 -display none -vga none \
  -monitor none -no-reboot -serial "file:$log" -kernel "$kernel" -append "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1" >/dev/null 2>&1
if grep -a -q "Linux version" "$log"; then exit 0; fi
if [ -s "$log" ]; then
  echo "/dev/kvm opens, but a KVM guest ($kernel) hung before the kernel's first message within 30 s" \
       "(nested virtualisation here runs the BIOS and decompressor only)"
else
  echo "/dev/kvm opens, but a KVM guest ($kernel) printed nothing within 30 s"
fi
exit 1
