// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax inside policy text, not a JS template
import { describe, expect, it } from "vitest";
import { compileGlob, matchGlob } from "../src/wildcard";

const none = (): string | undefined => undefined;
const match = (pattern: string, subject: string, vars: Record<string, string> = {}): boolean =>
  matchGlob(compileGlob(pattern, false), subject, (key) => vars[key]);

describe("wildcard matching", () => {
  it.each([
    ["*", "", true],
    ["*", "anything/at:all", true],
    ["", "", true],
    ["", "x", false],
    ["a*", "a", true],
    ["*a", "ba", true],
    ["*a", "ab", false],
    ["a*b", "ab", true],
    ["a*b", "a/x:y/b", true],
    ["a*b*a", "aba", true],
    ["a*b*a", "ab", false],
    ["ab*ba", "aba", false],
    ["?", "", false],
    ["?", "x", true],
    ["??", "x", false],
    ["a?c", "a/c", true],
    ["*?", "", false],
    ["*a?b*", "xxa/bxx", true],
    ["*a?b*", "xxab", false],
    ["a**b", "ab", true],
    ["${*}", "*", true],
    ["${*}", "x", false],
    ["${?}", "?", true],
    ["${$}{x}", "${x}", true],
    ["$x", "$x", true],
    // A middle piece must end before the last piece starts.
    ["*ab*b", "ab", false],
    ["*ab*b", "abb", true],
    ["*a?*?", "ab", false],
    ["*a?*?", "abc", true],
    ["a*?", "a", false],
    ["*?b?*", "xb", false],
    // Braces and dollars are text unless they open a variable.
    ["a{b}", "a{b}", true],
    ["x}/${*}", "x}/*", true],
    ["${", "${", false],
  ] as const)("%j against %j is %s", (pattern, subject, expected) => {
    expect(match(pattern, subject)).toBe(expected);
  });

  it("finds a variable after a closing brace", () => {
    expect(match("brn:berth:t1:x}/${berth:id}", "brn:berth:t1:x}/u1", { "berth:id": "u1" })).toBe(true);
  });

  it("substitutes variables as literal text, and matches nothing when one has no value", () => {
    expect(match("brn:berth:${berth:tenantid}:*", "brn:berth:t1:x", { "berth:tenantid": "t1" })).toBe(true);
    expect(match("brn:berth:${berth:tenantid}:*", "brn:berth:t1:x", { "berth:tenantid": "t?" })).toBe(false);
    expect(match("brn:berth:${berth:tenantid}:*", "brn:berth:t1:x")).toBe(false);
    expect(match("*${berth:x}*", "a-b-c", { "berth:x": "-b-" })).toBe(true);
  });

  it("folds case only when asked, for actions", () => {
    expect(matchGlob(compileGlob("Cluster:List*", true), "cluster:listall", none)).toBe(true);
    expect(matchGlob(compileGlob("Cluster:List*", false), "cluster:listall", none)).toBe(false);
  });

  it("matches nothing for a malformed pattern", () => {
    expect(match("${berth:x", "${berth:x")).toBe(false);
  });

  it("stays fast on patterns that make a backtracking regex explode", () => {
    // As a RegExp, ^.*a.*a…b$ against 5,000 a's never finishes; here it is one pass per piece.
    const pattern = `${"*a".repeat(30)}*b`;
    const subject = "a".repeat(5_000);
    const started = performance.now();
    expect(match(pattern, subject)).toBe(false);
    expect(match(`${"*a?".repeat(30)}*b`, subject)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it("compiles each pattern once and shares it, apart for actions (folded) and the rest", () => {
    expect(compileGlob("cluster:*", true)).toBe(compileGlob("cluster:*", true));
    expect(compileGlob("cluster:*", true)).not.toBe(compileGlob("cluster:*", false));
  });

  it("keeps at most 4,096 compiled patterns, dropping the oldest first", () => {
    const first = compileGlob("eviction-0", false);
    const second = compileGlob("eviction-1", false);
    for (let i = 2; i <= 4096; i += 1) compileGlob(`eviction-${i}`, false);
    expect(compileGlob("eviction-1", false)).toBe(second);
    expect(compileGlob("eviction-0", false)).not.toBe(first);
  });
});
