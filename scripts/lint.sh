#!/usr/bin/env bash
# Runs golangci-lint at the pinned version (installed into GOPATH/bin once) with
# .golangci.yml over the packages given, or the whole tree.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v2.15.0
bin="$(go env GOPATH)/bin/golangci-lint"
if ! "$bin" version 2>/dev/null | grep -q "${version#v}"; then
  go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
fi
if [ $# -eq 0 ]; then
  set -- ./...
fi
"$bin" run --timeout 15m "$@"
