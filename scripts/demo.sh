#!/bin/sh
# make demo: a real bulk disconnect against the embedded emulator, then the report.
set -u
rabulk=${1:-build/rabulk}
report=$(mktemp -d)/rabulk-demo.csv
cd "$(dirname "$0")/.."
echo "\$ rabulk disconnect --emulator --emulator-seed examples/sessions.csv examples/users.csv"
"$rabulk" disconnect --emulator --emulator-seed examples/sessions.csv --poll-interval 200ms \
	--report "$report" examples/users.csv
rc=$?
echo "exit status $rc (1: some rows failed or were invalid, as this example intends)"
echo
echo "\$ column -s, -t < $report   # selected columns"
cut -d, -f1-8 "$report" | column -s, -t
[ $rc -le 1 ]
