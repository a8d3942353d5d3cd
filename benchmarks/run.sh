#!/usr/bin/env bash
# make bench: rabulk next to the tools a user would pick instead — curl -Z with
# a generated config, xargs -P curl, and h2load (the client limit of this
# machine) — on the same generated list against the same local servers
# (nginx answering 202, and rabulk-emulator), in one run. Prints a table and
# writes benchmarks/RESULTS.md. Everything binds 127.0.0.1 and stops by itself.
#   ROWS=100000 CONC=64 XARGS_ROWS=5000 benchmarks/run.sh
# Then the AVD parts, each runnable alone and appending its own section of
# RESULTS.md: benchmarks/avd_pool.sh (issue 17: a 100,000-session host pool,
# ~1.5 min) and benchmarks/quota.sh (issue 19: 5,000 disconnects against ARM's
# write bucket, ~5 min). SKIP_AVD=1 leaves both out.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-100000} CONC=${CONC:-64} XARGS_ROWS=${XARGS_ROWS:-5000}
BIG=${BIG:-1000000} HUGE=${HUGE:-10000000}
for t in nginx h2load curl /usr/bin/time python3; do
	command -v "$t" >/dev/null || { echo "bench needs $t: apt-get install nginx-light nghttp2-client curl time" >&2; exit 1; }
done
make -s all
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.05; done; echo "no server on $1" >&2; exit 1; }

NGX=$(free_port)
sed "s/__PORT__/$NGX/" benchmarks/nginx.conf >"$dir/nginx.conf"
nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/nginx.err" &
pids+=($!)
emulator() { # emulator ARGS... -> sets EPORT (started here, not in a subshell)
	rm -f "$dir/emu.port"
	build/rabulk-emulator --port 0 --port-file "$dir/emu.port" "$@" >/dev/null 2>>"$dir/emu.err" &
	pids+=($!)
	for _ in $(seq 200); do [ -s "$dir/emu.port" ] && break; sleep 0.05; done
	EPORT=$(cat "$dir/emu.port")
}
emulator --generate "Apps:$ROWS" --log-max 1
EMU=$EPORT
wait_port "$NGX"

python3 - "$dir" "$ROWS" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(d + "/users.csv", "w") as f:
    f.write("CollectionName,UserUpn\n")
    f.writelines("Apps,user%d@contoso.com\n" % i for i in range(1, n + 1))
PY
path="/sub/services/remoteapp/collections/Apps/sessions/disconnect?api-version=2014-09-01"
H1="x-ms-version: 2014-08-01" H2="Accept: application/json; charset=utf-8"
H3="Content-Type: application/json; charset=utf-8"
curl_config() { # PORT ROWS -> a curl config with one POST per row
	awk -v url="http://127.0.0.1:$1$path" -v h1="$H1" -v h2="$H2" -v h3="$H3" -v n="$2" \
		'BEGIN { for (i = 1; i <= n; i++) printf "%surl = \"%s\"\nheader = \"%s\"\nheader = \"%s\"\nheader = \"%s\"\ndata = \"{\\\"UserUpn\\\":\\\"user%d@contoso.com\\\"}\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code} %%{time_total}\\n\"\n", (i > 1 ? "next\n" : ""), url, h1, h2, h3, i }'
}

results=()
measure() { # LABEL SERVER ROWS CMD... ; the command's stdout goes to $dir/out
	local label=$1 server=$2 rows=$3; shift 3
	/usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$@" >"$dir/out" 2>"$dir/err" ||
		{ echo "$label failed:"; tail -5 "$dir/err"; exit 1; }
	read -r wall user sys rss <"$dir/time"
	results+=("$label|$server|$rows|$wall|$user|$sys|$rss")
	printf '  %-24s %-9s %8d rows %7.2f s\n' "$label" "$server" "$rows" "$wall"
}
check_lines() { # FILE PATTERN COUNT
	local got; got=$(grep -c "$2" "$1" || true)
	[ "$got" -eq "$3" ] || { echo "expected $3 lines matching '$2' in $1, got $got" >&2; exit 1; }
}

echo "== throughput: $ROWS rows, $CONC in flight, $(nproc) cores"
measure "rabulk --no-wait" nginx "$ROWS" build/rabulk disconnect --no-wait --quiet \
	--concurrency "$CONC" --endpoint "http://127.0.0.1:$NGX" --subscription s \
	--report "$dir/r.csv" "$dir/users.csv"
check_lines "$dir/r.csv" ",submitted,202," "$ROWS"
curl_config "$NGX" "$ROWS" >"$dir/curl.cfg"
measure "curl -Z" nginx "$ROWS" curl -s -Z --parallel-max "$CONC" --config "$dir/curl.cfg"
check_lines "$dir/out" "^202 " "$ROWS"
awk -F, -v n="$XARGS_ROWS" 'NR > 1 && NR <= n + 1 { print $2 }' "$dir/users.csv" >"$dir/upns"
measure "xargs -P curl" nginx "$XARGS_ROWS" xargs -P "$CONC" -I{} -a "$dir/upns" \
	curl -s -o /dev/null -w '%{http_code}\n' -H "$H1" -H "$H2" -H "$H3" \
	-d '{"UserUpn":"{}"}' "http://127.0.0.1:$NGX$path"
check_lines "$dir/out" "^202" "$XARGS_ROWS"
printf '{"UserUpn":"user1@contoso.com"}' >"$dir/body"
measure "h2load --h1" nginx "$ROWS" h2load --h1 -n "$ROWS" -c "$CONC" -t 1 -d "$dir/body" \
	-H "$H1" -H "$H2" -H "$H3" "http://127.0.0.1:$NGX$path"
grep -q "$ROWS succeeded" "$dir/out" || { cat "$dir/out"; exit 1; }
measure "rabulk (polls too)" emulator "$ROWS" build/rabulk disconnect --quiet \
	--concurrency "$CONC" --poll-interval 50ms --endpoint "http://127.0.0.1:$EMU" \
	--subscription s --report "$dir/r2.csv" "$dir/users.csv"
check_lines "$dir/r2.csv" ",succeeded,202," "$ROWS"
measure "rabulk --no-wait" emulator "$ROWS" build/rabulk disconnect --no-wait --quiet \
	--concurrency "$CONC" --endpoint "http://127.0.0.1:$EMU" --subscription s \
	--report "$dir/r3.csv" "$dir/users.csv"
curl_config "$EMU" "$ROWS" >"$dir/curl2.cfg"
measure "curl -Z" emulator "$ROWS" curl -s -Z --parallel-max "$CONC" --config "$dir/curl2.cfg"
check_lines "$dir/out" "^202 " "$ROWS"

echo "== memory: peak RSS"
mem=()
memory() { # LABEL ROWS ARGS...
	local label=$1 rows=$2; shift 2
	python3 -c "
import sys
with open('$dir/m.csv', 'w') as f:
    f.write('CollectionName,UserUpn\n')
    f.writelines('Apps,user%d@contoso.com\n' % i for i in range(1, $rows + 1))"
	/usr/bin/time -f "%e %M" -o "$dir/time" build/rabulk disconnect --quiet "$@" \
		--report "$dir/m-out.csv" "$dir/m.csv" 2>"$dir/err"
	read -r wall rss <"$dir/time"
	mem+=("$label|$rows|$wall|$rss")
	printf '  %-40s %9d rows %7.2f s %7.1f MiB\n' "$label" "$rows" "$wall" "$(awk -v r="$rss" 'BEGIN{print r/1024}')"
	rm -f "$dir/m.csv" "$dir/m-out.csv"
}
memory "full pipeline vs nginx, --no-wait" "$BIG" --no-wait --concurrency "$CONC" \
	--endpoint "http://127.0.0.1:$NGX" --subscription s
memory "--dry-run" "$BIG" --dry-run
memory "--dry-run" "$HUGE" --dry-run
memory "--dry-run --no-dedup" "$BIG" --dry-run --no-dedup
memory "--dry-run --no-dedup" "$HUGE" --dry-run --no-dedup

echo "== rate: --rate 500/s for 30 s"
emulator --generate Apps:15000 --log-max 20000
EMU2=$EPORT
head -n 15001 "$dir/users.csv" >"$dir/u15k.csv"
build/rabulk disconnect --no-wait --quiet --rate 500/s --endpoint "http://127.0.0.1:$EMU2" \
	--subscription s --report "$dir/rate.csv" "$dir/u15k.csv"
rate=$(curl -s "http://127.0.0.1:$EMU2/_emulator/log" | python3 -c '
import json, sys
t = sorted(e["t_ms"] for e in json.load(sys.stdin) if e["method"] == "POST")
j = mx = 0
for i in range(len(t)):
    while t[j] < t[i] - 999: j += 1
    mx = max(mx, i - j + 1)
print("%.2f %d %d" % ((len(t) - 1) / ((t[-1] - t[0]) / 1000.0), mx, len(t)))')
read -r achieved maxwin sent <<<"$rate"
echo "  achieved $achieved/s over $sent requests; busiest 1-s window: $maxwin"

echo "== latency-bound scaling: emulator --latency 100 (100 ms per answer), --no-wait"
scale=()
for c in 256 1024 4096; do
	rows=$((c * 60))
	emulator --generate "Apps:$rows" --latency 100 --log-max 1
	E=$EPORT
	head -n $((rows + 1)) "$dir/users.csv" >"$dir/s.csv" 2>/dev/null || true
	[ "$(wc -l <"$dir/s.csv")" -gt "$rows" ] || python3 -c "
with open('$dir/s.csv', 'w') as f:
    f.write('CollectionName,UserUpn\n'); f.writelines('Apps,user%d@contoso.com\n' % i for i in range(1, $rows + 1))"
	/usr/bin/time -f "%e" -o "$dir/time" build/rabulk disconnect --no-wait --quiet --concurrency "$c" \
		--endpoint "http://127.0.0.1:$E" --subscription s --report "$dir/sc.csv" "$dir/s.csv"
	wall=$(cat "$dir/time")
	# the machine's limit at this concurrency: h2load, same requests, a fresh emulator
	emulator --generate "Apps:$rows" --latency 100 --log-max 1
	/usr/bin/time -f "%e" -o "$dir/time" h2load --h1 -n "$rows" -c "$c" -t 1 -d "$dir/body" \
		-H "$H1" -H "$H2" -H "$H3" "http://127.0.0.1:$EPORT$path" >"$dir/out"
	grep -q "$rows done" "$dir/out" || { cat "$dir/out"; exit 1; }
	h2wall=$(cat "$dir/time")
	scale+=("$c|$rows|$wall|$h2wall")
	printf '  concurrency %5d: %8.0f rows/s, h2load %8.0f/s (ideal %d/s)\n' "$c" \
		"$(awk -v a="$rows" -v b="$wall" 'BEGIN{print a/b}')" \
		"$(awk -v a="$rows" -v b="$h2wall" 'BEGIN{print a/b}')" $((c * 10))
done

python3 - "$dir" "${results[@]}" -- "${mem[@]}" -- "${scale[@]}" -- "$achieved" "$maxwin" "$sent" <<'PY'
import os, platform, subprocess, sys
args = sys.argv[2:]
def take():
    global args
    i = args.index("--") if "--" in args else len(args)
    part, args = args[:i], args[i + 1:]
    return [p.split("|") for p in part]
runs, mem, scale = take(), take(), take()
achieved, maxwin, sent = args
def v(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip().splitlines()[0]
    except Exception:
        return "?"
cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][:1]
rows = []
def find(label, server):
    for r in runs:
        if r[0] == label and r[1] == server:
            return int(r[2]) / float(r[3])
curlz, h2 = find("curl -Z", "nginx"), find("h2load --h1", "nginx")
curl_cpu = None
for label, server, n, wall, user, sys_, rss in runs:
    n, wall = int(n), float(wall)
    cpu100k = (float(user) + float(sys_)) / n * 100000
    if label == "curl -Z" and server == "nginx":
        curl_cpu = cpu100k
    rows.append((label, server, n, wall, n / wall, cpu100k, int(rss) / 1024))
lines = ["| client | server | rows | wall s | rows/s | CPU s / 100k rows | peak RSS MiB | × curl -Z | × h2load |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
for label, server, n, wall, rps, cpu100k, rss in rows:
    xc = "%.2f" % (rps / curlz) if server == "nginx" else ""
    xh = "%.2f" % (rps / h2) if server == "nginx" else ""
    lines.append("| %s | %s | %d | %.2f | %.0f | %.2f | %.1f | %s | %s |" % (label, server, n, wall, rps, cpu100k, rss, xc, xh))
table = "\n".join(lines)
mlines = ["| run | rows | wall s | peak RSS MiB |", "|---|---:|---:|---:|"]
mlines += ["| %s | %s | %s | %.1f |" % (l, n, w, int(r) / 1024) for l, n, w, r in mem]
slines = ["| concurrency | rows | wall s | rows/s | concurrency / latency | share | h2load req/s | h2load share |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|"]
for c, n, w, hw in scale:
    rps, hrps, ideal = int(n) / float(w), int(n) / float(hw), int(c) * 10
    slines.append("| %s | %s | %s | %.0f | %d | %.0f%% | %.0f | %.0f%% |"
                  % (c, n, w, rps, ideal, 100 * rps / ideal, hrps, 100 * hrps / ideal))
print()
print(table)
print()
print("\n".join(mlines))
print()
print("\n".join(slines))
print("\nrate: --rate 500/s for 30 s: achieved %s/s over %s requests, busiest 1-second window %s" % (achieved, sent, maxwin))
machine = "%s, %d cores (%s), %s, Linux %s" % (platform.machine(), os.cpu_count(), cpu[0] if cpu else "?",
          v("grep MemTotal /proc/meminfo"), platform.release())
versions = "; ".join([v("build/rabulk --version"), v("curl --version"), v("nginx -v 2>&1"), v("h2load --version")])
with open("benchmarks/RESULTS.md", "w") as f:
    f.write("# Benchmark results\n\nWritten by `make bench` (benchmarks/run.sh) — one run, every tool on the same "
            "list against the same local servers.\n\n")
    f.write("- machine: %s\n- versions: %s\n" % (machine, versions))
    f.write("- servers: nginx 1 worker answering 202 + tracking id (benchmarks/nginx.conf); rabulk-emulator "
            "(2 threads, request log off)\n")
    f.write("- clients: `rabulk disconnect --no-wait --concurrency 64`; `curl -s -Z --parallel-max 64 --config` "
            "(one url/header/data/write-out block per row); `xargs -P 64 curl` (one process per row, on the "
            "first rows only); `h2load --h1 -c 64 -t 1` (same body for every request: the client limit)\n\n")
    f.write("## Throughput\n\n" + table + "\n\n## Memory\n\n" + "\n".join(mlines) + "\n\n")
    f.write("## Latency-bound scaling (emulator --latency 100)\n\n`rabulk --no-wait --concurrency C` "
            "(threads: the default for C), then `h2load --h1 -c C -t 1` posting the same number of "
            "disconnects to a fresh emulator: the machine's limit at that concurrency.\n\n"
            + "\n".join(slines) + "\n\n")
    f.write("## Rate accuracy\n\n`--rate 500/s` for 30 s against the emulator: achieved %s/s over %s requests "
            "(from the emulator's arrival times); busiest 1-second window: %s requests.\n" % (achieved, sent, maxwin))
    f.write("\nThe targets of issue 8 against these numbers, and the profiles behind the missed ones: "
            "benchmarks/ANALYSIS.md (written by hand).\n")
print("\nwrote benchmarks/RESULTS.md")
PY

echo "== before and after: the input reader and the full pipeline, baseline vs this tree"
benchmarks/compare.sh

if [ -z "${SKIP_AVD:-}" ]; then
	echo "== AVD: one big host pool (benchmarks/avd_pool.sh)"
	benchmarks/avd_pool.sh
	echo "== AVD: ARM's quota buckets (benchmarks/quota.sh)"
	benchmarks/quota.sh
fi
