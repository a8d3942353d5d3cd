#!/bin/sh
# make demo: a real bulk disconnect against the embedded emulator, for each
# service (RemoteApp, then Azure Virtual Desktop), and the reports.
set -u
cd "$(dirname "$0")/.."
rabulk=${1:-build/rabulk}
dir=$(mktemp -d)
show() { # REPORT COLUMNS
	if command -v column >/dev/null; then
		cut -d, -f"$2" "$1" | column -s, -t
	else
		cut -d, -f"$2" "$1"
	fi
}

echo "\$ rabulk disconnect --emulator --emulator-seed examples/sessions.csv examples/users.csv"
"$rabulk" disconnect --emulator --emulator-seed examples/sessions.csv --poll-interval 200ms \
	--report "$dir/remoteapp.csv" examples/users.csv
rc=$?
echo "(exit status $rc: 1 means some rows failed or were invalid, as this example intends)"
echo
echo "report, first columns (the full report is $dir/remoteapp.csv):"
show "$dir/remoteapp.csv" 1-7
echo

echo "\$ rabulk disconnect --service avd --emulator --emulator-seed examples/avd-sessions.csv examples/avd-users.csv"
"$rabulk" disconnect --service avd --emulator --emulator-seed examples/avd-sessions.csv \
	--report "$dir/avd.csv" examples/avd-users.csv
rc2=$?
echo "(exit status $rc2: the host pool is listed once; alice's disconnected session is left"
echo " alone, dave's only one is already disconnected, and one row names no valid host pool)"
echo
echo "report, some columns (the full report is $dir/avd.csv):"
show "$dir/avd.csv" 1,3,5,6,7,15
[ $rc -le 1 ] && [ $rc2 -le 1 ]
