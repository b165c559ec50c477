#!/bin/sh
# shellcheck shell=ksh
# Sends what the -Artifact patterns match, in one command (ArtifactCollector.cs reads it). On stdout, first the matches with
# sizes, one line each, tab-separated: F <pattern index> <size> <file>; D <pattern index> <size> <matched directory> <file in it>;
# M <pattern index> when nothing matches. If a pattern matched nothing: @@top, the working directory's entries, and nothing
# more. Otherwise @@data, then the listed files' bytes back to back, in the listed order, while their SHA-256s go to stderr
# (sha256sum's or OpenBSD sha256's format, beside any error). One command, not one each to list, hash and send: every
# command costs a channel, a shell and round trips, on an emulated CPU tenths of a second.
# Patterns are relative to the working directory; the shell expands * ? [..] in them and nothing else.
# By hand, in the guest: OBB_WORK_DIR=/usr/obj/openbsdbuild/try OBB_PATTERNS='target/release/*' sh fetch-artifacts.sh >out 2>sums
: "${OBB_WORK_DIR:?the working directory}"
: "${OBB_PATTERNS?the artifact patterns, one per line}"
cd "$OBB_WORK_DIR" || exit 3
tab='	'
newline='
'
# Sizes come from one stat per batch of names, never one per file: a fork costs milliseconds on an emulated
# CPU. stat -c is GNU/busybox, stat -f OpenBSD's (usr.bin/stat); a literal tab, which both print as is.
if stat -c %s . >/dev/null 2>&1; then st=-c fmt="%s$tab%n"; else st=-f fmt="%z$tab%N"; fi
# The listing's status says whether a pattern matched nothing: the loop and its exit share one subshell (ksh runs the
# last command of a pipeline in a subshell too).
listing=$(printf '%s\n' "$OBB_PATTERNS" | {
  k=0 missing=0
  while IFS= read -r pattern; do
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
    [ $n = 1 ] || { printf 'M\t%s\n' "$k"; missing=1; }
    k=$((k+1))
  done
  exit "$missing"
}) || { printf '%s\n' "$listing" '@@top'; ls -A; exit 0; }
printf '%s\n' "$listing" '@@data'

# The listed files, NUL-separated for xargs -0: never on a command line, whatever their number or names.
files() {
  printf '%s\n' "$listing" | while IFS=$tab read -r kind _ _ f g; do
    [ "$kind" = D ] && f=$g
    [ -n "$f" ] && printf '%s\0' "$f"
  done
}
if command -v sha256sum >/dev/null 2>&1; then hash=sha256sum
elif command -v sha256 >/dev/null 2>&1; then hash=sha256
else hash='shasum -a 256'; fi
# The hash runs beside the transfer at the lowest priority: on a guest's one busy vCPU it takes the time the transfer
# leaves idle instead of slowing it (docs/transfers.md). xargs batches the names into few cat processes.
nice=
command -v nice >/dev/null 2>&1 && nice='nice -n 19'
# shellcheck disable=SC2086 # $nice and $hash are commands with their arguments
files | $nice xargs -0 $hash -- >&2 &
files | xargs -0 cat --
sent=$?
wait $!
exit "$sent"
