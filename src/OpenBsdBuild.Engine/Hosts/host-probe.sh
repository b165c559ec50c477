#!/bin/sh
# What a host can do, in one round trip: architecture, OS, QEMU binaries and whether this login can use KVM.
# HostProbe.cs parses the key=value lines. By hand, on the host: sh host-probe.sh
echo "arch=$(uname -m)"; echo "os=$(uname -s)"; echo "home=$HOME"
for b in qemu-system-aarch64 qemu-system-x86_64 qemu-img perl; do p=$(command -v $b 2>/dev/null) && echo "$b=$p"; done
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm=rw; elif [ -e /dev/kvm ]; then echo kvm=noaccess; else echo kvm=absent; fi
# Who may open /dev/kvm, and whether this login has that group or only the group database does
# (a group added after login never reaches the session: docs/host-notes.md).
[ -e /dev/kvm ] && echo "kvmnode=$(stat -c '%U:%G %a' /dev/kvm 2>/dev/null)"
u=$(id -un 2>/dev/null); echo "user=$u"; echo "sessiongroups=$(id -Gn 2>/dev/null)"; echo "usergroups=$(id -Gn "$u" 2>/dev/null)"
f=$(grep -o -w -m1 -E 'vmx|svm' /proc/cpuinfo 2>/dev/null | head -n1); echo "virtflag=$f"
