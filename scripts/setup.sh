#!/usr/bin/env bash
# Installs the Debian packages Switchboard needs, only those missing.
#   scripts/setup.sh          build + unit/integration test dependencies
#   scripts/setup.sh --e2e    also the browser end-to-end test dependencies
set -euo pipefail

packages=(g++ cmake ninja-build ccache pkg-config
          nlohmann-json3-dev libfmt-dev catch2
          libboost-dev libssl-dev openssl libwebsocketpp-dev libbenchmark-dev
          clang libclang-rt-14-dev libhiredis-dev redis-server
          libcli11-dev libsimdjson-dev
          qtbase5-dev libqt5websockets5-dev
          libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev libnice-dev
          gstreamer1.0-plugins-base gstreamer1.0-plugins-bad gstreamer1.0-nice
          dpkg-dev file systemd)
missing=()
if [[ "${1:-}" == "--e2e" ]]; then
  packages+=(chromium firefox-esr python3-aiortc python3-websockets iproute2 util-linux coturn)
  # Node.js may come from elsewhere than Debian's packages (with npm built in):
  # any node >= 18 with npm will do.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing+=(nodejs npm)
  fi
fi

for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
