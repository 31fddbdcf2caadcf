#!/usr/bin/env bash
# Build a minimal Debian 12 Vagrant box for the libvirt provider from the Debian archive only (mmdebstrap).
# Usage: vm-box.sh OUTDIR   (as root; scripts/vm-test.sh calls it)
# OUTDIR receives box.box (metadata.json + box.img, qcow2 ext4 root without partition table), the kernel and
# initrd for direct kernel boot (vmlinuz, initrd.img), and a fresh SSH keypair (id_ed25519{,.pub}) whose public
# half is the vagrant user's only authorized key: no shared insecure key is shipped.
# The image trusts the same extra CAs as this machine (/usr/local/share/ca-certificates), so apt and pip inside it
# work wherever the host's do, and pip is told to use the system store.
set -euo pipefail

out=${1:?usage: vm-box.sh OUTDIR}
size_gb=8
mirror=http://deb.debian.org/debian
mkdir -p "$out"
root="$out/rootfs"

ssh-keygen -q -t ed25519 -N "" -C "netlab-vm-test" -f "$out/id_ed25519"

include=(systemd-sysv udev dbus kmod linux-image-amd64 initramfs-tools openssh-server sudo rsync ca-certificates
         ifupdown isc-dhcp-client iproute2 netbase procps python3 less)
hooks=(
  # root filesystem, network (eth0 via net.ifnames=0 on the kernel command line), hostname
  'echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" > "$1/etc/fstab"'
  'printf "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n" > "$1/etc/network/interfaces"'
  'echo debian > "$1/etc/hostname"; printf "127.0.0.1 localhost\n127.0.1.1 debian\n" > "$1/etc/hosts"'
  # the vagrant user: passwordless sudo, this run's public key
  'chroot "$1" useradd -m -s /bin/bash vagrant'
  'echo "vagrant ALL=(ALL) NOPASSWD:ALL" > "$1/etc/sudoers.d/vagrant"; chmod 440 "$1/etc/sudoers.d/vagrant"'
  "install -d -m 700 -o 1000 -g 1000 \"\$1/home/vagrant/.ssh\""
  "install -m 600 -o 1000 -g 1000 \"$out/id_ed25519.pub\" \"\$1/home/vagrant/.ssh/authorized_keys\""
  # the host's extra CAs (an intercepting proxy's, for instance), and pip told to use the system store
  'cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" 2>/dev/null || true'
  'chroot "$1" update-ca-certificates >/dev/null'
  'printf "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n" > "$1/etc/pip.conf"'
  # virtio disk and network drivers in the initrd whatever the build host has loaded
  'printf "virtio_pci\nvirtio_blk\nvirtio_net\next4\n" >> "$1/etc/initramfs-tools/modules"'
  'chroot "$1" update-initramfs -u -k all >/dev/null'
  'rm -f "$1/etc/machine-id"; touch "$1/etc/machine-id"'
)
hook_args=()
for h in "${hooks[@]}"; do hook_args+=(--customize-hook="$h"); done

mmdebstrap --quiet --mode=root --variant=minbase --include="$(IFS=,; echo "${include[*]}")" \
  "${hook_args[@]}" bookworm "$root" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"

cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)" "$out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)" "$out/initrd.img"
chmod 644 "$out/vmlinuz" "$out/initrd.img"

# ext4 straight from the directory (no loop device, no partition table), then qcow2 for vagrant-libvirt.
mke2fs -q -t ext4 -L root -d "$root" "$out/root.raw" "${size_gb}G"
rm -rf "$root"
qemu-img convert -O qcow2 "$out/root.raw" "$out/box.img"
rm -f "$out/root.raw"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d}\n' "$size_gb" >"$out/metadata.json"
tar -C "$out" -cf "$out/box.box.part" metadata.json box.img
rm -f "$out/box.img" "$out/metadata.json"
mv "$out/box.box.part" "$out/box.box"   # complete boxes only: a cache directory may be reused
echo "vm-box.sh: $out/box.box built"
