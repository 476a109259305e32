#!/usr/bin/env node
// Mends installed npm dependencies whose released versions have a bug Berth cannot work around
// from its own code. Idempotent; run after every install (infra/deps.sh does). A patch whose
// target text is neither unpatched nor patched (the dependency was upgraded) stops with an error,
// so that the upgrade is checked: drop the patch when the release has the fix.
//
// postgres (postgres.js) 3.4.x: a write queued with setImmediate runs after the connection has
// closed and dereferences its null socket, an uncaught TypeError that ends the process. It happens
// whenever Postgres restarts (or a connection is cut) while a transaction is open: the
// transaction's ROLLBACK is written to the closed connection. Upstream: porsager/postgres#1154,
// #1208 (open). The guard settles the queued queries with CONNECTION_CLOSED instead, which the
// apps already answer as 503 UNAVAILABLE (retryable), and the pool connects again.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const patches = [
  {
    name: "postgres: nextWrite on a closed connection",
    files: ["node_modules/postgres/src/connection.js", "node_modules/postgres/cjs/src/connection.js"],
    from: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n",
    to: [
      "  function nextWrite(fn) {",
      "    if (!socket) { // berth: infra/patch-deps.mjs (the connection closed after this write was queued)",
      "      nextWriteTimer !== null && clearImmediate(nextWriteTimer)",
      "      chunk = nextWriteTimer = null",
      "      error(Errors.connection('CONNECTION_CLOSED', options))",
      "      return false",
      "    }",
      "    const x = socket.write(chunk, fn)",
      "",
    ].join("\n"),
  },
];

let failed = false;
for (const patch of patches) {
  for (const file of patch.files) {
    const path = join(ROOT, file);
    let text;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      console.error(`patch-deps: ${file} is missing (is node_modules installed?)`);
      failed = true;
      continue;
    }
    if (text.includes(patch.to)) continue;
    if (!text.includes(patch.from)) {
      console.error(
        `patch-deps: ${patch.name}: ${file} has changed; check whether the patch is still needed`,
      );
      failed = true;
      continue;
    }
    writeFileSync(path, text.replace(patch.from, patch.to));
    console.error(`patch-deps: ${patch.name}: patched ${file}`);
  }
}
process.exit(failed ? 1 : 0);
