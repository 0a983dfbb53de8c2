#!/usr/bin/env bash
# Runs the conformance suite (test/conformance, docs/conformance.md): tokengate serve driven by
# kube-apiserver's own webhook token authenticator from k8s.io/apiserver. Needs Go (see go.mod) and Node.
#   scripts/conformance.sh [--results FILE] [-- go test flags, e.g. -run Flood]
# --results FILE: also write the counts for .ci/run. Set TOKENGATE_FLOOD_SECONDS to shorten the flood.
set -uo pipefail
cd "$(dirname "$0")/.."

results=()
if [[ "${1:-}" == "--results" ]]; then results=(--results "$2"); shift 2; fi
[[ "${1:-}" == "--" ]] && shift

if ! command -v go >/dev/null 2>&1; then
  echo "conformance suite: go not found; install Go 1.26 (or run scripts/install-go.sh) and run again" >&2
  echo "conformance: 0 passed, 1 failed, 0 skipped"
  [[ ${#results[@]} -gt 0 ]] && echo '{"numPassedTests":0,"numFailedTests":1,"numPendingTests":0}' > "${results[1]}"
  exit 1
fi

echo "::: conformance suite ($(go version | cut -d' ' -f3), k8s.io/apiserver $(grep -m1 'k8s.io/apiserver ' test/conformance/go.mod | awk '{print $2}'))"
# -p 1 -count=1: one package, never a cached result (the suite talks to processes it starts).
(cd test/conformance && go test -json -count=1 -p 1 -timeout 15m "$@" .) 2>&1 | npx tsx scripts/conformance-summary.ts "${results[@]}"
