import type { AuthorizationRequest, Decision, Policy } from "../src/types";

/**
 * A second, deliberately plain reading of AWS's rules, written without looking at src/ and
 * sharing none of its code (types only). It favours obviousness over speed: wildcards by
 * recursive backtracking, variables substituted character by character, the evaluation
 * flowchart transcribed step by step. It covers the operators the property test generates.
 */

type Ctx = AuthorizationRequest["context"];

/** Case-insensitive context lookup: the first key, in insertion order, that matches. */
function lookup(ctx: Ctx, key: string): string | readonly string[] | undefined {
  for (const [k, v] of Object.entries(ctx)) {
    if (k.toLowerCase() === key.toLowerCase() && v !== undefined) return v;
  }
  return undefined;
}

function present(v: string | readonly string[] | undefined): v is string | readonly string[] {
  if (v === undefined) return false;
  if (typeof v === "string") return true;
  return v.length > 0;
}

type Elem = { lit: string } | "STAR" | "ONE";

/**
 * Pattern text → elements. `${*}`, `${?}`, `${$}` are literal characters; `${key}` is the
 * key's single string value, character by character; a variable without one → null.
 */
function expand(pattern: string, ctx: Ctx, wildcards: boolean): Elem[] | null {
  const out: Elem[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === "$" && pattern[i + 1] === "{") {
      const end = pattern.indexOf("}", i);
      if (end < 0) return null;
      const name = pattern.slice(i + 2, end);
      let text: string;
      if (name === "*" || name === "?" || name === "$") {
        text = name;
      } else {
        const v = lookup(ctx, name);
        if (typeof v !== "string") return null;
        text = v;
      }
      for (const ch of text) out.push({ lit: ch });
      i = end + 1;
    } else if (wildcards && c === "*") {
      out.push("STAR");
      i += 1;
    } else if (wildcards && c === "?") {
      out.push("ONE");
      i += 1;
    } else {
      out.push({ lit: c });
      i += 1;
    }
  }
  return out;
}

function backtrack(p: readonly Elem[], i: number, s: string, j: number): boolean {
  if (i === p.length) return j === s.length;
  const e = p[i];
  if (e === "STAR") return backtrack(p, i + 1, s, j) || (j < s.length && backtrack(p, i, s, j + 1));
  if (j >= s.length) return false;
  if (e === "ONE") return backtrack(p, i + 1, s, j + 1);
  return e !== undefined && e.lit === s[j] && backtrack(p, i + 1, s, j + 1);
}

export function refWildcard(pattern: string, subject: string, ctx: Ctx): boolean {
  const p = expand(pattern, ctx, true);
  return p !== null && backtrack(p, 0, subject, 0);
}

function refText(pattern: string, ctx: Ctx): string | null {
  const p = expand(pattern, ctx, false);
  if (p === null) return null;
  return p.map((e) => (typeof e === "object" ? e.lit : "")).join("");
}

const num = (s: string): number | null => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : null);
const date = (s: string): number | null =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(s) ? Date.parse(s) : null;
function ipv4(s: string): number | null {
  const parts = s.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}
function inCidr(ip: string, cidr: string): boolean {
  const [base = "", bitsText] = cidr.split("/");
  const a = ipv4(ip);
  const b = ipv4(base);
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (a === null || b === null) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(a / size) === Math.floor(b / size);
}

/** Does one request value match one policy value under the operator's positive form? */
function pairMatches(base: string, request: string, policy: string, ctx: Ctx): boolean {
  switch (base) {
    case "StringEquals":
    case "StringNotEquals":
      return refText(policy, ctx) === request;
    case "StringEqualsIgnoreCase":
    case "StringNotEqualsIgnoreCase":
      return refText(policy, ctx)?.toLowerCase() === request.toLowerCase();
    case "StringLike":
    case "StringNotLike":
      return refWildcard(policy, request, ctx);
    case "NumericEquals":
    case "NumericNotEquals":
    case "NumericLessThan":
    case "NumericGreaterThanEquals": {
      const a = num(request);
      const b = num(policy);
      if (a === null || b === null) return false;
      if (base === "NumericLessThan") return a < b;
      if (base === "NumericGreaterThanEquals") return a >= b;
      return a === b;
    }
    case "DateLessThan":
    case "DateGreaterThanEquals":
    case "DateNotEquals": {
      const a = date(request);
      const b = date(policy);
      if (a === null || b === null) return false;
      if (base === "DateLessThan") return a < b;
      if (base === "DateGreaterThanEquals") return a >= b;
      return a === b;
    }
    case "Bool": {
      const r = request.toLowerCase();
      return (r === "true" || r === "false") && refText(policy, ctx)?.toLowerCase() === r;
    }
    case "IpAddress":
    case "NotIpAddress":
      return inCidr(request, policy);
    default:
      throw new Error(`reference model does not know ${base}`);
  }
}

const NEGATED = new Set([
  "StringNotEquals",
  "StringNotEqualsIgnoreCase",
  "StringNotLike",
  "NumericNotEquals",
  "DateNotEquals",
  "NotIpAddress",
]);

/** One `operator: { key: values }` entry, per the AWS condition-operator pages. */
export function refCondition(operator: string, key: string, values: readonly string[], ctx: Ctx): boolean {
  const m = /^(ForAnyValue:|ForAllValues:)?(.+?)(IfExists)?$/.exec(operator);
  if (m === null) return false;
  const set = m[1];
  const base = m[2] ?? "";
  const ifExists = m[3] !== undefined;
  const value = lookup(ctx, key);

  // "Null": true → the key is absent, false → it is present. Values OR'ed.
  if (base === "Null")
    return values.some((v) => (v.toLowerCase() === "true" ? !present(value) : present(value)));

  const negated = NEGATED.has(base);
  // For one request value: positive → some policy value matches; negated → none does (NOR).
  const valueOk = (rv: string): boolean => {
    const any = values.some((pv) => pairMatches(base, rv, pv, ctx));
    return negated ? !any : any;
  };

  if (set === "ForAllValues:") {
    if (!present(value)) return true; // "also returns true if there are no context keys in the request"
    return (typeof value === "string" ? [value] : value).every(valueOk);
  }
  if (set === "ForAnyValue:") {
    if (!present(value)) return false; // "if the key is not present, returns false"
    return (typeof value === "string" ? [value] : value).some(valueOk);
  }
  if (!present(value)) {
    if (ifExists) return true; // "If the key is not present, evaluate the condition element as true"
    return negated; // missing key: positive operators false, negated ones true
  }
  const list = typeof value === "string" ? [value] : value;
  const anyMatch = list.some((rv) => values.some((pv) => pairMatches(base, rv, pv, ctx)));
  return negated ? !anyMatch : anyMatch;
}

function asList(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

interface RefStatement {
  Effect: string;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function refStatementApplies(s: RefStatement, request: AuthorizationRequest): boolean {
  const ctx = request.context;
  const actionHit = (p: string): boolean => refWildcard(p.toLowerCase(), request.action.toLowerCase(), {});
  const actionOk =
    s.Action !== undefined ? asList(s.Action).some(actionHit) : !asList(s.NotAction).some(actionHit);
  if (!actionOk) return false;
  const resourceHit = (p: string): boolean => refWildcard(p, request.resource, ctx);
  const resourceOk =
    s.Resource !== undefined
      ? asList(s.Resource).some(resourceHit)
      : !asList(s.NotResource).some(resourceHit);
  if (!resourceOk) return false;
  // Every operator, and every key under it, must hold (AND).
  for (const [operator, entries] of Object.entries(s.Condition ?? {})) {
    for (const [key, values] of Object.entries(entries)) {
      if (!refCondition(operator, key, asList(values), ctx)) return false;
    }
  }
  return true;
}

/** Which statements apply, as "policyIndex/statementIndex". */
export function refMatches(policies: readonly Policy[], request: AuthorizationRequest): string[] {
  const out: string[] = [];
  policies.forEach((policy, pi) => {
    const raw: unknown = policy.document.Statement;
    const statements = (Array.isArray(raw) ? raw : [raw]) as RefStatement[];
    statements.forEach((s, si) => {
      if (refStatementApplies(s, request)) out.push(`${pi}/${si}`);
    });
  });
  return out;
}

/**
 * The single-account flowchart in "Policy evaluation logic": deny by default; is there an
 * explicit Deny? → denied; is there an Allow? → allowed; otherwise implicitly denied.
 */
export function refDecide(policies: readonly Policy[], request: AuthorizationRequest): Decision {
  const applicable: string[] = [];
  for (const policy of policies) {
    const raw: unknown = policy.document.Statement;
    for (const s of (Array.isArray(raw) ? raw : [raw]) as RefStatement[]) {
      if (refStatementApplies(s, request)) applicable.push(s.Effect);
    }
  }
  if (applicable.includes("Deny")) return "ExplicitDeny";
  if (applicable.includes("Allow")) return "Allow";
  return "ImplicitDeny";
}
