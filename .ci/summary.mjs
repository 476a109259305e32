// Prints CI's summary of `npm test`; its very last line is "N passed, N failed".
// Usage: node .ci/summary.mjs <exit code of npm test>. Exits 0 when all is well, 1 otherwise.
// Reads the JSON reports of vitest's runs listed in .data/test-reports, and .data/test-stage
// (both written by infra/test.sh).
import { existsSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const reportsPath = resolve(root, ".data/test-reports");
const stagePath = resolve(root, ".data/test-stage");
const npmExitCode = Number.parseInt(process.argv[2] ?? "1", 10);

const firstLine = (text) =>
  String(text ?? "")
    .split("\n")[0]
    .slice(0, 300);
const stage = existsSync(stagePath) ? readFileSync(stagePath, "utf8").trim() : "";
const reports = existsSync(reportsPath)
  ? readFileSync(reportsPath, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((path) => resolve(root, path))
  : [];
const notes = [];
let passed = 0;
let failed = 0;

/** Adds one JSON report's counts; a report that is missing or unreadable is one failure. */
function count(resultsPath) {
  if (!existsSync(resultsPath)) {
    failed += 1;
    notes.push(
      `no ${relative(root, resultsPath)}: its vitest run did not report (stage: ${stage || "none"})`,
    );
    return;
  }
  try {
    const report = JSON.parse(readFileSync(resultsPath, "utf8"));
    passed += Number(report.numPassedTests ?? 0);
    failed += Number(report.numFailedTests ?? 0);
    // A file can fail with no failing test (an import error, a failing beforeAll): one each.
    for (const file of report.testResults ?? []) {
      const hasFailedTest = (file.assertionResults ?? []).some((t) => t.status === "failed");
      if (file.status === "failed" && !hasFailedTest) {
        failed += 1;
        notes.push(`${relative(root, file.name)}: ${firstLine(file.message) || "failed outside any test"}`);
      }
    }
  } catch (error) {
    failed += 1;
    notes.push(`could not read ${relative(root, resultsPath)}: ${firstLine(error.message)}`);
  }
}

if (reports.length > 0) for (const path of reports) count(path);
else if (stage.startsWith("failed typecheck-lint")) {
  failed += 1;
  notes.push("typecheck/lint failed, so the tests did not run");
} else {
  failed += 1;
  notes.push(`npm test stopped before any vitest run (stage: ${stage || "none"})`);
}

if (npmExitCode !== 0 && failed === 0) {
  failed = 1;
  notes.push(`npm test exited with code ${npmExitCode} although no test failed (unhandled error?)`);
}

const lines = [...notes.map((note) => `summary: ${note}`), `${passed} passed, ${failed} failed`];
process.stdout.write(`${lines.join("\n")}\n`);
process.exitCode = npmExitCode !== 0 || failed > 0 ? 1 : 0;
