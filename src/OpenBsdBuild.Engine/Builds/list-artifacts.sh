#!/bin/sh
# shellcheck shell=ksh
# What the -Artifact patterns match in the guest, with sizes (ArtifactCollector.cs reads it). One line each,
# tab-separated: F <pattern index> <size> <file>; D <pattern index> <size> <matched directory> <file in it>;
# M <pattern index> when nothing matches. Then @@top and the working directory's entries, for the error.
# Patterns are relative to the working directory; the shell expands * ? [..] in them and nothing else.
# By hand, in the guest: OBB_WORK_DIR=/usr/obj/openbsdbuild/try OBB_PATTERNS='target/release/*' sh list-artifacts.sh
: "${OBB_WORK_DIR:?the working directory}"
: "${OBB_PATTERNS?the artifact patterns, one per line}"
cd "$OBB_WORK_DIR" || exit 3
tab='	'
newline='
'
# Sizes come from one stat per batch of names, never one per file: a fork costs milliseconds on an emulated
# CPU. stat -c is GNU/busybox, stat -f OpenBSD's (usr.bin/stat); a literal tab, which both print as is.
if stat -c %s . >/dev/null 2>&1; then st=-c fmt="%s$tab%n"; else st=-f fmt="%z$tab%N"; fi
k=0
[ -n "$OBB_PATTERNS" ] && printf '%s\n' "$OBB_PATTERNS" | while IFS= read -r pattern; do
  n=0 plain=0
  IFS=$newline
  # shellcheck disable=SC2086 # unquoted on purpose: pathname expansion of the pattern, split at newlines only
  for f in $pattern; do
    [ -e "$f" ] || continue; n=1
    if [ -d "$f" ]; then
      find "$f" -type f -print0 | xargs -0 stat "$st" "$fmt" -- | while IFS=$tab read -r size g; do printf 'D\t%s\t%s\t%s\t%s\n' "$k" "$size" "$f" "$g"; done
    else plain=1; fi
  done
  if [ $plain = 1 ]; then
    # shellcheck disable=SC2086
    for f in $pattern; do [ -e "$f" ] && [ ! -d "$f" ] && printf '%s\0' "$f"; done |
      xargs -0 stat "$st" "$fmt" -- | while IFS=$tab read -r size g; do printf 'F\t%s\t%s\t%s\n' "$k" "$size" "$g"; done
  fi
  [ $n = 1 ] || printf 'M\t%s\n' "$k"
  k=$((k+1))
done
echo '@@top'; ls -A
