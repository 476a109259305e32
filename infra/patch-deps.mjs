#!/usr/bin/env node
// Mends installed npm dependencies whose released versions have a bug Berth cannot work around
// from its own code. Idempotent; run after every install (infra/deps.sh does). A patch whose
// target text is neither unpatched nor patched (the dependency was upgraded) stops with an error,
// so that the upgrade is checked: drop the patch when the release has the fix.
//
// postgres (postgres.js) 3.4.x, two faults of a connection that closes (Postgres restarted, the
// connection cut):
// - A write queued with setImmediate runs after the close and dereferences the null socket: an
//   uncaught TypeError that ends the process. It happens whenever a transaction is open, as its
//   ROLLBACK is written to the closed connection; test/e2e/replicas.e2e.test.ts saw every API and
//   provisioner die of it. Upstream: porsager/postgres#1154, #1208 (open). The guard fails the
//   waiting queries with CONNECTION_CLOSED instead (the apps answer 503 UNAVAILABLE, retryable).
// - Found reading the code for the first, not isolated in a test: a close cancels the queued
//   write's timer but keeps its handle and the unsent bytes, so when the connection opens again its
//   startup message is appended to stale bytes and never sent (a write is only scheduled when no
//   handle is kept): the connect hangs for connect_timeout. The close now drops both (the queries
//   those bytes carried are failed by the close; one waiting for the connection is written again).
// - A new connection fetches the array types (its first query) from a function nobody awaits:
//   when the connection drops during that query (Postgres restarted again, the connection cut),
//   the query's rejection is unhandled and ends the process. test/e2e/replicas.e2e.test.ts saw an
//   API die of it ("connect ECONNREFUSED" while Postgres restarted). The connection's own close or
//   error path already deals with the failure; the rejection is now caught
//   (packages/db/test/driver-faults.test.ts).
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
  {
    name: "postgres: a closed connection keeps its unsent bytes",
    files: ["node_modules/postgres/src/connection.js", "node_modules/postgres/cjs/src/connection.js"],
    from: "    incomings = null\n    clearImmediate(nextWriteTimer)\n",
    to: [
      "    incomings = null",
      "    clearImmediate(nextWriteTimer)",
      "    chunk = nextWriteTimer = null // berth: infra/patch-deps.mjs (a new connection starts with nothing unsent)",
      "",
    ].join("\n"),
  },
  {
    name: "postgres: the array types' query of a connection that drops",
    files: ["node_modules/postgres/src/connection.js", "node_modules/postgres/cjs/src/connection.js"],
    from: "        return fetchArrayTypes()\n",
    to: "        return fetchArrayTypes().catch(() => {}) // berth: infra/patch-deps.mjs (a drop is handled by close)\n",
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
      continue; // not installed here (e.g. an install of some workspaces only): nothing to mend
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
