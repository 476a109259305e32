// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax inside policy text, not a JS template
import fc from "fast-check";
import type { AuthorizationRequest, ConditionValue, Policy, PolicyDocument, Statement } from "../src/types";

/**
 * Random policy sets and requests drawn from small alphabets, so that patterns, values and
 * requests collide often and every branch (match, no match, missing key, bad value) is hit.
 */

const SERVICES = ["cluster", "node", "iam"];
const VERBS = ["List", "Get", "Delete", "Describe"];
export const ACTIONS = SERVICES.flatMap((s) => VERBS.map((v) => `${s}:${v}`));
export const RESOURCES = [
  "brn:berth:t1:cluster/c1",
  "brn:berth:t1:cluster/c2",
  "brn:berth:t2:cluster/c1",
  "brn:berth:t1:cluster/c1/namespace/a/deployment/web",
  "brn:berth:t1:user/u1",
  "brn:berth:t2:user/u1",
  "brn:berth:t1:usage",
  "brn:berth:t1:cluster/*",
];

/** Rewrites random characters of `text` into `?`, random runs into `*`, and flips case, from a seed. */
function mutate(text: string, seed: number, flipCase: boolean): string {
  let a = seed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let out = "";
  let i = 0;
  while (i < text.length) {
    const r = rnd();
    if (r < 0.08) {
      out += "*";
      i += Math.floor(rnd() * 6);
    } else if (r < 0.14) {
      out += "?";
      i += 1;
    } else {
      const ch = text.charAt(i);
      out += flipCase && rnd() < 0.15 ? (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) : ch;
      i += 1;
    }
  }
  return out;
}

const actionPattern = fc.oneof(
  fc.constantFrom(
    "*",
    "cluster:*",
    "*:List*",
    "*:*e*",
    "c?uster:Get",
    "iam:?et",
    "*:D*",
    "NODE:list",
    "*:????",
  ),
  fc
    .tuple(fc.constantFrom(...ACTIONS), fc.integer(), fc.boolean())
    .map(([a, seed, flip]) => mutate(a, seed, flip)),
);

const resourcePattern = fc.oneof(
  fc.constantFrom(
    "*",
    "brn:berth:${berth:TenantId}:*",
    "brn:berth:${berth:TenantId}:cluster/*",
    "brn:berth:*:user/${berth:PrincipalId}",
    "brn:berth:${berth:Nope}:*",
    "brn:berth:t1:cluster/${*}",
    "brn:berth:t?:cluster/c?",
    "brn:berth:t1:cluster/*/deployment/*",
    "brn:berth:T1:cluster/c1",
    "brn:berth:t1:cluster/c1",
  ),
  fc.tuple(fc.constantFrom(...RESOURCES), fc.integer(), fc.boolean()).map(([r, seed, variable]) => {
    const m = mutate(r, seed, false);
    return variable ? m.replace(/^brn:berth:t[12]:/, "brn:berth:${berth:TenantId}:") : m;
  }),
);

interface KeyDef {
  readonly key: string;
  readonly values: readonly (string | readonly string[])[];
}

const KEYS: readonly KeyDef[] = [
  { key: "berth:PrincipalType", values: ["user", "serviceAccount", "USER"] },
  { key: "berth:TenantId", values: ["t1", "t2"] },
  { key: "berth:PrincipalId", values: ["u1", "c1", "u2"] },
  { key: "berth:Tags", values: [[], ["a"], ["a", "b"], ["b", "c"], ["a", "b", "c"], "a"] },
  { key: "berth:Count", values: ["1", "5", "2.5", "x"] },
  { key: "berth:SecureTransport", values: ["true", "false", "TRUE", "maybe"] },
  { key: "berth:SourceIp", values: ["10.0.0.1", "10.1.2.3", "192.168.1.1", "bad", "::1"] },
  {
    key: "berth:CurrentTime",
    values: ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z", "garbage"],
  },
];

const caseOf = (key: string, variant: number): string =>
  variant === 1 ? key.toLowerCase() : variant === 2 ? key.toUpperCase() : key;

export const requestContext: fc.Arbitrary<AuthorizationRequest["context"]> = fc
  .tuple(...KEYS.map((def) => fc.option(fc.tuple(fc.constantFrom(...def.values), fc.nat(3)), { freq: 3 })))
  .map((entries) => {
    const ctx: Record<string, string | readonly string[]> = {};
    entries.forEach((entry, i) => {
      const def = KEYS[i];
      if (entry === null || def === undefined) return;
      ctx[caseOf(def.key, entry[1])] = entry[0];
    });
    return ctx;
  });

export const request: fc.Arbitrary<AuthorizationRequest> = fc.record({
  action: fc.tuple(fc.constantFrom(...ACTIONS), fc.nat(3)).map(([a, v]) => (v === 3 ? a.toUpperCase() : a)),
  resource: fc.constantFrom(...RESOURCES),
  context: requestContext,
});

/** Operator families, with the keys and policy values that make sense for each. */
const FAMILIES = [
  {
    operators: [
      "StringEquals",
      "StringNotEquals",
      "StringEqualsIgnoreCase",
      "StringNotEqualsIgnoreCase",
      "StringLike",
      "StringNotLike",
    ],
    keys: ["berth:PrincipalType", "berth:TenantId", "berth:PrincipalId", "berth:Tags"],
    values: [
      "user",
      "User",
      "serviceAccount",
      "t1",
      "t2",
      "u1",
      "c1",
      "a",
      "b",
      "${berth:TenantId}",
      "${berth:PrincipalId}",
      "u*",
      "*A*",
      "?1",
      "${berth:Nope}",
      "${*}",
    ],
  },
  {
    operators: ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericGreaterThanEquals"],
    keys: ["berth:Count"],
    values: ["1", "3", "5", "2.5"],
  },
  {
    operators: ["DateLessThan", "DateGreaterThanEquals", "DateNotEquals"],
    keys: ["berth:CurrentTime"],
    values: ["2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"],
  },
  { operators: ["Bool"], keys: ["berth:SecureTransport"], values: ["true", "false"] },
  {
    operators: ["IpAddress", "NotIpAddress"],
    keys: ["berth:SourceIp"],
    values: ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.1", "0.0.0.0/0"],
  },
  { operators: ["Null"], keys: KEYS.map((k) => k.key), values: ["true", "false"] },
] as const;

const conditionEntry = fc
  .tuple(
    fc.nat(FAMILIES.length - 1),
    fc.nat(100),
    fc.nat(100),
    fc.constantFrom("", "", "", "ForAnyValue:", "ForAllValues:"),
    fc.boolean(),
    fc.nat(3),
    fc.array(fc.nat(100), { minLength: 1, maxLength: 3 }),
    fc.boolean(),
  )
  .map(([f, o, k, prefix, ifExists, keyCase, vs, single]) => {
    const family = FAMILIES[f] ?? FAMILIES[0];
    const base = family.operators[o % family.operators.length] ?? "StringEquals";
    const isNull = base === "Null";
    const operator = isNull ? base : `${prefix}${base}${ifExists && o % 3 === 0 ? "IfExists" : ""}`;
    const key = caseOf(family.keys[k % family.keys.length] ?? "berth:TenantId", keyCase);
    const values = vs.map((v) => family.values[v % family.values.length] ?? "");
    const value: ConditionValue | ConditionValue[] =
      single && values.length === 1 ? (values[0] ?? "") : values;
    return { operator, key, value };
  });

const condition = fc.array(conditionEntry, { minLength: 1, maxLength: 3 }).map((entries) => {
  const block: Record<string, Record<string, ConditionValue | ConditionValue[]>> = {};
  for (const { operator, key, value } of entries) {
    block[operator] = { ...(block[operator] ?? {}), [key]: value };
  }
  return block;
});

const oneOrMany = (item: fc.Arbitrary<string>) =>
  fc.oneof(item, fc.array(item, { minLength: 1, maxLength: 3 }));

export const statement: fc.Arbitrary<Statement> = fc
  .record({
    effect: fc.constantFrom("Allow", "Allow", "Deny") as fc.Arbitrary<"Allow" | "Deny">,
    notAction: fc.nat(4),
    actions: oneOrMany(actionPattern),
    notResource: fc.nat(4),
    resources: oneOrMany(resourcePattern),
    condition: fc.option(condition, { freq: 2 }),
  })
  .map(({ effect, notAction, actions, notResource, resources, condition: c }) => {
    const action = notAction === 0 ? { NotAction: actions } : { Action: actions };
    const resource = notResource === 0 ? { NotResource: resources } : { Resource: resources };
    return { Effect: effect, ...action, ...resource, ...(c === null ? {} : { Condition: c }) } as Statement;
  });

export const document: fc.Arbitrary<PolicyDocument> = fc
  .array(statement, { minLength: 1, maxLength: 3 })
  .map((statements) => ({
    Version: "2012-10-17",
    Statement: statements.length === 1 && statements[0] !== undefined ? statements[0] : statements,
  }));

export const policySet: fc.Arbitrary<Policy[]> = fc
  .array(document, { minLength: 0, maxLength: 3 })
  .map((docs) => docs.map((d, i) => ({ id: `p${i}`, name: `policy${i}`, document: d })));
