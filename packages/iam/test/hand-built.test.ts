// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax inside policy text, not a JS template
import { describe, expect, it } from "vitest";
import { type AuthorizationRequest, type Decision, evaluate, type Policy } from "../src/index";

/**
 * Documents and requests that did not come through the parser or the types: a caller that
 * builds policies by hand, or slips values past TypeScript. The evaluator must never throw on
 * them and must never allow what it cannot read.
 */

const policyOf = (statement: unknown): Policy =>
  ({ id: "p1", name: "HandBuilt", document: { Version: "2012-10-17", Statement: statement } }) as Policy;

const decideRaw = (
  statement: unknown,
  request: Partial<AuthorizationRequest> = {},
  context: unknown = {},
): Decision =>
  evaluate([policyOf(statement)], {
    action: "cluster:List",
    resource: "brn:berth:t1:cluster/c1",
    context,
    ...request,
  } as AuthorizationRequest).decision;

const allowAll = { Effect: "Allow", Action: "*", Resource: "*" };

describe("an Effect other than exactly Allow or Deny", () => {
  it.each([["allow"], ["ALLOW"], ["Allow "], ["Permit"], [""], [null], [undefined], [1], [true]])(
    "%j never allows, though everything else matches",
    (effect) => {
      expect(decideRaw({ ...allowAll, Effect: effect })).toBe("ImplicitDeny");
      expect(
        decideRaw([
          { ...allowAll, Effect: effect },
          { ...allowAll, Action: "node:*" },
        ]),
      ).toBe("ImplicitDeny");
    },
  );

  it("nor is it reported as matched, nor does it shadow an Allow or a Deny beside it", () => {
    const result = evaluate([policyOf([{ ...allowAll, Effect: "deny" }, allowAll])], {
      action: "cluster:List",
      resource: "*",
      context: {},
    });
    expect(result.decision).toBe("Allow");
    expect(result.matchedStatements.map((m) => m.index)).toEqual([1]);
    expect(
      decideRaw([
        { ...allowAll, Effect: "allow" },
        { ...allowAll, Effect: "Deny" },
      ]),
    ).toBe("ExplicitDeny");
  });
});

describe("statements and documents that are not objects", () => {
  it("skips statements that are null, undefined, numbers or strings, and reads the rest", () => {
    expect(decideRaw([null, undefined, 7, "Allow", allowAll])).toBe("Allow");
    expect(decideRaw(undefined)).toBe("ImplicitDeny");
  });

  it.each([[null], [7], ["a document"], [undefined]])("treats a document %j as empty", (document) => {
    const policy = { id: "p", name: "p", document } as unknown as Policy;
    expect(() => evaluate([policy], { action: "cluster:List", resource: "*", context: {} })).not.toThrow();
    expect(evaluate([policy], { action: "cluster:List", resource: "*", context: {} }).decision).toBe(
      "ImplicitDeny",
    );
  });
});

describe("requests whose action or resource is not a string", () => {
  it.each([
    [{ action: undefined }],
    [{ action: 7 }],
    [{ resource: null }],
    [{ resource: ["brn:berth:t1:cluster/c1"] }],
  ])("are implicitly denied even by Allow * on *: %j", (request) => {
    const allowEverything = [allowAll, { Effect: "Allow", NotAction: "x:Y", NotResource: "brn:berth:x:y" }];
    const result = evaluate([policyOf(allowEverything)], {
      action: "cluster:List",
      resource: "brn:berth:t1:cluster/c1",
      context: {},
      ...request,
    } as unknown as AuthorizationRequest);
    expect(result).toEqual({ decision: "ImplicitDeny", decidingStatement: null, matchedStatements: [] });
  });
});

describe("Action and Resource lists", () => {
  it("with both Action and NotAction (or Resource and NotResource), the statement never applies", () => {
    expect(decideRaw({ ...allowAll, NotAction: "iam:*" })).toBe("ImplicitDeny");
    expect(decideRaw({ ...allowAll, NotResource: "brn:berth:x:y" })).toBe("ImplicitDeny");
    expect(decideRaw({ Effect: "Allow", Resource: "*" })).toBe("ImplicitDeny");
  });

  it("ignores entries that are not strings, and a list that is not a list matches nothing", () => {
    expect(decideRaw({ ...allowAll, Action: [7, "cluster:List"] })).toBe("Allow");
    expect(decideRaw({ ...allowAll, Action: [7] }, { action: "" })).toBe("ImplicitDeny");
    expect(decideRaw({ ...allowAll, Action: 7 })).toBe("ImplicitDeny");
    expect(decideRaw({ ...allowAll, Action: { a: "cluster:List" } })).toBe("ImplicitDeny");
    expect(decideRaw({ ...allowAll, Resource: [null] }, { resource: "" })).toBe("ImplicitDeny");
  });

  it("reads an empty NotAction list as every action", () => {
    expect(decideRaw({ Effect: "Allow", NotAction: [], Resource: "*" })).toBe("Allow");
  });
});

describe("Condition blocks the evaluator cannot read never hold", () => {
  const withCondition = (condition: unknown, context: unknown = { "berth:TenantId": "t1" }): Decision =>
    decideRaw({ ...allowAll, Condition: condition }, {}, context);

  it("an empty block holds", () => {
    expect(withCondition({})).toBe("Allow");
  });

  it.each([[null], ["StringEquals"], [7], [[]], [[{ StringEquals: { "berth:TenantId": "t1" } }]]])(
    "a block that is not an object: %j",
    (condition) => {
      expect(withCondition(condition)).toBe("ImplicitDeny");
    },
  );

  it.each([
    [{ StringEqualz: { "berth:TenantId": "t1" } }],
    [{ toString: { "berth:TenantId": "t1" } }],
    [{ StringEquals: 5 }],
    [{ StringEquals: "t1" }],
    [{ StringEquals: null }],
    [{ StringEquals: ["t1"] }],
    [{ StringNotEquals: true }],
  ])("an unknown operator, or an operator whose entry is not an object: %j", (condition) => {
    expect(withCondition(condition)).toBe("ImplicitDeny");
  });

  it("Null with a value other than true or false matches nothing", () => {
    expect(withCondition({ Null: { "berth:TenantId": "maybe" } })).toBe("ImplicitDeny");
    expect(withCondition({ Null: { "berth:Missing": "maybe" } })).toBe("ImplicitDeny");
    expect(withCondition({ Null: { "berth:TenantId": ["maybe", "false"] } })).toBe("Allow");
  });

  it("a malformed variable in a value matches nothing, and never throws", () => {
    for (const operator of ["StringEquals", "StringEqualsIgnoreCase", "Bool", "StringLike"]) {
      expect(withCondition({ [operator]: { "berth:TenantId": "${berth:Tenant" } })).toBe("ImplicitDeny");
      expect(withCondition({ [operator]: { "berth:Flag": ["${x", "true"] } }, { "berth:Flag": "true" })).toBe(
        "Allow",
      );
    }
  });

  it("a value an operator cannot read matches nothing; its negation then holds", () => {
    const context = { "berth:SourceIp": "10.1.2.3", "berth:Count": "3", "berth:Time": "2026-01-01" };
    expect(withCondition({ IpAddress: { "berth:SourceIp": ["bad", "10.0.0.0/8"] } }, context)).toBe("Allow");
    expect(withCondition({ IpAddress: { "berth:SourceIp": "bad" } }, context)).toBe("ImplicitDeny");
    expect(withCondition({ NotIpAddress: { "berth:SourceIp": "bad" } }, context)).toBe("Allow");
    expect(withCondition({ NumericEquals: { "berth:Count": ["x", "3"] } }, context)).toBe("Allow");
    expect(withCondition({ NumericLessThan: { "berth:Count": "x" } }, context)).toBe("ImplicitDeny");
    expect(withCondition({ DateEquals: { "berth:Time": ["x", "2026-01-01"] } }, context)).toBe("Allow");
    expect(withCondition({ DateNotEquals: { "berth:Time": "x" } }, context)).toBe("Allow");
  });
});

describe("compiled documents are cached by identity", () => {
  it("a document changed after its first evaluation keeps its first meaning (documents are meant to be frozen)", () => {
    const statement = { Effect: "Allow", Action: "cluster:List", Resource: "*" };
    const document = { Version: "2012-10-17", Statement: [statement] };
    const policy = { id: "p", name: "p", document } as Policy;
    const request = { action: "cluster:List", resource: "*", context: {} };
    expect(evaluate([policy], request).decision).toBe("Allow");
    statement.Effect = "Deny";
    expect(evaluate([policy], request).decision).toBe("Allow");
    expect(evaluate([{ ...policy, document: { ...policy.document } }], request).decision).toBe(
      "ExplicitDeny",
    );
  });
});
