#!/usr/bin/env bash
# results_section.sh NAME FILE: put FILE (which starts with "<!-- NAME -->" and
# ends with "<!-- /NAME -->") into benchmarks/RESULTS.md in place of the
# section of that name, or at the end when there is none. make bench rewrites
# RESULTS.md first, so there the sections are appended; a script run alone
# replaces its own section and leaves the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 file=$2 out=benchmarks/RESULTS.md
[ -f "$out" ] || : >"$out"
awk -v start="<!-- $name -->" -v end="<!-- /$name -->" -v file="$file" '
	function put() { while ((getline l < file) > 0) print l; done = 1 }
	$0 == start { skip = 1; put(); next }
	skip && $0 == end { skip = 0; next }
	!skip { print }
	END { if (!done) { print ""; put() } }' "$out" >"$out.tmp"
mv "$out.tmp" "$out"
