#!/usr/bin/env bash
# Before and after, in one run: this tree's binary and one built from
# BASELINE (a git ref; default 9f0fc06, the tree before the reader moved to
# read(2) + poll, learned UTF-16, and the pipeline and service/ seam were
# cut out), in turn, RUNS times each:
#   - the input reader: `rabulk disconnect --dry-run` over a 1,000,000-row
#     CSV and a 1,000,000-element JSON array;
#   - the full pipeline: `rabulk disconnect --no-wait --concurrency 64` of
#     100,000 rows against nginx answering 202 (as make bench's throughput).
# Prints medians and the median of the per-pair ratios, and writes
# benchmarks/COMPARE.md. Part of `make bench`; alone:
#   BASELINE=9f0fc06 RUNS=7 benchmarks/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BASELINE=${BASELINE:-9f0fc06} RUNS=${RUNS:-7} ROWS=${ROWS:-1000000} NET_ROWS=${NET_ROWS:-100000}
make -s all
dir=$(mktemp -d)
ngx=""
cleanup() {
	[ -z "$ngx" ] || kill "$ngx" 2>/dev/null || true
	git worktree remove --force "$dir/base" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
git worktree add -q --detach "$dir/base" "$BASELINE"
make -s -C "$dir/base" all BUILD=build >/dev/null
old="$dir/base/build/rabulk" new="build/rabulk"

python3 - "$dir" "$ROWS" "$NET_ROWS" <<'PY'
import json, sys
d, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(d + "/net.csv", "w") as f:
    f.write("CollectionName,UserUpn\n")
    f.writelines("Apps,user%d@contoso.com\n" % i for i in range(m))
with open(d + "/in.csv", "w") as f:
    f.write("CollectionName,UserUpn\n")
    f.writelines("Apps,user%d@contoso.com\n" % i for i in range(n))
with open(d + "/in.json", "w") as f:
    f.write("[\n" + ",\n".join('{"CollectionName":"Apps","UserUpn":"user%d@contoso.com"}' % i
                               for i in range(n)) + "\n]\n")
with open(d + "/in16.csv", "wb") as f:
    f.write(b"\xff\xfe" + open(d + "/in.csv").read().encode("utf-16-le"))
PY

one() { # BINARY INPUT [ARGS...] -> "wall user sys rss"
	local bin=$1 input=$2; shift 2
	/usr/bin/time -f "%e %U %S %M" -o "$dir/t" "$bin" disconnect --quiet \
		--report "$dir/out.csv" "${@:---dry-run}" "$input" 2>/dev/null || [ $? -eq 1 ]
	cat "$dir/t"
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s/__PORT__/$port/" benchmarks/nginx.conf >"$dir/nginx.conf"
nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/nginx.err" &
ngx=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
net=(--no-wait --concurrency 64 --endpoint "http://127.0.0.1:$port" --subscription s)
results=()
for input in in.csv in.json; do
	: >"$dir/old.$input" && : >"$dir/new.$input"
	one "$old" "$dir/$input" >/dev/null # warm-up: page cache
	for _ in $(seq "$RUNS"); do
		one "$old" "$dir/$input" >>"$dir/old.$input"
		one "$new" "$dir/$input" >>"$dir/new.$input"
	done
done
: >"$dir/new.in16.csv"
for _ in $(seq "$RUNS"); do one "$new" "$dir/in16.csv" >>"$dir/new.in16.csv"; done
: >"$dir/old.net" && : >"$dir/new.net"
one "$old" "$dir/net.csv" "${net[@]}" >/dev/null
for _ in $(seq "$RUNS"); do
	one "$old" "$dir/net.csv" "${net[@]}" >>"$dir/old.net"
	one "$new" "$dir/net.csv" "${net[@]}" >>"$dir/new.net"
done

python3 - "$dir" "$BASELINE" "$RUNS" "$ROWS" "$NET_ROWS" <<'PY'
import statistics, subprocess, sys
d, base, runs, rows, net_rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def load(name):
    return [list(map(float, l.split())) for l in open("%s/%s" % (d, name)) if l.strip()]
def med(rs, i):
    return statistics.median(r[i] for r in rs)
head = git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
lines = ["| input | rows | %s wall s | this tree wall s | ratio (median of pairs) | %s CPU s | this tree CPU s | this tree peak RSS MiB |" % (base, base),
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
for name, label in (("in.csv", "CSV, UTF-8"), ("in.json", "JSON array, one element a line")):
    o, n = load("old." + name), load("new." + name)
    ratio = statistics.median(b[0] / a[0] for a, b in zip(o, n))
    lines.append("| %s | %d | %.2f | %.2f | %.3f | %.2f | %.2f | %.1f |" % (
        label, rows, med(o, 0), med(n, 0), ratio, med(o, 1) + med(o, 2), med(n, 1) + med(n, 2),
        med(n, 3) / 1024))
n16 = load("new.in16.csv")
lines.append("| CSV, UTF-16LE with BOM | %d | (not read) | %.2f | | | %.2f | %.1f |" % (
    rows, med(n16, 0), med(n16, 1) + med(n16, 2), med(n16, 3) / 1024))
o, n = load("old.net"), load("new.net")
ratio = statistics.median(b[0] / a[0] for a, b in zip(o, n))
cpu = lambda rs: statistics.median((r[1] + r[2]) * 100000 / net_rows for r in rs)
cpu_ratio = statistics.median((b[1] + b[2]) / (a[1] + a[2]) for a, b in zip(o, n))
net = ["| run | rows | %s rows/s | this tree rows/s | wall ratio (median of pairs) | %s CPU s / 100k | this tree CPU s / 100k | CPU ratio (median of pairs) |" % (base, base),
       "|---|---:|---:|---:|---:|---:|---:|---:|",
       "| --no-wait --concurrency 64 vs nginx | %d | %.0f | %.0f | %.3f | %.2f | %.2f | %.3f |" % (
           net_rows, net_rows / med(o, 0), net_rows / med(n, 0), ratio, cpu(o), cpu(n), cpu_ratio)]
table = "\n".join(lines) + "\n\nThe full pipeline against nginx (make bench's throughput row):\n\n" + "\n".join(net)
print(table)
with open("benchmarks/COMPARE.md", "w") as f:
    f.write("# Before and after\n\nWritten by `benchmarks/compare.sh` (part of `make bench`): "
            "`rabulk disconnect --quiet` over the same generated files, the binary of %s and of "
            "this tree (%s) in turn, %d runs each after a warm-up, timed by `/usr/bin/time`; medians, and the "
            "median of the per-pair ratios (this tree / %s).\n\n" % (base, head, runs, base))
    f.write(table + "\n")
PY
echo "wrote benchmarks/COMPARE.md"
