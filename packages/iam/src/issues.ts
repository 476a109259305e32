import type { z } from "zod";

/** One problem with a policy document: where (`Statement[0].Action[1]`, "" for the whole document) and what. */
export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `["Statement", 0, "Condition", "IpAddress", "berth:SourceIp"]` → `Statement[0].Condition.IpAddress["berth:SourceIp"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "string" && IDENTIFIER.test(segment))
      out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

type Issue = z.core.$ZodIssue;

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: "a string",
  array: "a list",
  object: "an object",
  number: "a number",
  boolean: "a boolean",
};

/**
 * The types a union branch expected when all it reports is a type mismatch at the union's own
 * level (possibly itself a union of mismatches), or null when it got further than that.
 */
function mismatchTypes(branch: readonly Issue[]): string[] | null {
  const types: string[] = [];
  for (const issue of branch) {
    if (issue.path.length !== 0) return null;
    if (issue.code === "invalid_type") {
      types.push(TYPE_NAMES[issue.expected] ?? issue.expected);
      continue;
    }
    if (issue.code !== "invalid_union") return null;
    for (const inner of issue.errors) {
      const innerTypes = mismatchTypes(inner);
      if (innerTypes === null) return null;
      types.push(...innerTypes);
    }
  }
  return types;
}

/**
 * Flattens zod's issues into `PolicyIssue`s. For a union ("a string or a list of strings",
 * "a statement or a list of statements") the branch that got past the type check speaks; when
 * none did, one message names the types that were expected.
 */
function flatten(issues: readonly Issue[], base: readonly PropertyKey[], out: PolicyIssue[]): void {
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_union") {
      const expected = issue.errors.map(mismatchTypes);
      const chosen = issue.errors[expected.indexOf(null)];
      if (chosen !== undefined) flatten(chosen, path, out);
      else
        out.push({
          path: formatPath(path),
          message: `expected ${[...new Set(expected.flat())].join(" or ")}`,
        });
    } else if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        out.push({ path: formatPath([...path, key]), message: `unknown field "${key}"` });
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
}

export function toPolicyIssues(issues: readonly Issue[]): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  flatten(issues, [], out);
  return out;
}
