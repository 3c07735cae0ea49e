#!/usr/bin/env bash
# Runs every test of duet on a fresh machine: installs what the tests need (Debian
# packages), checks formatting, vet, lint and the pure-Go build, then runs the race-enabled
# tests and short fuzz runs inside a network namespace that has only loopback, with a
# throwaway PostgreSQL server inside it for the store and cluster tests (scripts/go-tests.sh),
# then the suites of scripts/test.d (the browser suite makes its own namespace). Test traffic
# stays on loopback: ICE is restricted by an SDK option, and no other interface exists where
# the tests run.
set -euo pipefail
cd "$(dirname "$0")/.."

install_debs() {
  local missing=()
  command -v ffprobe >/dev/null || missing+=(ffmpeg)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  ((${#missing[@]})) || return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "== installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
install_debs

# nats-server for the cluster tests, built once from the module's pinned version (the go.mod
# tool) rather than by every test package; internal/natstest runs it from DUET_NATS_SERVER.
echo "== nats-server (pinned module, for the cluster tests)"
nats_dir=$(mktemp -d /tmp/duet-nats.XXXXXX)
trap 'rc=$?; rm -rf "$nats_dir"; exit $rc' EXIT
go build -o "$nats_dir/nats-server" github.com/nats-io/nats-server/v2
export DUET_NATS_SERVER="$nats_dir/nats-server"

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== golangci-lint (pinned, .golangci.yml, the whole tree)"
bash scripts/lint.sh

echo "== go build (CGO_ENABLED=0)"
CGO_ENABLED=0 go build ./...

# Root can make a network namespace directly. Others cannot run PostgreSQL as the namespace's
# root (initdb refuses), so their Go tests run in the host's network, still on 127.0.0.1 only.
if [ "$(id -u)" = 0 ]; then
  echo "== Go tests in a network namespace with only loopback (PostgreSQL inside it)"
  unshare --net bash -c 'ip link set lo up && exec bash scripts/with-postgres.sh bash scripts/go-tests.sh'
else
  echo "== Go tests (not root: no network namespace of their own; loopback only all the same)"
  bash scripts/with-postgres.sh bash scripts/go-tests.sh
fi

# Suites with their own set-up (a browser, cgo codecs, ...) live in scripts/test.d, one
# script each, run in name order; each installs what it needs and fails on any error.
for suite in scripts/test.d/*.sh; do
  [ -e "$suite" ] || continue
  echo "== $(basename "$suite")"
  bash "$suite"
done

echo "== all checks passed"
