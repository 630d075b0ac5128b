# What a test reads in pgcqrs-sidecar's log: after each step, the lines the step added must
# tell of no rebuild, dirty mark, refused command or failed write, unless the step caused it
# on purpose and says so. Source this file; tests, the soak and the docs test share it.
#
#   pgcqrs_log_begin LOG                 watch LOG from its current end (call it before the
#                                        sidecar's first start to check that start too)
#   pgcqrs_log_check LOG [EXPECTED...]   check the lines LOG got since the last check
#
# EXPECTED are extended regular expressions: each must match a line the step added, and every
# line of trouble must match one of them. "maybe:ERE" allows trouble matching ERE without
# requiring it (for what depends on timing). A failure prints LOG:LINE and the offending line
# on stderr and returns 1; either way the watch moves to the end read, so the steps of a test
# are checked back to back and no line falls between two of them.

# The lines of trouble, as sidecar/src/session.cpp and app.cpp print them (pattern
# "%Y-%m-%dT%H:%M:%S.%eZ LEVEL message"):
# - every error and critical line: a rebuild's reason (slot lost, a call stopped midway,
#   another key layout, no checkpoint, Redis behind the slot; the same found while streaming),
#   a write of a transaction batch that failed ("marking the read models dirty"), a definite
#   failure that stops the sidecar;
# - "rebuilding the read models (REASON)", a warning, printed by every rebuild;
# - a projection call or EXEC that Redis refused ("Redis rejected the batch ending at ..."),
#   an EXEC aborted by a change of the checkpoint, a session ended on a dirty mark ("... may
#   hold part of ..."), all printed in the warning "...; reconnecting in N ms";
# - Redis's words for a refused command, which inside a script (Redis 7.0) are "The user
#   executing the script can't run this command or subcommand", and NOPERM outside one.
pgcqrs_log_trouble='^[0-9T:.-]+Z (error|critical) |rebuilding the read models|Redis rejected the batch|changed between the reads and the writes|may hold part of|marking the read models dirty|NOPERM|can.t run this command|[Nn]o permissions to'

pgcqrs_log_begin() {
  local size=0
  [ -f "$1" ] && size=$(stat -c %s "$1")
  echo "$size" >"$1.checked"
}

pgcqrs_log_check() {
  local log=$1; shift
  local from=0 to=0 first_line=1 lines pattern line n text ok status=0
  [ -f "$log.checked" ] && from=$(cat "$log.checked")
  [ -f "$log" ] && to=$(stat -c %s "$log")
  if [ "$to" -lt "$from" ]; then
    echo "sidecar log $log shrank from $from to $to bytes" >&2
    return 1
  fi
  # Only whole lines: a line being written is checked with the next step.
  lines=$( { tail -c +"$((from + 1))" "$log" | head -c "$((to - from))"; } 2>/dev/null || true; echo x)
  lines=${lines%x}
  if [ -n "$lines" ] && [ "${lines: -1}" != $'\n' ]; then
    if [[ $lines == *$'\n'* ]]; then lines=${lines%$'\n'*}$'\n'; else lines=; fi
    to=$((from + $(printf '%s' "$lines" | wc -c)))
  fi
  [ "$from" -eq 0 ] || first_line=$(( $(head -c "$from" "$log" | wc -l) + 1 ))
  echo "$to" >"$log.checked"

  local required=() allowed=()
  for pattern in "$@"; do
    if [[ $pattern == maybe:* ]]; then allowed+=("${pattern#maybe:}"); else required+=("$pattern"); allowed+=("$pattern"); fi
  done
  for pattern in "${required[@]}"; do
    grep -qE -- "$pattern" <<<"$lines" || {
      echo "sidecar log $log: no line matching /$pattern/ in lines $first_line and later" >&2
      status=1
    }
  done
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    n=${line%%:*}; text=${line#*:}
    ok=
    for pattern in "${allowed[@]}"; do
      grep -qE -- "$pattern" <<<"$text" && { ok=1; break; }
    done
    [ -n "$ok" ] || { echo "sidecar log $log:$((first_line + n - 1)): unexpected: $text" >&2; status=1; }
  done < <(grep -nE -- "$pgcqrs_log_trouble" <<<"$lines" || true)
  return $status
}
