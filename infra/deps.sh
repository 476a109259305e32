#!/usr/bin/env bash
# Sourced by up.sh and test.sh: installs the npm dependencies exactly as the committed lockfile
# says (`npm ci`, which fails on any drift between package.json and the lock instead of rewriting
# it), when node_modules is missing or was installed from another lockfile.
ensure_node_modules() {
  local stamp=node_modules/.berth-lockfile.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -d node_modules && -f $stamp && $(<"$stamp") == "$want" ]]; then return 0; fi
  printf 'installing dependencies (npm ci, from package-lock.json) ...\n' >&2
  npm ci --no-audit --no-fund
  printf '%s\n' "$want" >"$stamp"
}
