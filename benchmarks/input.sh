#!/usr/bin/env bash
# The input reader, before and after: `rabulk disconnect --dry-run` over a
# 1,000,000-row CSV and a 1,000,000-element JSON array, with this tree's
# binary and with one built from BASELINE (a git ref; default: the commit
# before the reader moved from fread to read(2) + poll and learned UTF-16),
# in turn, RUNS times each, in one run. Prints medians and the ratio, and
# writes benchmarks/INPUT.md. Part of `make bench`; alone:
#   BASELINE=9f0fc06 RUNS=7 benchmarks/input.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BASELINE=${BASELINE:-9f0fc06} RUNS=${RUNS:-7} ROWS=${ROWS:-1000000}
make -s all
dir=$(mktemp -d)
cleanup() { git worktree remove --force "$dir/base" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
git worktree add -q --detach "$dir/base" "$BASELINE"
make -s -C "$dir/base" all BUILD=build >/dev/null
old="$dir/base/build/rabulk" new="build/rabulk"

python3 - "$dir" "$ROWS" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
with open(d + "/in.csv", "w") as f:
    f.write("CollectionName,UserUpn\n")
    f.writelines("Apps,user%d@contoso.com\n" % i for i in range(n))
with open(d + "/in.json", "w") as f:
    f.write("[\n" + ",\n".join('{"CollectionName":"Apps","UserUpn":"user%d@contoso.com"}' % i
                               for i in range(n)) + "\n]\n")
with open(d + "/in16.csv", "wb") as f:
    f.write(b"\xff\xfe" + open(d + "/in.csv").read().encode("utf-16-le"))
PY

one() { # BINARY INPUT -> "wall user sys rss"
	/usr/bin/time -f "%e %U %S %M" -o "$dir/t" "$1" disconnect --dry-run --quiet \
		--report "$dir/out.csv" "$2" 2>/dev/null || [ $? -eq 1 ]
	cat "$dir/t"
}
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

python3 - "$dir" "$BASELINE" "$RUNS" "$ROWS" <<'PY'
import statistics, subprocess, sys
d, base, runs, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
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
table = "\n".join(lines)
print(table)
with open("benchmarks/INPUT.md", "w") as f:
    f.write("# Input reader: before and after\n\nWritten by `benchmarks/input.sh` (part of `make bench`): "
            "`rabulk disconnect --dry-run --quiet` over the same generated files, the binary of %s and of "
            "this tree (%s) in turn, %d runs each after a warm-up, timed by `/usr/bin/time`; medians, and the "
            "median of the per-pair ratios (this tree / %s).\n\n" % (base, head, runs, base))
    f.write(table + "\n")
PY
echo "wrote benchmarks/INPUT.md"
