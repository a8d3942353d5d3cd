#!/usr/bin/env bash
# Issue 19: N AVD disconnects against ARM's write bucket, in one run, each
# contender against a fresh rabulk-emulator with the same settings
# (--arm-quota writes=200:100,reads=250:250 by default) seeded with N Active
# sessions of N users in host pool rg/Quota:
#   (a) rabulk, default settings (paced by the x-ms-ratelimit-remaining headers,
#       10% reserve)
#   (b) curl -Z --parallel-max 64 --retry 10 over a generated config of the N
#       disconnect URLs (what a user would pick; --retry honours Retry-After)
#   (c) rabulk --quota-reserve off (no pacing: retries on 429 + Retry-After)
#   (d) two rabulk shards (--shard 1/2 and 2/2, started together, same
#       subscription and token: one principal bucket, seen only through headers)
# Reports wall seconds, the ideal (N - burst)/refill (and with the default
# reserve, (N - 0.9 burst)/refill), the ratio, and the 429s the emulator sent
# (/_emulator/stats arm_quota), with a time profile from the emulator's log.
# Writes its own section of benchmarks/RESULTS.md (replacing an earlier one).
#   N=5000 QUOTA=writes=200:100,reads=250:250 CONC=64 benchmarks/quota.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5000} QUOTA=${QUOTA:-writes=200:100,reads=250:250} CONC=${CONC:-64} HOSTS=${HOSTS:-10}
for t in curl jq python3; do
	command -v "$t" >/dev/null || { echo "quota.sh needs $t: apt-get install curl jq python3" >&2; exit 1; }
done
make -s build/rabulk build/rabulk-emulator
dir=$(mktemp -d)
emu=
cleanup() { [ -z "$emu" ] || kill "$emu" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export RABULK_ACCESS_TOKEN=bench-token
sub=bench-sub
wspec=$(tr ',' '\n' <<<"$QUOTA" | sed -n 's/^writes=//p')
BURST=${wspec%%:*} REFILL=${wspec##*:}

start_emulator() { # -> EPORT, emu
	rm -f "$dir/emu.port"
	build/rabulk-emulator --port 0 --port-file "$dir/emu.port" --avd-seed "$dir/seed.csv" \
		--arm-quota "$QUOTA" --log-max $((N * 40)) >/dev/null 2>>"$dir/emu.err" &
	emu=$!
	for _ in $(seq 400); do [ -s "$dir/emu.port" ] && break; sleep 0.05; done
	[ -s "$dir/emu.port" ] || { echo "emulator did not start:"; cat "$dir/emu.err"; exit 1; }
	EPORT=$(cat "$dir/emu.port")
}
stop_emulator() { kill "$emu" 2>/dev/null || true; wait "$emu" 2>/dev/null || true; emu=; }
now() { date +%s.%N; }
collect() { # KEY START END LABEL: the emulator's stats and log for this contender
	curl -s "http://127.0.0.1:$EPORT/_emulator/stats" >"$dir/$1.stats"
	curl -s "http://127.0.0.1:$EPORT/_emulator/log" |
		jq -r '.[] | select(.method == "POST") | "\(.t_ms) \(.status) \(.path)"' >"$dir/$1.posts"
	awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f\n", b - a }' >"$dir/$1.wall"
	printf '  %-28s %7.2f s, writes %s\n' "$4" "$(cat "$dir/$1.wall")" \
		"$(jq -c .arm_quota.writes "$dir/$1.stats")"
}
rabulk() { # the common part of every rabulk run; an exit status other than 0 is said, not fatal
	build/rabulk disconnect --service avd --quiet --endpoint "http://127.0.0.1:$EPORT" \
		--subscription "$sub" "$@" || echo "  (rabulk exited $?)"
}

{
	echo "HostPool,SessionHost,UserPrincipalName,SessionState"
	for i in $(seq 1 "$N"); do echo "rg/Quota,Host-$((i % HOSTS)),user$i@contoso.com,Active"; done
} >"$dir/seed.csv"
{
	echo "HostPool,UserPrincipalName"
	for i in $(seq 1 "$N"); do echo "rg/Quota,user$i@contoso.com"; done
} >"$dir/in.csv"

echo "== ARM quota: $N disconnects, --arm-quota $QUOTA, $(nproc) cores"
labels=()

start_emulator
t0=$(now)
rabulk --report "$dir/a.csv" --summary-json "$dir/a.json" "$dir/in.csv"
t1=$(now)
collect a "$t0" "$t1" "rabulk"
labels+=("a|rabulk|a.json")
stop_emulator

# curl: the URLs come from a listing (reads bucket, before the clock starts)
start_emulator
build/rabulk sessions --service avd --quiet --endpoint "http://127.0.0.1:$EPORT" --subscription "$sub" \
	rg/Quota >"$dir/sessions.csv"
[ "$(($(wc -l <"$dir/sessions.csv") - 1))" -eq "$N" ] || { echo "listing has not $N sessions" >&2; exit 1; }
awk -F, -v base="http://127.0.0.1:$EPORT/subscriptions/$sub/resourceGroups/rg/providers/Microsoft.DesktopVirtualization/hostPools/Quota" \
	-v tok="$RABULK_ACCESS_TOKEN" 'NR > 1 {
	printf "%surl = \"%s/sessionHosts/%s/userSessions/%s/disconnect?api-version=2025-10-10\"\n", (NR > 2 ? "next\n" : ""), base, $2, $3
	printf "request = \"POST\"\ndata = \"\"\nfail\nheader = \"Authorization: Bearer %s\"\nretry = 10\n", tok
	printf "output = \"/dev/null\"\nwrite-out = \"%%{http_code}\\n\"\n" }' "$dir/sessions.csv" >"$dir/curl.cfg"
t0=$(now)
curl -s -Z --parallel-max "$CONC" --retry 10 --config "$dir/curl.cfg" >"$dir/curl.out" 2>"$dir/curl.err" || true
t1=$(now)
collect b "$t0" "$t1" "curl -Z --retry 10"
labels+=("b|curl -Z --parallel-max $CONC --retry 10 (--fail)|curl.out")
stop_emulator

start_emulator
t0=$(now)
rabulk --quota-reserve off --report "$dir/c.csv" --summary-json "$dir/c.json" "$dir/in.csv"
t1=$(now)
collect c "$t0" "$t1" "rabulk --quota-reserve off"
labels+=("c|rabulk --quota-reserve off|c.json")
stop_emulator

start_emulator
t0=$(now)
rabulk --shard 1/2 --report "$dir/d1.csv" --summary-json "$dir/d1.json" "$dir/in.csv" &
s1=$!
rabulk --shard 2/2 --report "$dir/d2.csv" --summary-json "$dir/d2.json" "$dir/in.csv" &
s2=$!
wait "$s1"
wait "$s2"
t1=$(now)
collect d "$t0" "$t1" "rabulk --shard 1/2 + 2/2"
labels+=("d|two rabulk shards (1/2 + 2/2, together)|d1.json,d2.json")
stop_emulator

python3 - "$dir" "$N" "$BURST" "$REFILL" "$QUOTA" "$CONC" "${labels[@]}" >"$dir/section.md" <<'PY'
import csv, json, os, sys
from collections import Counter
d, n, burst, refill, quota, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
ideal = (n - burst) / refill
ideal_res = (n - burst * 0.9) / refill
rows, notes = [], []
for spec in sys.argv[7:]:
    name, label, files = spec.split("|")
    stats = json.load(open(os.path.join(d, name + ".stats")))
    w = stats["arm_quota"]["writes"]
    r = stats["arm_quota"]["reads"]
    wall = float(open(os.path.join(d, name + ".wall")).read())
    answers = w["allowed"] + w["throttled"]
    done, throttled_seen, wait_ms = 0, 0, []
    if files == "curl.out":
        codes = Counter(open(os.path.join(d, files)).read().split())
        done = codes.get("200", 0)
        other = {k: v for k, v in codes.items() if k != "200"}
        client = "final codes: %s" % ", ".join("%s × %d" % kv for kv in sorted(codes.items()))
    else:
        for f in files.split(","):
            s = json.load(open(os.path.join(d, f)))
            done += s["status"]["succeeded"]
            throttled_seen += s.get("throttled", 0)
            wait_ms.append(str(s.get("quota", {}).get("wait_ms", "(absent)")))
        client = "summary: throttled %d, quota wait_ms %s" % (throttled_seen, " + ".join(wait_ms))
    uses_reserve = "off" not in label and "curl" not in label
    base = ideal_res if uses_reserve else ideal
    per1k = 1000.0 * w["throttled"] / answers if answers else 0
    if name == "a":
        target = "met" if wall / base <= 1.05 and per1k <= 1 and done == n else "**missed**"
    elif name == "d":
        target = "met" if wall / base <= 1.10 and per1k < 10 and done == n else "**missed**"
        if target != "met":
            target += " (%s)" % ", ".join(x for x, bad in (("time", wall / base > 1.10), ("429s", per1k >= 10),
                                                          ("rows", done != n)) if bad)
    else:
        target = "none stated"
    rows.append("| %s | %d | %.2f | %.1f | %.3f | %.3f | %d | %d | %.2f | %d | %s |" % (
        label, done, wall, base, wall / base, wall / ideal, answers, w["throttled"], per1k,
        r["throttled"], target))
    # time profile from the emulator's log: per second after the first POST
    posts = [l.split() for l in open(os.path.join(d, name + ".posts"))]
    if posts:
        t0 = int(posts[0][0])
        ok, th = Counter(), Counter()
        for t, st, _ in posts:
            sec = (int(t) - t0) // 1000
            (ok if st == "200" else th)[sec] += 1
        last = max(list(ok) + list(th))
        span = (int(posts[-1][0]) - t0) / 1000.0
        steady = sorted(ok[s] for s in range(2, max(last, 2)))
        med = steady[len(steady) // 2] if steady else 0
        th_secs = ", ".join("s%d: %d" % (s, th[s]) for s in sorted(th)[:12]) + (" …" if len(th) > 12 else "")
        win = " ".join(str(sum(ok[s] for s in range(w, w + 5))) for w in range(0, last + 1, 5))
        notes.append("- **%s**: %s. POSTs over %.1f s from the first to the last; 200s in second 0: %d, "
                     "then a median %d a second; 200s per 5-second window: %s; 429s by second after the "
                     "first POST: %s." % (label, client, span, ok[0], med, win, th_secs or "none"))
        if name == "d":  # which shard sent what: the sessions each shard's report names
            shard = {}
            for k in (1, 2):
                for rr in csv.DictReader(open(os.path.join(d, "d%d.csv" % k))):
                    shard[rr["sessions"]] = k
            per = {1: Counter(), 2: Counter()}
            for t, st, path in posts:
                seg = path.split("/")
                k = shard.get(seg[-4] + "/" + seg[-2])
                if k and st == "200":
                    per[k][(int(t) - t0) // 1000] += 1
            for k in (1, 2):
                ends = max(per[k]) if per[k] else 0
                notes.append("  - shard %d/2: 200s per 5-second window: %s (last 200 in second %d)" % (k,
                             " ".join(str(sum(per[k][s] for s in range(w, w + 5))) for w in range(0, last + 1, 5)), ends))
hdr = ["<!-- quota.sh -->", "## AVD: ARM's write bucket (issue 19)", "",
       "`benchmarks/quota.sh`: %d disconnects (`POST …/userSessions/{id}/disconnect`, no body) of %d Active "
       "sessions, each contender against a fresh `rabulk-emulator --arm-quota %s` (one bucket per "
       "subscription and bearer token; 429 `SubscriptionRequestsThrottled` with `Retry-After`, a fresh 429 "
       "for a request that comes too early), in one run on this %d-core machine. rabulk lists the pool first "
       "(reads bucket, inside its time); curl is given the URLs from a listing made before its clock starts. "
       "Ideal: (N − burst)/refill = (%d − %d)/%g = %.1f s; with rabulk's default 10%% reserve the burst it "
       "spends is 0.9 × %d: (%d − %d)/%g = %.1f s. \"ratio\" is to the ideal of its column (reserve "
       "for paced rabulk, none for the others); \"× bare ideal\" always to %.1f s. 429s: the emulator's "
       "`/_emulator/stats` `arm_quota.writes.throttled`; answers: writes allowed + throttled."
       % (n, n, quota, os.cpu_count(), n, burst, refill, ideal, burst, n, int(burst * 0.9), refill, ideal_res, ideal),
       "",
       "Targets (issue 19): rabulk within 5%% of ideal + reserve (≤ %.1f s) with at most 1 answer in 1,000 "
       "a 429; two shards together within 10%% (≤ %.1f s), 429s under 1%% (10 in 1,000)."
       % (ideal_res * 1.05, ideal_res * 1.10), "",
       "| contender | succeeded | wall s | ideal s | ratio | × bare ideal | write answers | 429s | 429s / 1,000 answers | read 429s | target |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
print("\n".join(hdr + rows + ["", "What the emulator saw (its request log):", ""] + notes + ["<!-- /quota.sh -->"]))
PY
benchmarks/results_section.sh quota.sh "$dir/section.md"
sed -n '/^| contender/,/^<!-- \/quota.sh/p' "$dir/section.md"
echo "wrote the quota.sh section of benchmarks/RESULTS.md"
