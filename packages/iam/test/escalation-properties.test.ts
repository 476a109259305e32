// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { includes, intersects } from "../src/escalation/glob-sets";
import { symbolsOf } from "../src/escalation/symbols";
import { evaluate, policiesCover } from "../src/index";
import { tokenize } from "../src/template";
import type { AuthorizationRequest, Policy, Statement } from "../src/types";
import { compileGlob, matchGlob } from "../src/wildcard";
import { ACTIONS, policySet, RESOURCES, requestContext, statement } from "./arbitraries";
import { propertyRuns } from "./property-runs";

const CASES = propertyRuns(100_000);
const SEED = 20261203;
const HOLDER = { "berth:PrincipalId": "u1", "berth:TenantId": "t1" };
const GRANTEE = { "berth:PrincipalId": "u2", "berth:TenantId": "t1" };

function statementsOf(p: Policy): Statement[] {
  const raw: unknown = p.document.Statement;
  return (Array.isArray(raw) ? raw : [raw]) as Statement[];
}

const list = (v: unknown): string[] =>
  typeof v === "string" ? [v] : Array.isArray(v) ? (v as string[]) : [];

/** A concrete string of `pattern`: wildcards filled from `fill`, variables resolved from `vars`. */
function instance(pattern: string, vars: Record<string, string>, fill: string[]): string {
  const tokens = tokenize(pattern, true) ?? [];
  let k = 0;
  const next = () => fill[k++ % fill.length] ?? "";
  const lower = Object.fromEntries(Object.entries(vars).map(([key, v]) => [key.toLowerCase(), v]));
  return tokens
    .map((t) =>
      t.kind === "text"
        ? t.text
        : t.kind === "var"
          ? (lower[t.key] ?? next())
          : t.kind === "star"
            ? next()
            : (next()[0] ?? "x"),
    )
    .join("");
}

/** A grant drawn to be often within the holder's policies: a held Allow narrowed, or anything at all. */
const grantFor = (held: Policy[]) =>
  fc.tuple(fc.nat(), fc.nat(), fc.nat(), statement, fc.nat(4)).map(([pick, a, r, random, mode]): Policy[] => {
    const allows = held.flatMap((p) => statementsOf(p)).filter((s) => s.Effect === "Allow" && !s.Condition);
    const base = allows.length > 0 ? allows[pick % allows.length] : undefined;
    if (mode === 0 || base === undefined)
      return [{ id: "g", name: "grant", document: { Version: "2012-10-17", Statement: random } }];
    const actions = list(base.Action ?? "*");
    const resources = list(base.Resource ?? "*");
    const narrowed: Statement = {
      Effect: "Allow",
      Action: actions[a % actions.length] ?? "*",
      Resource: (resources[r % resources.length] ?? "*").replace(/\*$/, mode === 2 ? "c1" : "*"),
      ...(mode === 3 ? { Condition: { Bool: { "berth:SecureTransport": "true" } } } : {}),
    };
    return [{ id: "g", name: "grant", document: { Version: "2012-10-17", Statement: [narrowed] } }];
  });

/** Requests the grant might allow: instances of its own patterns, plus the common universe. */
function requestsFor(grant: Policy[], fills: string[][]): { action: string; resource: string }[] {
  const out: { action: string; resource: string }[] = [];
  for (const s of grant.flatMap(statementsOf)) {
    const actions = s.NotAction !== undefined ? ACTIONS : list(s.Action);
    const resources = s.NotResource !== undefined ? RESOURCES : list(s.Resource);
    for (const fill of fills)
      out.push({
        action: instance(actions[fill.length % actions.length] ?? "*", GRANTEE, fill),
        resource: instance(resources[fill.length % resources.length] ?? "*", GRANTEE, fill),
      });
  }
  for (const action of ACTIONS.slice(0, 4))
    for (const resource of RESOURCES.slice(0, 3)) out.push({ action, resource });
  return out;
}

const withPrincipal = (ctx: AuthorizationRequest["context"], who: Record<string, string>) => {
  const rest = Object.fromEntries(
    Object.entries(ctx).filter(([k]) => !["berth:principalid", "berth:tenantid"].includes(k.toLowerCase())),
  );
  return { ...rest, ...who };
};

describe("escalation: no principal ends with a permission it did not hold", () => {
  it(`over ${CASES} random holders, grants and requests (fixed seed)`, async ({ annotate }) => {
    let covered = 0;
    let checkedRequests = 0;
    let grantedAllows = 0;
    const fill = fc.array(fc.constantFrom("", "a", "c1", "t1", "u2", "/x", ":", "Get", "*"), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(
        policySet.chain((held) => fc.tuple(fc.constant(held), grantFor(held))),
        fc.array(fill, { minLength: 1, maxLength: 3 }),
        requestContext,
        ([held, grant], fills, context) => {
          const result = policiesCover(held, grant, { held: HOLDER, granted: GRANTEE });
          if (!result.covered) return;
          covered++;
          for (const r of requestsFor(grant, fills)) {
            checkedRequests++;
            const asGrantee = evaluate(grant, { ...r, context: withPrincipal(context, GRANTEE) });
            if (asGrantee.decision !== "Allow") continue;
            grantedAllows++;
            const asHolder = evaluate(held, { ...r, context: withPrincipal(context, HOLDER) });
            expect(asHolder.decision, `${r.action} ${r.resource}`).toBe("Allow");
          }
        },
      ),
      { numRuns: CASES, seed: SEED },
    );
    await annotate(
      `escalation property: ${CASES} cases, ${covered} grants judged covered, ${grantedAllows} allowed requests checked of ${checkedRequests}, 0 counterexamples`,
    );
    // The property is exercised, not vacuous.
    expect(covered).toBeGreaterThan(CASES / 10);
    expect(grantedAllows).toBeGreaterThan(CASES / 10);
  }, 300_000);
});

describe("glob sets against brute force", () => {
  // Two patterns of at most 4 symbols that meet share a word of at most 8 characters.
  const pattern = fc.array(fc.constantFrom("a", "b", "*", "?"), { maxLength: 4 }).map((p) => p.join(""));
  const words: string[] = [""];
  for (let len = 1; len <= 8; len++)
    for (let n = 0; n < 2 ** len; n++)
      words.push([...n.toString(2).padStart(len, "0")].map((d) => (d === "0" ? "a" : "b")).join(""));
  const matches = (p: string, w: string) => matchGlob(compileGlob(p, false), w, () => undefined);
  const sym = (p: string) => symbolsOf(p, new Map(), false) ?? [];

  it("inclusion is sound: a pattern said to contain another matches every word of it", () => {
    fc.assert(
      fc.property(pattern, pattern, (outer, inner) => {
        if (!includes(sym(outer), sym(inner))) return;
        for (const w of words)
          if (matches(inner, w)) expect(matches(outer, w), `${outer} ⊇ ${inner} on ${w}`).toBe(true);
      }),
      { numRuns: propertyRuns(5_000), seed: SEED },
    );
  });

  it("intersection is exact on short words", () => {
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        const some = words.some((w) => matches(a, w) && matches(b, w));
        expect(intersects(sym(a), sym(b)), `${a} ∩ ${b}`).toBe(some);
      }),
      { numRuns: propertyRuns(5_000), seed: SEED },
    );
  });
});
