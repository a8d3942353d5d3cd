#!/bin/sh
# Installs the Debian 12 packages rabulk builds and tests with, when missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
#   scripts/deps.sh        build, test, demo
#   scripts/deps.sh fuzz   the same, plus clang and libFuzzer for make fuzz,
#                          and clang-format for make format-check
#   scripts/deps.sh bench  the same, plus nginx, h2load, curl and jq for make bench
#                          (and the HTTP/2 test); nginx's own service is not
#                          started (policy-rc.d), rabulk starts its own
#   scripts/deps.sh deb    the same, plus debhelper and lintian for make deb
#   scripts/deps.sh promtool  the same, plus prometheus for the promtool the
#                          metrics test runs (its service is not started either)
# Several modes may be given at once: scripts/deps.sh deb promtool
# bash-completion and zsh are for the completion tests, python3-jsonschema for the
# AVD emulator test (answers checked against the spec's schemas).
set -eu
pkgs="build-essential pkg-config libcurl4-openssl-dev libcsv-dev libcjson-dev
libmicrohttpd-dev libgnutls28-dev libcmocka-dev libssl-dev openssl python3 python3-jsonschema time strace
bash-completion zsh"
for mode in "$@"; do
	case $mode in
	fuzz) pkgs="$pkgs clang libclang-rt-14-dev clang-format-14" ;;
	bench) pkgs="$pkgs nginx-light nghttp2-client curl jq time" ;;
	deb) pkgs="$pkgs debhelper lintian" ;;
	promtool) pkgs="$pkgs prometheus" ;;
	*) echo "scripts/deps.sh: unknown mode '$mode': want fuzz, bench, deb or promtool" >&2 && exit 2 ;;
	esac
done
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "rabulk needs:$missing" >&2
	echo "run: sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Installing nginx (port 80) or prometheus (9090) would start it: tell the
# packages not to start services.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
fi
status=0
# shellcheck disable=SC2086
$cmd >/dev/null || status=$?
[ -z "$policy" ] || rm -f "$policy"
exit $status
