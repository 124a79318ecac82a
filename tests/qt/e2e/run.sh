#!/usr/bin/env bash
# Runs the Qt example's browser test: Chromium pages chat through
# switchboard-qt-host (examples/qt_host).
#
#   tests/qt/e2e/run.sh PATH/TO/switchboard-qt-host
#
# Needs Debian's chromium and node >= 18 (scripts/setup.sh --e2e installs
# them), and runs the browser suite's `npm ci` in tests/e2e when its
# packages are missing; it exits 77 (skipped) without them. Like
# tests/e2e/run.sh it runs in a network namespace of its own where only
# loopback is up (root or user namespaces), or skips.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
e2e="$(cd "$here/../../e2e" && pwd)"

skip() {
  printf '\n*** SKIPPING the Qt browser test: %s ***\n\n' "$*" >&2
  exit 77
}

[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/switchboard-qt-host" >&2; exit 2; }
host="$(realpath "$1")" || { echo "no such program: $1" >&2; exit 2; }

if [ -z "${SB_QT_E2E_IN_NETNS:-}" ]; then
  [ -x "${SB_CHROMIUM:-/usr/bin/chromium}" ] || skip "no chromium (apt-get install chromium)"
  command -v node >/dev/null || skip "no node (apt-get install nodejs)"
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' || skip "node is older than 18"
  if [ ! -d "$e2e/node_modules/playwright-core" ]; then
    # The browser suite's packages (both tests run serially, so one npm ci at a time).
    echo "qt e2e: npm ci in tests/e2e" >&2
    (cd "$e2e" && npm ci --no-audit --no-fund >&2) || skip "npm ci failed in tests/e2e"
  fi
  unshare -n true 2>/dev/null || skip "cannot create a network namespace (unshare -n)"
  export SB_QT_E2E_IN_NETNS=1
  exec unshare -n bash "$0" "$host"
fi

ip link set lo up || { echo "cannot bring lo up" >&2; exit 1; }
out="$(mktemp)"
"$host" --host 127.0.0.1 --port 0 --allow-client-names --log-level warn > "$out" 2> >(sed 's/^/[qt-host] /' >&2) &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$out"' EXIT

port=
for _ in $(seq 100); do
  port="$(sed -n 's|^listening on ws://127\.0\.0\.1:\([0-9][0-9]*\)/$|\1|p' "$out" | head -n 1)"
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "switchboard-qt-host exited before listening" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "switchboard-qt-host printed no listening line within 10 s" >&2; exit 1; }

export SB_URL="http://127.0.0.1:$port/"
cd "$e2e"
timeout --kill-after=10 300 node --test --test-concurrency=1 "$here/chat.test.mjs"
status=$?
# A graceful stop: SIGTERM closes every WebSocket and exits 0.
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "switchboard-qt-host did not stop within 10 s of SIGTERM" >&2; exit 1; fi
wait "$pid" || { echo "switchboard-qt-host exited with status $? after SIGTERM" >&2; exit 1; }
exit $status
