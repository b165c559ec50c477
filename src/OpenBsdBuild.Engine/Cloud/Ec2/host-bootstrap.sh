#!/bin/bash
# OpenBsdBuild host bootstrap: the EC2 user data New-MetalHost launches an Ubuntu metal host with
# (UserDataScript.cs fills the inputs below). It arms the self-destruct, prints the SSH host key
# fingerprints on the console, installs QEMU and fetches the golden image, writing one line of progress
# (phase=… percent=… message=…) to $STATE_DIR/status, which the client follows over SSH.
# By hand (as root; OBB_STATE_DIR moves the state off /var/lib/openbsdbuild):
#   LIFETIME_MINUTES=120 QEMU_BINARY=qemu-system-aarch64 QEMU_PACKAGES='qemu-system-arm qemu-efi-aarch64 qemu-utils' \
#   APT_LOCK_SECONDS=600 LOGIN_USER=ubuntu IMAGE_URL= IMAGE_FILE_NAME=golden.qcow2 IMAGE_SHA256= IMAGE_METADATA= \
#   bash host-bootstrap.sh
set -uo pipefail
: "${LIFETIME_MINUTES:?minutes until the host powers itself off}"
: "${QEMU_BINARY:?the QEMU system emulator for the guest architecture}"
: "${QEMU_PACKAGES:?the apt packages that provide QEMU and its UEFI firmware}"
: "${APT_LOCK_SECONDS:?how long apt-get install waits for the dpkg lock}"
: "${LOGIN_USER:?the user the client logs in as (it gets /dev/kvm group)}"
: "${IMAGE_URL?a presigned URL of the golden image, or empty}"
: "${IMAGE_FILE_NAME:?the file name the image gets under the images folder}"
: "${IMAGE_SHA256?the expected SHA-256 of the image (hex), or empty}"
: "${IMAGE_METADATA?the image metadata sidecar (JSON), or empty}"
UPDATE_ATTEMPTS=60 # 5 s apart
STATE_DIR="${OBB_STATE_DIR:-/var/lib/openbsdbuild}"
mkdir -p "$STATE_DIR/images"
status() { printf 'phase=%s percent=%s message=%s\n' "$1" "$2" "${3:-}" > "$STATE_DIR/status.tmp" && mv -f "$STATE_DIR/status.tmp" "$STATE_DIR/status"; }
fail() { status failed 0 "$1"; echo "openbsdbuild: $1" >&2; exit 1; }
# First, before anything that can fail: the host must end even if the client never comes back.
shutdown -h "+$LIFETIME_MINUTES" 'OpenBsdBuild: maximum lifetime reached' || fail 'could not arm the self-destruct'
echo '-----BEGIN SSH HOST KEY FINGERPRINTS-----'
for k in /etc/ssh/ssh_host_*_key.pub; do [ -f "$k" ] && ssh-keygen -lf "$k"; done
echo '-----END SSH HOST KEY FINGERPRINTS-----'
status packages 0 'installing QEMU'
# AMIs (or hosts) that already carry QEMU skip apt entirely; a fresh Ubuntu does not.
if ! command -v "$QEMU_BINARY" >/dev/null || ! command -v qemu-img >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  # At first boot apt-daily (update) and unattended-upgrades may hold apt's locks. apt-get update
  # never waits for the lists lock, so it is retried; install waits for the dpkg lock only as long
  # as DPkg::Lock::Timeout says (apt 2.7; see docs/host-notes.md).
  for i in $(seq 1 "$UPDATE_ATTEMPTS"); do apt-get -q update && break; status packages 0 "apt-get update failed (another apt may hold the package lists); retry $i of $UPDATE_ATTEMPTS"; sleep 5; done
  status packages 0 "installing QEMU (waits up to $((APT_LOCK_SECONDS / 60)) min for the dpkg lock if unattended-upgrades runs)"
  # shellcheck disable=SC2086 # QEMU_PACKAGES is a list of package names
  apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_SECONDS" install -y -q --no-install-recommends $QEMU_PACKAGES || fail "apt-get install $QEMU_PACKAGES failed"
fi
status packages 100 'QEMU installed'
# /dev/kvm is root:kvm 0660 on Ubuntu and cloud-init's user is not in kvm. The client is usually
# logged in by now; it logs in again after the bootstrap, since a login keeps the groups it
# started with (docs/host-notes.md).
KVM_GROUP=$(stat -c %G /dev/kvm 2>/dev/null)
if [ -n "$KVM_GROUP" ] && [ "$KVM_GROUP" != root ] && id "$LOGIN_USER" >/dev/null 2>&1; then usermod -aG "$KVM_GROUP" "$LOGIN_USER" || echo "openbsdbuild: could not add the login user to group $KVM_GROUP" >&2; fi
if [ -n "$IMAGE_URL" ]; then
  IMAGE="$STATE_DIR/images/$IMAGE_FILE_NAME"
  status download 0 'fetching the golden image'
  # A one-byte ranged GET, not HEAD: a presigned URL is signed for GET only.
  SIZE=$(curl -sfL -r 0-0 -o /dev/null -w '%header{content-range}' "$IMAGE_URL" 2>/dev/null | sed -n 's#.*/##p')
  # The cheap check first: a disk that cannot hold the image fails now, not minutes into the download.
  FREE=$(( $(df -Pk "$STATE_DIR/images" | awk 'NR==2 {print $4}') * 1024 ))
  if [ -n "$SIZE" ] && [ "$SIZE" -gt "$FREE" ] 2>/dev/null; then fail "not enough disk space for the golden image: it is $SIZE bytes, $STATE_DIR/images has $FREE free (raise -RootVolumeSize)"; fi
  curl -sSfL --retry 3 -o "$IMAGE.partial" -w '%{http_code}' "$IMAGE_URL" > "$STATE_DIR/download.http" 2> "$STATE_DIR/download.err" & CURL=$!
  while kill -0 $CURL 2>/dev/null; do
    if [ -n "$SIZE" ] && [ "$SIZE" -gt 0 ] 2>/dev/null; then HAVE=$(stat -c %s "$IMAGE.partial" 2>/dev/null || echo 0); status download $((HAVE*100/SIZE)) "$HAVE of $SIZE bytes"; fi
    sleep 1
  done
  # curl exits 23 when it cannot write (a full disk) and 22 on an HTTP error (an expired or wrong presigned URL answers 403).
  wait $CURL; RC=$?
  if [ $RC -ne 0 ]; then
    rm -f "$IMAGE.partial"
    case $RC in
      23) fail "no space left on the host's disk while downloading the golden image ($SIZE bytes; raise -RootVolumeSize)" ;;
      22) fail "the presigned URL of the golden image was refused with HTTP $(cat "$STATE_DIR/download.http"): it has expired or is wrong; run again to get a fresh one" ;;
      *) fail "downloading the golden image failed (curl exit $RC: $(tail -n 1 "$STATE_DIR/download.err"))" ;;
    esac
  fi
  status download 100 'downloaded'
  if [ -n "$IMAGE_SHA256" ]; then
    status checksum 0 'checking SHA-256'
    GOT=$(sha256sum "$IMAGE.partial" | cut -d' ' -f1)
    [ "$GOT" = "$IMAGE_SHA256" ] || { rm -f "$IMAGE.partial"; fail "golden image SHA-256 mismatch: got $GOT"; }
    status checksum 100 'SHA-256 matches'
  fi
  # The sidecar travels with the image: guests started from it pin its host key and log in as its build user.
  if [ -n "$IMAGE_METADATA" ]; then
    printf '%s' "$IMAGE_METADATA" > "$IMAGE.json" || fail 'could not write the golden image metadata'
  fi
  mv -f "$IMAGE.partial" "$IMAGE"
fi
status ready 100 'ready'
