#!/usr/bin/env bash
# Unit tests of the browser SDK that need no browser (web/test/*.test.mjs): Node's own test
# runner with fake sockets and timers.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v node >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing nodejs (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs >/dev/null
fi
node --test web/test/
