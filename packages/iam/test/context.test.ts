// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax inside policy text, not a JS template
import { describe, expect, it } from "vitest";
import { type AuthorizationRequest, evaluate, type Statement } from "../src/index";
import { decide } from "./table";

/** How the request context is read: key case, duplicates, absent and empty values, lists. */

const tenantOnly: Statement[] = [
  { Effect: "Allow", Action: "*", Resource: "*", Condition: { StringEquals: { "berth:TenantId": "t1" } } },
];
const allowed = (statements: Statement[], context: unknown): boolean =>
  decide(statements, "cluster:List", "*", context as AuthorizationRequest["context"]) === "Allow";

describe("context keys", () => {
  it("when two keys differ only in case, the first one with a value wins", () => {
    expect(allowed(tenantOnly, { "berth:TenantId": "t1", "BERTH:TENANTID": "t2" })).toBe(true);
    expect(allowed(tenantOnly, { "BERTH:TENANTID": "t2", "berth:TenantId": "t1" })).toBe(false);
  });

  it("a key whose value is undefined does not hide a later one that differs in case", () => {
    expect(allowed(tenantOnly, { "berth:TenantId": undefined, "berth:tenantid": "t1" })).toBe(true);
  });

  it("inherited properties of the context object are not keys", () => {
    const context: unknown = Object.create({ "berth:TenantId": "t1" });
    expect(allowed(tenantOnly, context)).toBe(false);
  });

  it("a context that is not an object is empty, a string's characters included", () => {
    const firstCharacter: Statement[] = [
      { Effect: "Allow", Action: "*", Resource: "*", Condition: { StringEquals: { "0": "a" } } },
    ];
    expect(allowed(firstCharacter, "abc")).toBe(false);
    expect(allowed([{ Effect: "Allow", Action: "*", Resource: "*" }], null)).toBe(true);
  });

  it("a list keeps only its strings; values of other types are absent", () => {
    const tags: Statement[] = [
      {
        Effect: "Allow",
        Action: "*",
        Resource: "*",
        Condition: { "ForAnyValue:StringLike": { "berth:Tags": "a*" } },
      },
    ];
    expect(allowed(tags, { "berth:Tags": [7, "ab"] })).toBe(true);
    expect(allowed(tags, { "berth:Tags": [7, null] })).toBe(false);
    const nullTrue: Statement[] = [
      { Effect: "Allow", Action: "*", Resource: "*", Condition: { Null: { "berth:Tags": "true" } } },
    ];
    expect(allowed(nullTrue, { "berth:Tags": [7] })).toBe(true);
    expect(allowed(nullTrue, { "berth:Tags": 7 })).toBe(true);
    expect(allowed(nullTrue, { "berth:Tags": { length: 2 } })).toBe(true);
    expect(() =>
      decide(
        [{ Effect: "Allow", Action: "*", Resource: "*", Condition: { StringLike: { "berth:Tags": "a*" } } }],
        "cluster:List",
        "*",
        { "berth:Tags": [1, { length: 1 }] } as unknown as AuthorizationRequest["context"],
      ),
    ).not.toThrow();
  });

  it("an empty string is a value (present); an empty list is not", () => {
    const present: Statement[] = [
      { Effect: "Allow", Action: "*", Resource: "*", Condition: { Null: { "berth:Tag": "false" } } },
    ];
    expect(allowed(present, { "berth:Tag": "" })).toBe(true);
    expect(allowed(present, { "berth:Tag": [] })).toBe(false);
  });
});

describe("a multivalued key under an operator without a set prefix", () => {
  const on = (operator: string): Statement[] => [
    { Effect: "Allow", Action: "*", Resource: "*", Condition: { [operator]: { "berth:Tags": "a" } } },
  ];
  it.each([
    ["StringEquals", ["b", "a"], true],
    ["StringEquals", ["b", "c"], false],
    ["StringNotEquals", ["b", "a"], false],
    ["StringNotEquals", ["b", "c"], true],
  ] as const)("%s with %j: %s", (operator, tags, expected) => {
    expect(allowed(on(operator), { "berth:Tags": tags })).toBe(expected);
  });
});

describe("policy variables take a single string value", () => {
  it("resolve case-insensitively, and not from a list", () => {
    const own: Statement[] = [{ Effect: "Allow", Action: "*", Resource: "brn:berth:${BERTH:tenantid}:*" }];
    expect(decide(own, "cluster:List", "brn:berth:t1:cluster/c1", { "berth:TenantId": "t1" })).toBe("Allow");
    expect(decide(own, "cluster:List", "brn:berth:t1:cluster/c1", { "berth:TenantId": ["t1"] })).toBe(
      "ImplicitDeny",
    );
  });

  it("a deciding statement without a Sid carries no sid key", () => {
    const result = evaluate(
      [
        {
          id: "p1",
          name: "P",
          document: { Version: "2012-10-17", Statement: { Effect: "Allow", Action: "*", Resource: "*" } },
        },
      ],
      { action: "cluster:List", resource: "*", context: {} },
    );
    expect(result.decidingStatement).toStrictEqual({ policyId: "p1", policyName: "P", index: 0 });
    expect(result.matchedStatements).toStrictEqual([
      { policyId: "p1", policyName: "P", index: 0, effect: "Allow" },
    ]);
  });
});
