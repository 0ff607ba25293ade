#!/usr/bin/env bash
# The test command (README): installs the Debian packages the tests drive as real peers, then
# runs every test of the workspace. Extra arguments go to `cargo test`.
#
# Tests never skip because a peer is missing: this script installs them, and the tests fail
# with a clear message if one is still absent.
set -euo pipefail
cd "$(dirname "$0")/.."

# dig (bind9-dnsutils), kdig (knot-dnsutils), ddclient, inadyn: interop peers; python3: holds a SQLite
# lock from another process, python3-dnspython: the TSIG peer; iproute2 + util-linux: network namespaces, tmpfs mounts.
# python3-venv: the virtual environment moto is installed into (below). pebble: the ACME test server.
# samba + smbclient: the file servers and client of the failover acceptance test (network namespaces).
# prometheus: promtool checks the /metrics exposition.
# nftables: the firewall drop (a filtered port) of the `ddns smb check` acceptance test.
# chromium + chromium-driver: the web console's browser test (headless, loopback only);
# fonts-wqy-zenhei: a CJK font, so its Simplified Chinese screenshots show characters.
# systemd: systemd-analyze verify checks the generated units (ddns-platform).
# postgresql: the shared database of the store's suite on both engines and of the two-node tests.
packages=(bind9-dnsutils knot-dnsutils ddclient inadyn python3 python3-dnspython python3-venv iproute2 util-linux bind9 knot nsd pebble samba smbclient prometheus nftables chromium chromium-driver fonts-wqy-zenhei systemd postgresql)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]} (run as root, or install them first)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# moto[server] (PyPI), the AWS emulator the Route 53 tests run against, in a virtual environment
# of its own (Debian's Python refuses pip installs into the system, PEP 668). Installed once;
# later runs only check that it imports.
venv=${DDNS_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ddns-test/moto-venv}
if ! "$venv/bin/python" -c 'import moto.server, flask, boto3' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'moto[server]'
fi
export DDNS_MOTO_PYTHON="$venv/bin/python"

cargo test --workspace --locked "$@"
# The write path's suite (ddns-zones) once more with its stores on PostgreSQL; the store's own
# suite runs every test on both engines by itself. Only on a full run: arguments select tests.
if (($# == 0)); then
    DDNS_TEST_STORE=postgres cargo test -p ddns-zones --locked
fi
