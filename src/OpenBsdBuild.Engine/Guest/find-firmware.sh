#!/bin/sh
# Which UEFI firmware pairs (code|variable-store template) exist and are readable on the host, one per
# line, in the order given (Firmware.cs takes the first).
# By hand: OBB_CANDIDATES='/usr/share/AAVMF/AAVMF_CODE.fd|/usr/share/AAVMF/AAVMF_VARS.fd' sh find-firmware.sh
: "${OBB_CANDIDATES:?code|vars pairs, one per line}"
printf '%s\n' "$OBB_CANDIDATES" | while IFS='|' read -r code vars; do
  [ -r "$code" ] && [ -r "$vars" ] && echo "$code|$vars"
done
true
