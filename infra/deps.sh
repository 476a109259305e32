#!/usr/bin/env bash
# Sourced by up.sh and test.sh: installs the npm dependencies exactly as the committed lockfile
# says (`npm ci`, which fails on any drift between package.json and the lock instead of rewriting
# it), when node_modules is missing or was installed from another lockfile; then mends the
# dependencies infra/patch-deps.mjs lists (every time: it is idempotent and takes milliseconds).
ensure_node_modules() {
  local stamp=node_modules/.berth-lockfile.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if ! [[ -d node_modules && -f $stamp && $(<"$stamp") == "$want" ]]; then
    printf 'installing dependencies (npm ci, from package-lock.json) ...\n' >&2
    npm ci --no-audit --no-fund
    printf '%s\n' "$want" >"$stamp"
  fi
  node infra/patch-deps.mjs
}
