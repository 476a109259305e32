import { z } from "zod";
import { isBoolText } from "./conditions/bool";
import { conditionValues } from "./conditions/condition";
import { parseDate } from "./conditions/date";
import { parseCidr } from "./conditions/ip";
import { parseNumber } from "./conditions/numeric";
import { type OperatorName, parseOperatorName } from "./conditions/operators";
import { type PolicyIssue, toPolicyIssues } from "./issues";
import { tokenize } from "./template";
import type { PolicyDocument } from "./types";

/**
 * Berth's limits on one policy document. AWS has its own (6,144 characters for a managed
 * policy, "IAM and AWS STS quotas"); Berth's are explicit and a little roomier. Like AWS,
 * whitespace does not count: the size is that of the document re-serialised without it.
 */
export const POLICY_LIMITS = {
  maxDocumentChars: 10_240,
  maxStatements: 100,
  maxValuesPerList: 100,
  /** A JSON text is refused before parsing past this, whatever its whitespace. */
  maxRawJsonChars: 102_400,
} as const;

/** `service:Verb` with `*`/`?` in either part, or `*` alone. Variables are not allowed in Action (AWS). */
const ACTION = /^(?:\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+)$/;
/** After variables and escapes are blanked out: `brn:berth:<tenant>:<path>`, no blanks anywhere. */
const RESOURCE_SHAPE = /^brn:berth:[A-Za-z0-9_*?-]+:[^\s]+$/;
const CONDITION_KEY = /^[A-Za-z0-9-]+:\P{Cc}{1,256}$/u;
const SID = /^[A-Za-z0-9]+$/;

/** One problem found by a refinement, at `path` below the value refined. */
function report(ctx: z.RefinementCtx, message: string, path: PropertyKey[] = []): void {
  ctx.addIssue({ code: "custom", path, message });
}

function checkResource(value: string, ctx: z.RefinementCtx): void {
  if (value === "*") return;
  const tokens = tokenize(value, false);
  if (tokens === null) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM policy-variable syntax, shown to the user
    report(ctx, "malformed policy variable: use ${key}, ${*}, ${?} or ${$}");
    return;
  }
  // Blank variables out (a variable may hold a `:`), so the shape check sees the structure.
  const shape = tokens.map((t) => (t.kind === "text" ? t.text : "V")).join("");
  if (!RESOURCE_SHAPE.test(shape)) {
    report(
      ctx,
      'resource must be "*" or "brn:berth:<tenantId or *>:<path>" (e.g. brn:berth:ten_1:cluster/*)',
    );
  }
}

const action = z.string().regex(ACTION, {
  error: 'action must be "*" or "service:Verb", wildcards * and ? allowed (e.g. cluster:Describe, *:List*)',
});
const resource = z.string().superRefine(checkResource);

const oneOrMany = <T extends z.ZodType>(item: T, what: string) =>
  z.union([
    item,
    z
      .array(item)
      .min(1, { error: `list at least one ${what}` })
      .max(POLICY_LIMITS.maxValuesPerList, { error: `at most ${POLICY_LIMITS.maxValuesPerList} ${what}s` }),
  ]);

const conditionValue = z.union([z.string(), z.number(), z.boolean()]);

/** What a value must look like for the operator's family, or null when it is fine. */
function valueProblem(operator: OperatorName, value: string): string | null {
  const { base } = operator;
  switch (base.family) {
    case "String":
      // Whether `*` and `?` are wildcards (StringLike) changes nothing to which variables are well formed.
      return tokenize(value, false) === null ? "malformed policy variable" : null;
    case "Numeric":
      return Number.isNaN(parseNumber(value)) ? `${operator.baseName} needs a number` : null;
    case "Date":
      return Number.isNaN(parseDate(value))
        ? `${operator.baseName} needs an ISO 8601 date (2026-01-31T12:00:00Z) or epoch seconds`
        : null;
    case "IpAddress":
      return parseCidr(value) === null ? `${operator.baseName} needs an IPv4 or IPv6 address or CIDR` : null;
    case "Bool": {
      const tokens = tokenize(value, false);
      if (tokens === null) return "malformed policy variable";
      return isBoolText(value) || tokens.some((t) => t.kind === "var")
        ? null
        : 'Bool needs "true" or "false"';
    }
    case "Null":
      return isBoolText(value) ? null : 'Null needs "true" (key absent) or "false" (key present)';
  }
}

const conditionBlock = z
  .record(
    z.string(),
    z.record(
      z.string(),
      z.union([
        conditionValue,
        z
          .array(conditionValue)
          .min(1, { error: "list at least one value" })
          .max(POLICY_LIMITS.maxValuesPerList, { error: `at most ${POLICY_LIMITS.maxValuesPerList} values` }),
      ]),
    ),
  )
  .superRefine((block, ctx) => {
    for (const [name, entries] of Object.entries(block)) {
      const operator = parseOperatorName(name);
      if (operator === null) {
        report(ctx, `unknown condition operator "${name}"`, [name]);
        continue;
      }
      for (const [key, raw] of Object.entries(entries)) {
        if (!CONDITION_KEY.test(key)) {
          report(ctx, 'condition key must look like "berth:Name"', [name, key]);
        }
        const values = conditionValues(raw);
        values.forEach((value, i) => {
          const problem = valueProblem(operator, value);
          if (problem !== null) report(ctx, problem, Array.isArray(raw) ? [name, key, i] : [name, key]);
        });
      }
    }
  });

const statement = z
  .strictObject({
    Sid: z.string().regex(SID, { error: "Sid must be letters and digits only" }).optional(),
    Effect: z.enum(["Allow", "Deny"], { error: 'Effect must be "Allow" or "Deny"' }),
    Action: oneOrMany(action, "action").optional(),
    NotAction: oneOrMany(action, "action").optional(),
    Resource: oneOrMany(resource, "resource").optional(),
    NotResource: oneOrMany(resource, "resource").optional(),
    Condition: conditionBlock.optional(),
  })
  .superRefine((s, ctx) => {
    // AWS, "IAM JSON policy elements": a statement has Action or NotAction, and Resource or NotResource.
    for (const [a, b] of [
      ["Action", "NotAction"],
      ["Resource", "NotResource"],
    ] as const) {
      if (s[a] !== undefined && s[b] !== undefined) {
        report(ctx, `a statement has ${a} or ${b}, not both`, [b]);
      } else if (s[a] === undefined && s[b] === undefined) {
        report(ctx, `a statement needs ${a} or ${b}`);
      }
    }
  });

/** A policy document as written; `parsePolicyDocument` checks a JSON text or value against it. */
export const policyDocumentSchema = z
  .strictObject({
    Version: z.literal("2012-10-17", { error: 'Version must be "2012-10-17"' }),
    Statement: z.union([
      statement,
      z
        .array(statement)
        .min(1, { error: "list at least one statement" })
        .max(POLICY_LIMITS.maxStatements, { error: `at most ${POLICY_LIMITS.maxStatements} statements` }),
    ]),
  })
  .superRefine((doc, ctx) => {
    // AWS, "IAM JSON policy elements: Sid": the Sid must be unique within a JSON policy.
    if (!Array.isArray(doc.Statement)) return;
    const seen = new Set<string>();
    doc.Statement.forEach((s, i) => {
      if (s.Sid === undefined) return;
      if (seen.has(s.Sid)) report(ctx, `duplicate Sid "${s.Sid}"`, ["Statement", i, "Sid"]);
      seen.add(s.Sid);
    });
  });

export type ParseResult =
  | { readonly ok: true; readonly document: PolicyDocument }
  | { readonly ok: false; readonly errors: readonly PolicyIssue[] };

function deepFreeze<T>(value: T): T {
  // Object.isFrozen is true for primitives and null: only objects not yet frozen get here.
  if (!Object.isFrozen(value)) {
    for (const child of Object.values(value as object)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const fail = (message: string): ParseResult => ({ ok: false, errors: [{ path: "", message }] });

/**
 * Validates a policy document: a JSON text or an already-parsed value. Unknown fields are
 * rejected anywhere in the document. Returns a frozen document (the evaluator caches its
 * compiled form by identity) or every problem found, each with its path.
 */
export function parsePolicyDocument(json: unknown): ParseResult {
  let value: unknown = json;
  if (typeof json === "string") {
    if (json.length > POLICY_LIMITS.maxRawJsonChars) {
      return fail(`policy JSON is longer than ${POLICY_LIMITS.maxRawJsonChars} characters`);
    }
    try {
      value = JSON.parse(json);
    } catch (error) {
      return fail(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  let size: number;
  try {
    size = JSON.stringify(value)?.length ?? 0;
  } catch {
    return fail("not a JSON value");
  }
  if (size > POLICY_LIMITS.maxDocumentChars) {
    return fail(
      `policy is ${size} characters without whitespace; the limit is ${POLICY_LIMITS.maxDocumentChars}`,
    );
  }
  const result = policyDocumentSchema.safeParse(value);
  if (!result.success) return { ok: false, errors: toPolicyIssues(result.error.issues) };
  // The schema checked every rule PolicyDocument's type states (one of Action/NotAction, of
  // Resource/NotResource), which zod's inferred type cannot express.
  return { ok: true, document: deepFreeze(result.data) as PolicyDocument };
}
