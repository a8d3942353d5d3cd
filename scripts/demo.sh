#!/bin/sh
# make demo: a real bulk disconnect against the embedded emulator, then the report.
set -u
cd "$(dirname "$0")/.."
rabulk=${1:-build/rabulk}
dir=$(mktemp -d)
report=$dir/rabulk-demo.csv
echo "\$ rabulk disconnect --emulator --emulator-seed examples/sessions.csv examples/users.csv"
"$rabulk" disconnect --emulator --emulator-seed examples/sessions.csv --poll-interval 200ms \
	--report "$report" examples/users.csv
rc=$?
echo "(exit status $rc: 1 means some rows failed or were invalid, as this example intends)"
echo
echo "report, first columns (the full report is $report):"
if command -v column >/dev/null; then
	cut -d, -f1-7 "$report" | column -s, -t
else
	cut -d, -f1-7 "$report"
fi
[ $rc -le 1 ]
