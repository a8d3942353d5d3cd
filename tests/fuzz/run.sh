#!/usr/bin/env bash
# Runs each fuzzer for FUZZ_TIME seconds on a scratch copy of the seed corpora
# (tests/data/malformed, tests/data/realtools); fails on the first finding,
# which libFuzzer saves in build/fuzz/crashes/.
set -euo pipefail
time=${FUZZ_TIME:-30}
mkdir -p build/fuzz/crashes
for f in "$@"; do
	name=$(basename "$f")
	work=$(mktemp -d)
	cp tests/data/malformed/* tests/data/realtools/* "$work/" 2>/dev/null || true
	echo "== $name: ${time}s"
	if ! "$f" -max_total_time="$time" -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=build/fuzz/crashes/"$name"- "$work" \
		>"$work.log" 2>&1; then
		tail -40 "$work.log"
		echo "$name: FINDING (input saved in build/fuzz/crashes/)"
		exit 1
	fi
	grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|cov:' "$work.log" | tail -3
	rm -rf "$work" "$work.log"
done
echo "fuzz: $# fuzzers, no findings"
