#!/usr/bin/env bash
# The VP8 suite: code behind the vpx build tag (internal/vpx, the cgo wrapper over Debian's
# libvpx; media's live VP8 sources; the SDK's custom video, watermark checks and snapshots;
# the CLI's video flags). Installs libvpx-dev and pkg-config when missing, vets everything
# with the tag, and runs the race-enabled tests of those parts (the rest of the tree ran
# untagged in test.sh). Takes about two minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v pkg-config >/dev/null || need+=(pkg-config)
if ! command -v pkg-config >/dev/null || ! pkg-config --exists vpx; then need+=(libvpx-dev); fi
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "== installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "== libvpx $(pkg-config --modversion vpx)"

echo "== go vet -tags vpx"
go vet -tags vpx ./...

echo "== go test -race -tags vpx: internal/vpx, media"
go test -race -count=1 -tags vpx -timeout 10m ./internal/vpx ./media

# In the SDK and the CLI only the tests of vpx-tagged files differ from the untagged run.
for pkg in . ./cmd/duet; do
  tests=$(grep -l '^//go:build vpx' "$pkg"/*_test.go | xargs grep -ho '^func Test[A-Za-z0-9_]*' | sed 's/^func //' | paste -sd'|' -)
  [ -n "$tests" ] || continue
  echo "== go test -race -tags vpx $pkg: $tests"
  go test -race -count=1 -tags vpx -timeout 10m -run "^($tests)\$" "$pkg"
done
