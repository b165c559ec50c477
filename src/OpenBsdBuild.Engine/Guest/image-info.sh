#!/bin/sh
# An image file on the host, for Start-OpenBsdGuest (GuestImageInfo.cs reads it): its absolute path, then
# qemu-img's JSON about it, then @@openbsdbuild-sidecar@@ and its metadata sidecar (image.qcow2.json); with
# no sidecar, @@openbsdbuild-loader@@ and the UEFI boot loader's name found in the image's first megabytes.
# Exits 3 when the image does not exist, 4 when it cannot be read, 5 when qemu-img cannot read it.
# -U: the image may already back running guests; a shared read lock is all it needs.
# By hand, on the host: OBB_IMAGE=~/images/openbsd.qcow2 OBB_QEMU_IMG=qemu-img OBB_LOADER_MEGABYTES=64 sh image-info.sh
: "${OBB_IMAGE:?the image path; ~/ means the home directory, as in ssh}"
: "${OBB_QEMU_IMG:?the qemu-img binary}"
: "${OBB_LOADER_MEGABYTES:?how far into the image to look for the boot loader}"
case $OBB_IMAGE in \~/*) OBB_IMAGE=$HOME/${OBB_IMAGE#\~/} ;; esac
[ -e "$OBB_IMAGE" ] || exit 3
[ -r "$OBB_IMAGE" ] || exit 4
p=$(cd "$(dirname "$OBB_IMAGE")" && pwd)/$(basename "$OBB_IMAGE"); echo "$p"
"$OBB_QEMU_IMG" info -U --output=json "$p" || exit 5
echo @@openbsdbuild-sidecar@@
if [ -r "$p.json" ]; then cat "$p.json"
else
  # No sidecar: find the FAT directory entry (8.3 names are stored upper case, unpadded to 11 bytes) of the
  # UEFI boot loader in the first megabytes, read through qemu-img so that compressed qcow2 clusters count.
  echo @@openbsdbuild-loader@@
  t=$(mktemp) && "$OBB_QEMU_IMG" dd -U -O raw bs=1M count="$OBB_LOADER_MEGABYTES" if="$p" of="$t" >/dev/null 2>&1
  LC_ALL=C grep -a -o -E 'BOOT(AA64|X64 )EFI' "$t" 2>/dev/null | head -n 1; rm -f "$t"
fi
true
