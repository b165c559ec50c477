#!/bin/sh
# shellcheck shell=ksh
# Ends a build that run-build.sh started: TERM to its whole process group, 2 s to go, then KILL
# (BuildRunner.cs runs it on a timeout or Ctrl+C). By hand, in the guest: OBB_PID_FILE=<dir>.pid sh kill-build.sh
: "${OBB_PID_FILE:?the file that holds the build process group id}"
[ -f "$OBB_PID_FILE" ] || exit 0
g=$(cat "$OBB_PID_FILE")
kill -TERM -"$g" 2>/dev/null
i=0; while kill -0 -"$g" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -"$g" 2>/dev/null; rm -f "$OBB_PID_FILE"; true
