import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate } from "../src/index";
import type { AuthorizationRequest, Decision, Policy, PolicyDocument, Statement } from "../src/types";
import { policySet, request } from "./arbitraries";
import { propertyRuns } from "./property-runs";
import { refDecide, refMatches } from "./reference-model";

const REFERENCE_RUNS = propertyRuns(100_000);
const RUNS = { numRuns: propertyRuns(2_000) };

function statementsOf(doc: PolicyDocument): Statement[] {
  const raw: unknown = doc.Statement;
  return (Array.isArray(raw) ? raw : [raw]) as Statement[];
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i -= 1) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

describe("evaluate against the reference model", () => {
  it(`agrees with the reference model on decision and applicable statements over ${REFERENCE_RUNS} random cases`, async ({
    annotate,
  }) => {
    const seen: Record<Decision, number> = { Allow: 0, ExplicitDeny: 0, ImplicitDeny: 0 };
    let cases = 0;
    let divergences = 0;
    fc.assert(
      fc.property(policySet, request, (policies, req) => {
        cases += 1;
        const got = evaluate(policies, req);
        const expected = refDecide(policies, req);
        seen[got.decision] += 1;
        if (got.decision !== expected) divergences += 1;
        expect(got.decision).toBe(expected);
        const applied = got.matchedStatements.map((m) => `${m.policyId.slice(1)}/${m.index}`);
        expect(applied).toEqual(refMatches(policies, req));
      }),
      { numRuns: REFERENCE_RUNS },
    );
    await annotate(
      `${cases} cases, ${divergences} divergences; Allow ${seen.Allow}, ExplicitDeny ${seen.ExplicitDeny}, ImplicitDeny ${seen.ImplicitDeny}`,
    );
    expect(cases).toBe(REFERENCE_RUNS);
    expect(divergences).toBe(0);
    // The generators are only useful if every outcome is common.
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(REFERENCE_RUNS * 0.05);
  }, 120_000);
});

describe("evaluation properties", () => {
  it("an explicit Deny always wins: adding a matching Deny statement to any policy set yields ExplicitDeny", () => {
    fc.assert(
      fc.property(policySet, request, fc.nat(), fc.nat(), (policies, req, where, shape) => {
        // A Deny that matches this request: exact names, or wildcards, or NotAction on something else.
        const deny: Statement = [
          { Effect: "Deny", Action: req.action, Resource: req.resource },
          { Effect: "Deny", Action: "*", Resource: "*" },
          { Effect: "Deny", NotAction: "nothing:Matches", Resource: [req.resource] },
          { Effect: "Deny", Action: req.action.toUpperCase(), NotResource: "brn:berth:none:x" },
        ][shape % 4] as Statement;
        const withDeny: Policy[] =
          policies.length === 0
            ? [{ id: "deny", name: "deny", document: { Version: "2012-10-17", Statement: deny } }]
            : policies.map((p, i) => {
                if (i !== where % policies.length) return p;
                const statements = statementsOf(p.document);
                const at = where % (statements.length + 1);
                return {
                  ...p,
                  document: {
                    ...p.document,
                    Statement: [...statements.slice(0, at), deny, ...statements.slice(at)],
                  },
                };
              });
        const result = evaluate(withDeny, req);
        expect(result.decision).toBe("ExplicitDeny");
        expect(result.decidingStatement).not.toBeNull();
      }),
      RUNS,
    );
  });

  it("denies by default: an empty policy set yields ImplicitDeny for every request", () => {
    fc.assert(
      fc.property(request, (req) => {
        expect(evaluate([], req)).toEqual({
          decision: "ImplicitDeny",
          decidingStatement: null,
          matchedStatements: [],
        });
      }),
      RUNS,
    );
  });

  it("never allows when every statement is a Deny", () => {
    fc.assert(
      fc.property(policySet, request, (policies, req) => {
        const denyOnly = policies.map((p) => ({
          ...p,
          document: {
            ...p.document,
            Statement: statementsOf(p.document).map((s) => ({ ...s, Effect: "Deny" }) as Statement),
          },
        }));
        expect(evaluate(denyOnly, req).decision).not.toBe("Allow");
      }),
      RUNS,
    );
  });

  it("is deterministic: the same input, even re-built from JSON, gives the same result", () => {
    fc.assert(
      fc.property(policySet, request, (policies, req) => {
        const first = evaluate(policies, req);
        expect(evaluate(policies, req)).toEqual(first);
        expect(evaluate(JSON.parse(JSON.stringify(policies)) as Policy[], structuredClone(req))).toEqual(
          first,
        );
      }),
      RUNS,
    );
  });

  it("decides independently of the order of policies and of statements", () => {
    fc.assert(
      fc.property(policySet, request, fc.integer(), (policies, req, seed) => {
        const reordered = shuffled(policies, seed).map((p, i) => ({
          ...p,
          document: { ...p.document, Statement: shuffled(statementsOf(p.document), seed + i) },
        }));
        expect(evaluate(reordered, req).decision).toBe(evaluate(policies, req).decision);
      }),
      RUNS,
    );
  });

  it("names the first applicable statement of the winning effect as the deciding one", () => {
    fc.assert(
      fc.property(policySet, request, (policies, req) => {
        const { decision, decidingStatement, matchedStatements } = evaluate(policies, req);
        const winner = decision === "ExplicitDeny" ? "Deny" : "Allow";
        const first = matchedStatements.find((m) => m.effect === winner) ?? null;
        if (decision === "ImplicitDeny") expect(decidingStatement).toBeNull();
        else expect(decidingStatement).toEqual(first === null ? null : stripEffect(first));
      }),
      RUNS,
    );
  });
});

function stripEffect<T extends { effect: unknown }>(m: T): Omit<T, "effect"> {
  const { effect: _effect, ...rest } = m;
  return rest;
}

describe("odd input", () => {
  it("never throws, whatever a caller slips past the types", () => {
    const junk = [
      { id: "a", name: "a", document: null },
      { id: "b", name: "b", document: { Version: "2012-10-17", Statement: [null, 7, { Effect: "Allow" }] } },
      {
        id: "c",
        name: "c",
        document: {
          Version: "2012-10-17",
          Statement: {
            Effect: "Allow",
            Action: [1, "*"],
            Resource: "*",
            Condition: { Bogus: 1, StringEquals: null, IpAddress: { "berth:SourceIp": { x: 1 } } },
          },
        },
      },
    ] as unknown as Policy[];
    const context = {
      "berth:SourceIp": 42,
      "berth:Tags": ["a", 1],
      "berth:TenantId": null,
    } as unknown as Record<string, string>;
    expect(() => evaluate(junk, { action: "cluster:List", resource: "*", context })).not.toThrow();
    expect(evaluate(junk, { action: "cluster:List", resource: "*", context }).decision).toBe("ImplicitDeny");
    expect(() =>
      evaluate(junk, { action: undefined, resource: null, context: null } as unknown as AuthorizationRequest),
    ).not.toThrow();
  });
});
