#!/usr/bin/env bash
# Runs the browser end-to-end suite against a Switchboard server.
#
#   tests/e2e/run.sh PATH/TO/switchboard-server [node --test arguments...]
#
# Installs what the suite needs (Debian packages, npm ci), then re-runs itself
# in a network namespace of its own where only loopback is up, starts the
# server there on 127.0.0.1 with a free port, and runs the tests with node's
# test runner. Exit code 77 (with a loud message) means the suite could not
# run here at all and was skipped; any other non-zero code is a failure.

set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

skip() {
  printf '\n*** SKIPPING the browser e2e suite: %s ***\n\n' "$*" >&2
  exit 77
}

if [ $# -lt 1 ]; then
  echo "usage: $0 PATH/TO/switchboard-server [node --test arguments...]" >&2
  exit 2
fi
server="$(realpath "$1")" || { echo "no such server: $1" >&2; exit 2; }
shift
[ -x "$server" ] || { echo "not executable: $server" >&2; exit 2; }

if [ -z "${SB_E2E_IN_NETNS:-}" ]; then
  # ---- outside the namespace: install what is missing ----------------------
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
  /usr/bin/python3 -c 'import aiortc' 2>/dev/null || missing+=(python3-aiortc)
  /usr/bin/python3 -c 'import websockets' 2>/dev/null || missing+=(python3-websockets)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v unshare >/dev/null || missing+=(util-linux)
  [ -x /usr/bin/turnserver ] || missing+=(coturn)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "e2e: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q "${missing[@]}" >&2; then
      apt-get update -q >&2 && apt-get install -y -q "${missing[@]}" >&2 \
        || skip "could not install Debian packages: ${missing[*]}"
    fi
  fi
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
    || skip "node $(node --version) is too old for node --test (need 18 or newer)"
  if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/ws" ]; then
    echo "e2e: npm ci" >&2
    (cd "$here" && npm ci --no-audit --no-fund >&2) || skip "npm ci failed in tests/e2e"
  fi
  unshare -n true 2>/dev/null || skip "cannot create a network namespace (unshare -n needs root or user namespaces)"
  export SB_E2E_IN_NETNS=1
  exec unshare -n bash "$here/run.sh" "$server" "$@"
fi

# ---- inside the namespace: only loopback ----------------------------------
ip link set lo up || { echo "e2e: cannot bring lo up" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export SB_SERVER="$server"
export SB_WEB_ROOT="$repo/examples/chat/web"
export SB_ARTIFACTS="${SB_ARTIFACTS:-$here/artifacts}"
mkdir -p "$SB_ARTIFACTS"

"$server" --host 127.0.0.1 --port 0 --web-root "$SB_WEB_ROOT" --threads 2 --log-level warn --allow-client-names \
  > "$work/server.out" 2> >(sed 's/^/[server] /' >&2) &
server_pid=$!

port=
for _ in $(seq 150); do
  line="$(head -n 1 "$work/server.out" 2>/dev/null)"
  if [ -n "$line" ]; then
    port="$(printf '%s\n' "$line" | sed -n 's|^listening on ws://127\.0\.0\.1:\([0-9][0-9]*\)/$|\1|p')"
    [ -n "$port" ] || { echo "e2e: unexpected first line from the server: $line" >&2; exit 1; }
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { echo "e2e: the server exited before listening" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "e2e: the server printed no listening line within 15 s" >&2; exit 1; }
export SB_URL="http://127.0.0.1:$port/"
echo "e2e: server $server on $SB_URL" >&2

cd "$here"
if [ $# -eq 0 ]; then
  set -- test/
fi
timeout --kill-after=10 1500 node --test --test-concurrency=1 --test-timeout=600000 "$@"
