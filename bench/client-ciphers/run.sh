#!/usr/bin/env bash
# What each cipher SSH.NET offers costs this client's CPU, with both SSH.NET builds (net10.0, and the netstandard2.0
# build the module ships), against a private OpenSSH sshd on loopback (as root, after bash .ci/run).
# Usage: bash bench/client-ciphers/run.sh [megabytes per round, default 256] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")"
mb=${1:-256}
rounds=${2:-3}
work=$(mktemp -d /tmp/obb-client-ciphers.XXXXXX)
trap 'kill "$(cat "$work/sshd.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
cp "$work/id.pub" "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
CONF
mkdir -p /run/sshd
"$(command -v sshd || echo /usr/sbin/sshd)" -f "$work/sshd_config" -E "$work/sshd.log"
sleep 0.5
for asset in ${ASSETS:-net10.0 netstandard2.0}; do
  dotnet build -c Release -v q "-p:SshNetAsset=$asset" -o "$work/$asset" ClientCiphers.csproj >/dev/null
  dotnet "$work/$asset/ClientCiphers.dll" 127.0.0.1 "$port" "$(id -un)" "$work/id" "$mb" "$rounds"
done
