#!/bin/sh
# shellcheck shell=ksh
# Creates the build's working directory in the guest and prints its absolute path (BuildRunner.cs):
# OBB_REQUESTED as given; else OBB_WORK_ROOT/OBB_RUN_ID, which New-OpenBsdImage makes writable for the
# build user; where that fails, ~/openbsdbuild/OBB_RUN_ID after the line @@obb-home-fallback@@.
# By hand: OBB_REQUESTED= OBB_WORK_ROOT=/usr/obj/openbsdbuild OBB_RUN_ID=try sh make-work-dir.sh
: "${OBB_REQUESTED?the directory -WorkingDirectory names, or empty}"
: "${OBB_WORK_ROOT:?the build user directory on /usr/obj}"
: "${OBB_RUN_ID:?a name for this build}"
if [ -n "$OBB_REQUESTED" ]; then d=$OBB_REQUESTED
else
  d=$OBB_WORK_ROOT/$OBB_RUN_ID
  if ! mkdir -p "$d" 2>/dev/null; then echo @@obb-home-fallback@@; d=$HOME/openbsdbuild/$OBB_RUN_ID; fi
fi
mkdir -p "$d" && cd "$d" && pwd
