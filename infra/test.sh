#!/usr/bin/env bash
# `npm test`: backing services up, typecheck + lint (turbo; stops here on failure), then every
# vitest project once. Extra arguments go to vitest (`npm test -- packages/scheduler`).
# Writes .data/test-results.json (vitest's JSON reporter) and .data/test-stage (how far it got),
# which .ci/summary.mjs turns into "N passed, N failed". BERTH_SKIP_CHECKS=1 skips typecheck/lint.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
RESULTS=.data/test-results.json
STAGE=.data/test-stage

mkdir -p .data
rm -f "$RESULTS"
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

stage vitest
code=0
npx vitest run --reporter=default --reporter=json --outputFile="$RESULTS" "$@" || code=$?
stage "done vitest $code"
exit "$code"
