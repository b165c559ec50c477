#!/bin/sh
# An image file on the host, for Start-OpenBsdGuest (GuestImageInfo.cs reads it): its absolute path, then
# qemu-img's JSON about it, then @@openbsdbuild-sidecar@@ and its metadata sidecar (image.qcow2.json), if any.
# Exits 3 when the image does not exist, 4 when it cannot be read, 5 when qemu-img cannot read it.
# -U: the image may already back running guests; a shared read lock is all it needs.
# By hand, on the host: OBB_IMAGE=~/images/openbsd.qcow2 OBB_QEMU_IMG=qemu-img sh image-info.sh
: "${OBB_IMAGE:?the image path; ~/ means the home directory, as in ssh}"
: "${OBB_QEMU_IMG:?the qemu-img binary}"
case $OBB_IMAGE in \~/*) OBB_IMAGE=$HOME/${OBB_IMAGE#\~/} ;; esac
[ -e "$OBB_IMAGE" ] || exit 3
[ -r "$OBB_IMAGE" ] || exit 4
p=$(cd "$(dirname "$OBB_IMAGE")" && pwd)/$(basename "$OBB_IMAGE"); echo "$p"
"$OBB_QEMU_IMG" info -U --output=json "$p" || exit 5
echo @@openbsdbuild-sidecar@@; cat "$p.json" 2>/dev/null; true
