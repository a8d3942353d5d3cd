#!/usr/bin/env bash
# Runs the unit tests (cmocka) and the integration tests (real binaries over
# loopback) and ends with one line: "N passed, N failed".
#   tests/run.sh          everything
#   tests/run.sh unit     unit tests only
#   tests/run.sh engine   unit tests, then the engine's integration tests
# Environment: RABULK, EMULATOR (binaries), UNIT_BINS, VALGRIND (a prefix).
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # adds the OK / FAILED lines of a runner's output
	local ok bad
	ok=$(grep -c '^\[       OK \]' "$log")
	bad=$(grep '^\[  FAILED  \] [^0-9]' "$log" | sort -u | wc -l)
	passed=$((passed + ok)) failed=$((failed + bad))
}

for t in ${UNIT_BINS:-}; do
	${VALGRIND:-} "$t" >"$log" 2>&1
	rc=$?
	grep -E '^\[  (FAILED|ERROR) |LINE|^==' "$log"
	count
	if [ $rc -ne 0 ] && ! grep -q '^\[  FAILED  \] [^0-9]' "$log"; then
		echo "$t exited $rc"; cat "$log"; failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"

mode=${1:-all}
if [ "$mode" != unit ]; then
	filter=()
	[ "$mode" = engine ] && filter=(test_spine test_flow test_credentials.test_jwt test_credentials.test_opaque test_credentials.test_refresh test_avd. test_quota.test_paced)
	RABULK=$(realpath "${RABULK:-build/rabulk}") EMULATOR=$(realpath "${EMULATOR:-build/rabulk-emulator}") \
		python3 tests/integration/run.py "${filter[@]}" 2>&1 | tee "$log"
	count
	grep -q '^integration: ' "$log" || { echo "integration runner crashed"; failed=$((failed + 1)); }
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
