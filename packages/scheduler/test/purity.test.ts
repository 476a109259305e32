import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("src is pure", () => {
  it.each([
    { what: "the clock", pattern: /\bDate\b|\bperformance\b/ },
    { what: "randomness", pattern: /Math\.random|\bcrypto\b/ },
    { what: "the process or environment", pattern: /\bprocess\b|globalThis/ },
    { what: "timers", pattern: /\bset(Timeout|Interval|Immediate)\b/ },
    { what: "node built-ins or any package", pattern: /from\s+"(?!\.)/ },
    { what: "the console", pattern: /\bconsole\b/ },
  ])("reads no $what", ({ pattern }) => {
    const offenders = sources(SRC).filter((file) => pattern.test(readFileSync(file, "utf8")));
    expect(offenders).toEqual([]);
  });
});
