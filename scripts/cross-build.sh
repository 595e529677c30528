#!/usr/bin/env bash
# cross-build.sh: vet and compile every package and its tests, in the root
# module and in bench/plot, for each target gorun supports, and print one
# verdict line per target. Exits 1 if any target fails (its errors follow
# its line), 2 on a usage error.
#
#   scripts/cross-build.sh                      # every target
#   TARGETS="darwin/arm64" scripts/cross-build.sh
#   TAGS=gorun_portable scripts/cross-build.sh  # with build tags
#
# Nothing runs: `go vet ./...` type-checks each package with its tests,
# `go test -c -o /dev/null ./...` compiles and links each package's test
# binary. The build cache makes a second run fast.
set -uo pipefail
cd "$(dirname "$0")/.."
targets=${TARGETS:-linux/amd64 linux/arm64 darwin/arm64 darwin/amd64 freebsd/amd64}
tags=${TAGS:-}
export CGO_ENABLED=0
for t in $targets; do
  case $t in
    */*) ;;
    *) echo "cross-build.sh: target $t: expected GOOS/GOARCH" >&2; exit 2 ;;
  esac
done
failed=0
all=$(date +%s)
for t in $targets; do
  start=$(date +%s)
  log=$(mktemp)
  ok=1
  for dir in . bench/plot; do
    GOOS=${t%/*} GOARCH=${t#*/} go -C "$dir" vet -tags "$tags" ./... >>"$log" 2>&1 || ok=0
    GOOS=${t%/*} GOARCH=${t#*/} go -C "$dir" test -tags "$tags" -c -o /dev/null ./... >>"$log" 2>&1 || ok=0
  done
  secs=$(( $(date +%s) - start ))
  if [ $ok = 1 ]; then
    echo "ok   $t${tags:+ (tags $tags)}: go vet and go test -c, every package (${secs}s)"
  else
    echo "FAIL $t${tags:+ (tags $tags)}: (${secs}s)"
    sed 's/^/    /' "$log" | head -40
    failed=1
  fi
  rm -f "$log"
done
echo "cross-build: $(( $(date +%s) - all ))s"
exit $failed
