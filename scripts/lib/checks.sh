# Counted checks for a test that goes on after a failed check and reports them all at the
# end. Source this file, then: ok; fail MESSAGE; wait_for SECONDS WHAT COMMAND... (polls
# COMMAND until it succeeds, a failed check after SECONDS); checks_done NAME (prints the
# tally; its status is the test's verdict).
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
wait_for() {
  local deadline=$((SECONDS + $1))
  until "${@:3}"; do
    [ $SECONDS -lt $deadline ] || { fail "$2 (not within $1 s)"; return 1; }
    sleep 0.1
  done
}
checks_done() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}
