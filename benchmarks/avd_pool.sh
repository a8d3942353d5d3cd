#!/usr/bin/env bash
# Issue 17: one big AVD host pool. rabulk-emulator --generate-avd rg/Big
# (HOSTS hosts, SESSIONS sessions), at the emulator's default page size and at
# larger ones; for each: `rabulk sessions --service avd rg/Big` (the listing
# alone), `rabulk disconnect --service avd` of ROWS users of that pool (the
# whole pool listed once, then one request per session), and what a user would
# write instead to list it: a bash loop of curl + jq following nextLink (one
# curl and one jq process per page; no python). Wall time and peak RSS from
# /usr/bin/time -v. Writes its own section of benchmarks/RESULTS.md (replacing
# the one of an earlier run, else appended). Everything on 127.0.0.1, every
# process it started stopped at the end.
#   SESSIONS=100000 HOSTS=50 ROWS=1000 PAGE_SIZES="default 1000" benchmarks/avd_pool.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-100000} HOSTS=${HOSTS:-50} ROWS=${ROWS:-1000}
PAGE_SIZES=${PAGE_SIZES:-default 1000}
for t in curl jq /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "avd_pool.sh needs $t: apt-get install curl jq time" >&2; exit 1; }
done
make -s build/rabulk build/rabulk-emulator
dir=$(mktemp -d)
emu=
cleanup() { [ -z "$emu" ] || kill "$emu" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
export RABULK_ACCESS_TOKEN=bench-token
sub=bench-sub

start_emulator() { # ARGS... -> EPORT, emu
	rm -f "$dir/emu.port"
	build/rabulk-emulator --port 0 --port-file "$dir/emu.port" --log-max 1 "$@" >/dev/null 2>>"$dir/emu.err" &
	emu=$!
	for _ in $(seq 400); do [ -s "$dir/emu.port" ] && break; sleep 0.05; done
	[ -s "$dir/emu.port" ] || { echo "emulator did not start:"; cat "$dir/emu.err"; exit 1; }
	EPORT=$(cat "$dir/emu.port")
}
stop_emulator() { kill "$emu" 2>/dev/null || true; wait "$emu" 2>/dev/null || true; emu=; }
emu_requests() { curl -s "http://127.0.0.1:$EPORT/_emulator/stats" | jq .requests; }
timed() { # CMD... ; stdout to $dir/out; sets WALL (s) and RSS (KiB)
	/usr/bin/time -v -o "$dir/time" "$@" >"$dir/out" 2>"$dir/err" ||
		{ echo "failed: $*"; tail -5 "$dir/err"; exit 1; }
	WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0;
		for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$dir/time")
	RSS=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/time")
}
rows=()
row() { # TOOL PAGESIZE SESSIONS PAGES REQUESTS
	rows+=("$1|$2|$3|$4|$5|$WALL|$RSS")
	printf '  %-34s page %-7s %7s sessions %5s pages %5s requests %6.2f s %7.1f MiB\n' \
		"$1" "$2" "$3" "$4" "$5" "$WALL" "$(awk -v r="$RSS" 'BEGIN { print r / 1024 }')"
}

# what a user writes instead: follow nextLink with curl, parse with jq
cat >"$dir/curl-list.sh" <<'SH'
#!/usr/bin/env bash
# curl-list.sh URL TOKEN: every session of the pool, one CSV line each
set -euo pipefail
cd "$(dirname "$0")"
url=$1 pages=0
while [ -n "$url" ]; do
	curl -sS --fail -H "Authorization: Bearer $2" -H 'Accept: application/json' "$url" -o page.json
	jq -r '(.value[] | [.name, .properties.userPrincipalName, .properties.sessionState] | @csv),
		"NEXT " + (.nextLink // "")' page.json >page.out
	url=$(sed -n 's/^NEXT //p' page.out)
	grep -v '^NEXT ' page.out || true
	pages=$((pages + 1))
done
echo "$pages" >pages.count
SH
chmod +x "$dir/curl-list.sh"

for ps in $PAGE_SIZES; do
	psarg=()
	[ "$ps" = default ] || psarg=(--page-size "$ps")
	echo "== AVD host pool rg/Big: $SESSIONS sessions on $HOSTS hosts, page size $ps, $(nproc) cores"
	start_emulator --generate-avd "rg/Big:$HOSTS:$SESSIONS" "${psarg[@]}"
	base="http://127.0.0.1:$EPORT"
	pool="$base/subscriptions/$sub/resourceGroups/rg/providers/Microsoft.DesktopVirtualization/hostPools/Big"

	before=$(emu_requests)
	timed build/rabulk sessions --service avd --quiet --endpoint "$base" --subscription "$sub" rg/Big
	pages=$(($(emu_requests) - before - 1)) # less the stats request itself
	n=$(($(wc -l <"$dir/out") - 1))
	[ "$n" -eq "$SESSIONS" ] || { echo "rabulk sessions listed $n sessions, not $SESSIONS" >&2; exit 1; }
	row "rabulk sessions > file" "$ps" "$n" "$pages" 0
	# the input: ROWS users of the pool with exactly one session, Active
	awk -F, 'NR > 1 { c[$4]++; s[$4] = $5 } END { for (u in c) if (c[u] == 1 && s[u] == "Active") print u }' \
		"$dir/out" | sort -V >"$dir/single"
	head -n "$ROWS" "$dir/single" | awk 'BEGIN { print "HostPool,UserPrincipalName" } { print "rg/Big," $0 }' >"$dir/in.csv"
	[ "$(wc -l <"$dir/in.csv")" -eq $((ROWS + 1)) ] || { echo "not $ROWS single-session Active users" >&2; exit 1; }

	timed build/rabulk disconnect --service avd --quiet --endpoint "$base" --subscription "$sub" \
		--report "$dir/r.csv" --summary-json "$dir/s.json" "$dir/in.csv"
	[ "$(jq .status.succeeded "$dir/s.json")" -eq "$ROWS" ] || { cat "$dir/s.json"; exit 1; }
	row "rabulk disconnect ($ROWS rows)" "$ps" "$SESSIONS" "$(jq .list_pages "$dir/s.json")" \
		"$(jq .requests "$dir/s.json")"

	timed "$dir/curl-list.sh" "$pool/userSessions?api-version=2025-10-10" "$RABULK_ACCESS_TOKEN"
	n=$(wc -l <"$dir/out")
	[ "$n" -eq "$SESSIONS" ] || { echo "curl loop listed $n sessions, not $SESSIONS" >&2; exit 1; }
	row "curl + jq loop over nextLink" "$ps" "$n" "$(cat "$dir/pages.count")" 0
	stop_emulator
done

{
	echo "<!-- avd_pool.sh -->"
	echo "## AVD: one big host pool (issue 17)"
	echo
	echo "\`benchmarks/avd_pool.sh\`: \`rabulk-emulator --generate-avd rg/Big:$HOSTS:$SESSIONS\` (a fresh one per page" \
		"size; \`default\` is the emulator's 50 a page), request log off, $(nproc) cores shared by client and" \
		"emulator. \`rabulk sessions --service avd rg/Big > file\`; \`rabulk disconnect --service avd\` of $ROWS" \
		"users of the pool, each with one Active session (pages: the summary's \`list_pages\`; the whole pool" \
		"is listed once, then one POST per session); and a bash loop a user would write instead, \`curl -sS" \
		"--fail\` per page then one \`jq\` (jq $(jq --version | sed 's/^jq-//')) printing the sessions as CSV" \
		"and the \`nextLink\` (no python). Wall time and peak RSS from \`/usr/bin/time -v\`; for the curl loop" \
		"that is the largest single process (curl or jq), the loop being many processes."
	echo
	echo "| tool | page size | sessions | pages | POSTs | wall s | peak RSS MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for r in "${rows[@]}"; do
		IFS='|' read -r t p s pg rq w m <<<"$r"
		printf '| %s | %s | %s | %s | %s | %.2f | %.1f |\n' "$t" "$p" "$s" "$pg" "$rq" "$w" \
			"$(awk -v r="$m" 'BEGIN { print r / 1024 }')"
	done
	echo "<!-- /avd_pool.sh -->"
} >"$dir/section.md"
benchmarks/results_section.sh avd_pool.sh "$dir/section.md"
echo "wrote the avd_pool.sh section of benchmarks/RESULTS.md"
