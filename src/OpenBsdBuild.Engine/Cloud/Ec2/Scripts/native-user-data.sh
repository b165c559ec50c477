#!/bin/sh
# User data for an OpenBSD instance launched by New-OpenBsdInstance. The image's first-boot agent
# runs it once, as root, after it has installed the instance's key and printed the host key
# fingerprints. Its one job is the self-destruct: the instance powers itself off when its maximum
# lifetime is over, and its shutdown behaviour (terminate) turns that into the end of the bill,
# even if the client that launched it is gone. shutdown(8) waits in the background by itself.
# Runnable by hand: OBB_MAX_LIFETIME_MINUTES=120 sh native-user-data.sh
minutes="${OBB_MAX_LIFETIME_MINUTES:-@@MAX_LIFETIME_MINUTES@@}"
case "$minutes" in
  ''|*[!0-9]*) echo "OpenBsdBuild: no valid lifetime ($minutes); not arming the self-destruct" >&2; exit 1 ;;
esac
if shutdown -hp "+$minutes" 'OpenBsdBuild: maximum lifetime reached' </dev/null >/dev/null 2>&1; then
  echo "OpenBsdBuild: self-destruct armed: power off in $minutes minutes"
else
  echo "OpenBsdBuild: could not arm the self-destruct" >&2
  exit 1
fi
