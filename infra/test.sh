#!/usr/bin/env bash
# `npm test`: backing services up, typecheck + lint (turbo; stops here on failure), then every
# vitest project once. Extra arguments go to vitest (`npm test -- packages/scheduler`).
# Without arguments the tests that boot QEMU guests (VM_TESTS) run last, on their own and one file
# at a time: two TCG guests take both cores, and everything beside them would crawl.
# Writes vitest's JSON reports (their paths listed in .data/test-reports) and .data/test-stage
# (how far it got), which .ci/summary.mjs turns into "N passed, N failed".
# BERTH_SKIP_CHECKS=1 skips typecheck/lint.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
REPORTS=.data/test-reports
STAGE=.data/test-stage
VM_TESTS=integration/local-vm

mkdir -p .data
rm -f .data/test-results*.json "$REPORTS"
stage() { printf '%s\n' "$*" >"$STAGE"; }

stage install
source infra/deps.sh
ensure_node_modules

stage services
bash infra/services.sh up
service_env=$(bash infra/services.sh env)
eval "$service_env"

export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1
if [[ ${BERTH_SKIP_CHECKS:-} != 1 ]]; then
  stage typecheck-lint
  code=0
  npx turbo run typecheck lint --output-logs=errors-only || code=$?
  if ((code != 0)); then
    stage "failed typecheck-lint $code"
    printf 'test: typecheck/lint failed (exit %s); tests were not run\n' "$code" >&2
    exit "$code"
  fi
fi

# run_vitest <name of the run> <its arguments…>: one run, its JSON report listed in $REPORTS.
run_vitest() {
  local name=$1 code=0
  shift
  local report=.data/test-results-$name.json
  printf '%s\n' "$report" >>"$REPORTS"
  stage "vitest $name"
  npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || code=$?
  stage "done vitest $name $code"
  return "$code"
}

code=0
if (($# > 0)); then
  run_vitest all "$@" || code=$?
else
  run_vitest main --exclude "**/$VM_TESTS*.test.ts" || code=$?
  run_vitest vm --project @berth/e2e --no-file-parallelism "$VM_TESTS" || code=$?
fi
exit "$code"
