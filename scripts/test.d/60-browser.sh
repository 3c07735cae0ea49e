#!/usr/bin/env bash
# Browser end-to-end tests: the web SDK and demo app in real Debian Chromium, driven by
# playwright-core (e2e/run.mjs) against a real `duet server`, and a call from the browser to
# the Go SDK (`duet call --answer`). Everything runs inside a fresh network namespace that
# has only loopback (unshare --net), so no test traffic can leave 127.0.0.1. Packages and the
# binary are fetched and built before entering it: no package host is reachable inside.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nft >/dev/null || missing+=(nftables) # packet loss for the console tour
command -v ffprobe >/dev/null || missing+=(ffmpeg)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# playwright-core only: it drives /usr/bin/chromium and never downloads a browser.
(cd e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/duet" ./cmd/duet
out="$root/test-output"
rm -rf "$out"
mkdir -p "$out"

# Root can make a network namespace directly; others need a user namespace for it.
ns=(unshare --net)
[ "$(id -u)" = 0 ] || ns=(unshare --user --map-root-user --net)

port=18080
export DUET_BIN="$tmp/duet" DUET_URL="http://127.0.0.1:$port" DUET_URL_SHORT_RING="http://127.0.0.1:$((port + 1))" \
  OUT_DIR="$out" REPO_ROOT="$root" PORT="$port" TMP_DIR="$tmp"
"${ns[@]}" bash -c '
  set -euo pipefail
  ip link set lo up
  # The main server (its media relay on the default single batched UDP port); and a second
  # one with a 3 s ring timeout (no TURN and any relay port: the first holds the fixed ones)
  # for the no-answer scenario. Every browser registers from 127.0.0.1: the users of the suite
  # must not run into the per-address registration bound (30 at once), which server/abuse tests.
  "$DUET_BIN" server --addr "127.0.0.1:$PORT" --data "$TMP_DIR/data" --media-loopback --log-level warn --signup-burst 500 \
    --webhook-min-backoff 200ms --webhook-max-backoff 400ms --webhook-max-attempts 2 \
    >"$OUT_DIR/server.log" 2>&1 &
  main=$!
  "$DUET_BIN" server --addr "127.0.0.1:$((PORT + 1))" --data "$TMP_DIR/data-short" --ring-timeout 3s --turn-addr "" --relay-ports any \
    --media-loopback --log-level warn >"$OUT_DIR/server-short-ring.log" 2>&1 &
  short=$!
  trap "kill $main $short 2>/dev/null; wait $main $short 2>/dev/null || true" EXIT
  node e2e/run.mjs
'
