#!/bin/ksh
# shellcheck shell=ksh
# What runs as root (sh -s over SSH) on a freshly installed OpenBSD's first boot, for New-OpenBsdImage
# (FirstBootScript.cs fills the inputs and reads the report between the @@obb-…@@ markers): packages,
# the build user's login class, its work directory, boot loader timeout, optionally a kernel of the
# user's choosing (-Kernel), no boot-time relinking and the EC2 agent (-Target Ec2), host key
# fingerprints, zeroed free space. OpenBSD's /bin/sh is ksh: no bashisms.
# By hand, as root in a throwaway OpenBSD VM (it removes root's authorized_keys):
#   PKG_PATH=https://cdn.openbsd.org/pub/OpenBSD/7.8/packages/aarch64/ PACKAGES='git' LOGIN_CLASS=openbsdbuild \
#   BUILD_USER=builder WORK_ROOT=/usr/obj/openbsdbuild SKIP_RELINK=no STAGED_KERNEL=/bsd.openbsdbuild KERNEL_SHA256= \
#   STAGED_AGENT=/root/openbsdbuild-agent AGENT_PATH=/usr/local/libexec/openbsdbuild-agent EC2_AGENT=no sh first-boot.sh
set -e
: "${PKG_PATH?where pkg_add finds the packages, or empty when there are none}"
: "${PACKAGES?the packages to add, separated by spaces}"
: "${LOGIN_CLASS:?the login class the build user gets}"
: "${BUILD_USER:?the build user}"
: "${WORK_ROOT:?the directory of the build user on /usr/obj}"
: "${SKIP_RELINK:?yes: no kernel relinking and library reordering at boot}"
: "${STAGED_KERNEL:?where the kernel of -Kernel was uploaded}"
: "${KERNEL_SHA256?its SHA-256, or empty when the release kernel stays}"
: "${STAGED_AGENT:?where the EC2 agent was uploaded}"
: "${AGENT_PATH:?where the image keeps the EC2 agent}"
: "${EC2_AGENT:?yes: install the EC2 agent and ship no host keys}"
if [ -n "$PACKAGES" ]; then
  export PKG_PATH
  # shellcheck disable=SC2086 # a list of package names
  pkg_add -I $PACKAGES
fi
# rustc and LLVM links need several GB of data segment; the port itself refuses below 3 GB.
# "datasize" before tc=default: it then wins over default's datasize-cur/-max (login_cap.c gsetrl).
grep -q "^$LOGIN_CLASS:" /etc/login.conf || printf '%s:\\\n\t:datasize=infinity:maxproc=infinity:openfiles-cur=8192:openfiles-max=16384:stacksize-cur=8M:tc=default:\n' "$LOGIN_CLASS" >> /etc/login.conf
if [ -f /etc/login.conf.db ]; then cap_mkdb /etc/login.conf; fi
usermod -L "$LOGIN_CLASS" "$BUILD_USER"
# Builds belong on /usr/obj (the layout's biggest filesystem); /home is too small for them.
mkdir -p "$WORK_ROOT" && chown "$BUILD_USER" "$WORK_ROOT" && chmod 755 "$WORK_ROOT"
# The boot loader waits 5 s for a key by default; nobody types on a build guest's console.
echo 'set timeout 1' > /etc/boot.conf
if [ -n "$KERNEL_SHA256" ]; then
  # /etc/rc relinks /bsd from the release's objects in the background after every boot (reorder_kernel),
  # which would replace this kernel; on the first boot that run may still be going: wait for it first.
  while pgrep -f /usr/libexec/reorder_kernel >/dev/null; do sleep 2; done
  [ "$(sha256 -q "$STAGED_KERNEL")" = "$KERNEL_SHA256" ] || { echo 'the uploaded kernel does not have the SHA-256 of -Kernel' >&2; exit 1; }
  [ -e /bsd.orig ] || mv /bsd /bsd.orig
  # One command a line: "set -e" stops at a failing one, not at a failing part of an && list.
  mv -f "$STAGED_KERNEL" /bsd
  chown root:wheel /bsd
  chmod 700 /bsd
  # /var/db/kernel.SHA256 keeps the release kernel's hash, so reorder_kernel would refuse this /bsd anyway
  # (it relinks only a /bsd that matches it); the rc line goes too, so no boot logs a failed relink.
  sed -i 's|^/usr/libexec/reorder_kernel &|# & (disabled by New-OpenBsdImage -Kernel: /bsd is not the release kernel)|' /etc/rc
fi
if [ "$SKIP_RELINK" = yes ]; then
  # Every guest from this image then shares one kernel and library layout (no KARL); see docs/golden-images.md.
  sed -i 's|^/usr/libexec/reorder_kernel &|# & (disabled by New-OpenBsdImage -SkipRelink)|' /etc/rc
  rcctl disable library_aslr
fi
if [ "$EC2_AGENT" = yes ]; then
  # rc runs rc.local on every boot, after sshd is up and before the login prompt (docs/golden-images.md).
  mkdir -p "$(dirname "$AGENT_PATH")"
  mv -f "$STAGED_AGENT" "$AGENT_PATH"
  chown root:bin "$AGENT_PATH"
  chmod 555 "$AGENT_PATH"
  grep -qxF "$AGENT_PATH" /etc/rc.local 2>/dev/null || echo "$AGENT_PATH" >> /etc/rc.local
fi
echo @@obb-packages@@; pkg_info -q 2>/dev/null || true; echo @@obb-packages@@
echo @@obb-hostkeys@@; for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$k"; done; echo @@obb-hostkeys@@
# The ephemeral key that ran this script must not stay in the image.
rm -f /root/.ssh/authorized_keys
# Each instance makes its own host keys (rc's ssh-keygen -A at boot, then the agent): none may ship in an EC2 image.
if [ "$EC2_AGENT" = yes ]; then rm -f /etc/ssh/ssh_host_*key /etc/ssh/ssh_host_*key.pub; fi
# Zeroed blocks compress to nothing in qemu-img convert -c.
for m in $(mount -t ffs | awk '{print $3}'); do dd if=/dev/zero of="$m/.obb-zero" bs=1m 2>/dev/null || true; rm -f "$m/.obb-zero"; done
sync
