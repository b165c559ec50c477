#!/bin/sh
# shellcheck shell=ksh
# Invoke-GuestBuild's build command, run in the guest (BuildRunner.cs fills the inputs; secrets arrive on
# stdin, one per line, never on a command line where ps would show them). The command runs in a process
# group of its own (setsid on Linux, perl's setpgrp on OpenBSD, which has no setsid command), whose id
# goes to OBB_PID_FILE, so a timeout or Ctrl+C can kill the whole tree (kill-build.sh).
# By hand, in the guest:
#   printf '%s\n' "$TOKEN" | OBB_WORK_DIR=/usr/obj/openbsdbuild/try OBB_PID_FILE=/usr/obj/openbsdbuild/try.pid OBB_RAISE_DATA_SIZE=no \
#   OBB_TMPDIR= OBB_ENVIRONMENT= OBB_SECRET_NAMES=TOKEN OBB_COMMAND='make' sh run-build.sh
: "${OBB_WORK_DIR:?the working directory}"
: "${OBB_PID_FILE:?where the process group id goes}"
: "${OBB_RAISE_DATA_SIZE:?yes: lift the soft data-size limit to the hard one}"
: "${OBB_TMPDIR?a TMPDIR with room, or empty}"
: "${OBB_SECRET_NAMES?the variables read from stdin, one line each, in this order}"
: "${OBB_COMMAND:?the build command, for /bin/sh -c}"
: "${OBB_ENVIRONMENT?the variables exported for the build, by name}"
cd "$OBB_WORK_DIR" || exit 97
if [ "$OBB_RAISE_DATA_SIZE" = yes ]; then ulimit -d "$(ulimit -H -d)" 2>/dev/null; fi
if [ -n "$OBB_TMPDIR" ]; then mkdir -p "$OBB_TMPDIR" && TMPDIR=$OBB_TMPDIR && export TMPDIR; fi
for obb_name in $OBB_SECRET_NAMES; do IFS= read -r "${obb_name?}"; export "${obb_name?}"; done
if command -v setsid >/dev/null 2>&1; then set -- setsid
elif command -v perl >/dev/null 2>&1; then set -- perl -e 'setpgrp(0,0); exec @ARGV or die "exec: $!\n"' --
else set --; fi
"$@" /bin/sh -c "$OBB_COMMAND" </dev/null & obb_pid=$!
echo $obb_pid > "$OBB_PID_FILE"; wait $obb_pid; obb_rc=$?; rm -f "$OBB_PID_FILE"; exit $obb_rc
