#!/usr/bin/env bash
# Emulator throughput: can rabulk-emulator outrun every client we test with?
# wrk posts real disconnect requests (protocol headers, JSON body) over
# keep-alive connections to 127.0.0.1, then polls operation results.
#   benchmarks/emulator.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10} conns=${2:-64}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 1; }
make -s build/rabulk-emulator
dir=$(mktemp -d)
trap 'kill $emu 2>/dev/null; rm -rf "$dir"' EXIT
build/rabulk-emulator --port 0 --port-file "$dir/port" --generate Apps:100000 --log-max "${LOG_MAX:-1}" \
	2>"$dir/emu.err" &
emu=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$dir/port")/sub/services/remoteapp/collections/Apps/sessions/disconnect?api-version=2014-09-01"
cat >"$dir/post.lua" <<'LUA'
local n = 0
wrk.method = "POST"
wrk.headers["x-ms-version"] = "2014-08-01"
wrk.headers["Accept"] = "application/json; charset=utf-8"
wrk.headers["Content-Type"] = "application/json; charset=utf-8"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{"UserUpn":"user%d@contoso.com"}', n % 100000 + 1))
end
LUA
echo "== rabulk-emulator, POST disconnect, $conns connections, ${secs}s, $(nproc) cores, request log max ${LOG_MAX:-1}"
wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/post.lua" "$url"
