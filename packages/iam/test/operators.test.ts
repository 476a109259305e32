// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax inside policy text, not a JS template
import { describe, expect, it } from "vitest";
import { BASE_OPERATORS, type ConditionValue, type OneOrMany, parseOperatorName } from "../src/index";
import { decide } from "./table";

/**
 * Every condition operator at its boundary: one request value just inside, one on the edge, one
 * just outside. Each row is `[operator, policy value, request value, holds]`, checked through the
 * evaluator with an Allow statement whose only condition is that operator on `berth:Value`.
 */
type Row = readonly [operator: string, policy: OneOrMany<ConditionValue>, request: string, holds: boolean];

const holds = (operator: string, policy: OneOrMany<ConditionValue>, request: string): boolean =>
  decide(
    [{ Effect: "Allow", Action: "*", Resource: "*", Condition: { [operator]: { "berth:Value": policy } } }],
    "cluster:List",
    "*",
    { "berth:Value": request, "berth:PrincipalId": "u1" },
  ) === "Allow";

const check = (rows: readonly Row[]): void => {
  it.each(rows)("%s %j against %j: %s", (operator, policy, request, expected) => {
    expect(holds(operator, policy, request)).toBe(expected);
  });
};

describe("numeric operators at their boundaries (AWS: Numeric condition operators)", () => {
  check([
    ["NumericEquals", 10, "10", true],
    ["NumericEquals", 10, "10.0", true],
    ["NumericEquals", 10, "1e1", true],
    ["NumericEquals", 10, "9.99", false],
    ["NumericNotEquals", 10, "10", false],
    ["NumericNotEquals", 10, "11", true],
    ["NumericLessThan", 10, "9.5", true],
    ["NumericLessThan", 10, "10", false],
    ["NumericLessThanEquals", 10, "9.5", true],
    ["NumericLessThanEquals", 10, "10", true],
    ["NumericLessThanEquals", 10, "10.01", false],
    ["NumericGreaterThan", 10, "10.01", true],
    ["NumericGreaterThan", 10, "10", false],
    ["NumericGreaterThan", 10, "9", false],
    ["NumericGreaterThanEquals", 10, "10", true],
    ["NumericGreaterThanEquals", 10, "9.99", false],
    ["NumericGreaterThanEquals", -2.5, "-2.5", true],
  ]);
});

describe("date operators at their boundaries (AWS: Date condition operators)", () => {
  const T = "2026-06-01T12:00:00Z";
  check([
    ["DateEquals", T, "2026-06-01T12:00:00Z", true],
    ["DateEquals", T, "2026-06-01T14:00:00+02:00", true],
    ["DateEquals", T, "2026-06-01T12:00:00.001Z", false],
    ["DateNotEquals", T, "2026-06-01T12:00:00Z", false],
    ["DateNotEquals", T, "2026-06-01T12:00:01Z", true],
    ["DateLessThan", T, "2026-06-01T11:59:59Z", true],
    ["DateLessThan", T, T, false],
    ["DateLessThanEquals", T, "2026-06-01T11:59:59.999Z", true],
    ["DateLessThanEquals", T, T, true],
    ["DateLessThanEquals", T, "2026-06-01T12:00:00.001Z", false],
    ["DateGreaterThan", T, "2026-06-01T12:00:00.001Z", true],
    ["DateGreaterThan", T, T, false],
    ["DateGreaterThan", T, "2026-06-01T11:00:00Z", false],
    ["DateGreaterThanEquals", T, T, true],
    ["DateGreaterThanEquals", T, "2026-06-01T11:59:59Z", false],
    // Epoch seconds compare with ISO dates: 1780315200 is 2026-06-01T12:00:00Z.
    ["DateEquals", "1780315200", T, true],
    ["DateGreaterThan", T, "1780315201", true],
  ]);
});

describe("string operators (AWS: String condition operators)", () => {
  check([
    ["StringEquals", "Web", "Web", true],
    ["StringEquals", "Web", "web", false],
    ["StringEquals", "", "", true],
    ["StringEquals", "", "x", false],
    ["StringEquals", "a*b?", "a*b?", true],
    ["StringEquals", "a*", "ab", false],
    ["StringNotEquals", "Web", "web", true],
    ["StringNotEquals", "Web", "Web", false],
    ["StringEqualsIgnoreCase", "Web", "wEB", true],
    ["StringEqualsIgnoreCase", "Web", "webs", false],
    ["StringNotEqualsIgnoreCase", "Web", "WEB", false],
    ["StringNotEqualsIgnoreCase", "Web", "api", true],
    ["StringLike", "Web-*", "Web-1", true],
    ["StringLike", "Web-*", "web-1", false],
    ["StringLike", "Web-?", "Web-12", false],
    ["StringNotLike", "Web-*", "Web-1", false],
    ["StringNotLike", "Web-*", "Api-1", true],
    // Variables in values: literal text after substitution, with or without text around them.
    ["StringEquals", "${berth:PrincipalId}", "u1", true],
    ["StringEquals", "owner-${berth:PrincipalId}", "owner-u1", true],
    ["StringEquals", "owner-${berth:PrincipalId}", "owner-", false],
    ["StringEqualsIgnoreCase", "OWNER-${berth:PrincipalId}", "owner-U1", true],
    ["StringLike", "${berth:PrincipalId}-*", "u1-x", true],
    ["StringEquals", "${berth:Nope}", "", false],
    ["StringEquals", "${berth:Nope}", "undefined", false],
    // Several values are OR'ed, constant or with variables.
    ["StringLike", ["api-*", "web-*"], "web-1", true],
    ["StringEquals", ["t2", "${berth:PrincipalId}"], "u1", true],
    ["StringEquals", ["t2", "${berth:PrincipalId}"], "t2", true],
    ["StringEqualsIgnoreCase", ["T2", "U9"], "u9", true],
  ]);
});

describe("Bool (AWS: Boolean condition operators)", () => {
  check([
    ["Bool", true, "true", true],
    ["Bool", true, "TRUE", true],
    ["Bool", true, "false", false],
    ["Bool", "false", "False", true],
    ["Bool", "true", "yes", false],
    ["Bool", "${berth:PrincipalId}", "u1", false],
  ]);

  it("takes a policy variable, but only a true or false request value matches it", () => {
    const bool = (value: string, context: Record<string, string>): boolean =>
      decide(
        [{ Effect: "Allow", Action: "*", Resource: "*", Condition: { Bool: { "berth:Flag": value } } }],
        "cluster:List",
        "*",
        context,
      ) === "Allow";
    expect(bool("${berth:Expected}", { "berth:Flag": "true", "berth:Expected": "TRUE" })).toBe(true);
    expect(bool("${berth:Expected}", { "berth:Flag": "maybe", "berth:Expected": "maybe" })).toBe(false);
    expect(bool("${berth:Expected}", { "berth:Flag": "true" })).toBe(false);
  });
});

describe("IpAddress and NotIpAddress at the edges of a block", () => {
  check([
    ["IpAddress", "10.1.0.0/16", "10.1.255.255", true],
    ["IpAddress", "10.1.0.0/16", "10.2.0.0", false],
    ["IpAddress", "10.1.2.3/32", "10.1.2.3", true],
    ["IpAddress", "10.1.2.3/32", "10.1.2.4", false],
    ["IpAddress", "2001:db8::1/128", "2001:db8::1", true],
    ["IpAddress", "2001:db8::1/128", "2001:db8::2", false],
    ["NotIpAddress", "10.1.2.3/32", "10.1.2.3", false],
    ["NotIpAddress", "10.1.2.3/32", "10.1.2.4", true],
  ]);
});

describe("operator names", () => {
  it("reads prefixes and the IfExists suffix", () => {
    expect(parseOperatorName("ForAllValues:StringLikeIfExists")).toEqual({
      base: BASE_OPERATORS.StringLike,
      baseName: "StringLike",
      set: "ForAllValues",
      ifExists: true,
    });
    expect(parseOperatorName("ForAnyValue:NotIpAddress")?.set).toBe("ForAnyValue");
    expect(parseOperatorName("DateEqualsIfExists")?.ifExists).toBe(true);
  });

  it.each(["toString", "constructor", "__proto__", "hasOwnProperty", "IfExists", "", "stringequals"])(
    "knows no operator %j",
    (name) => {
      expect(parseOperatorName(name)).toBeNull();
    },
  );

  it("knows each family's comparisons and negations, per AWS's operator tables", () => {
    expect(BASE_OPERATORS).toEqual({
      StringEquals: { family: "String", comparison: "Equals", negated: false },
      StringNotEquals: { family: "String", comparison: "Equals", negated: true },
      StringEqualsIgnoreCase: { family: "String", comparison: "EqualsIgnoreCase", negated: false },
      StringNotEqualsIgnoreCase: { family: "String", comparison: "EqualsIgnoreCase", negated: true },
      StringLike: { family: "String", comparison: "Like", negated: false },
      StringNotLike: { family: "String", comparison: "Like", negated: true },
      NumericEquals: { family: "Numeric", comparison: "Equals", negated: false },
      NumericNotEquals: { family: "Numeric", comparison: "Equals", negated: true },
      NumericLessThan: { family: "Numeric", comparison: "LessThan", negated: false },
      NumericLessThanEquals: { family: "Numeric", comparison: "LessThanEquals", negated: false },
      NumericGreaterThan: { family: "Numeric", comparison: "GreaterThan", negated: false },
      NumericGreaterThanEquals: { family: "Numeric", comparison: "GreaterThanEquals", negated: false },
      DateEquals: { family: "Date", comparison: "Equals", negated: false },
      DateNotEquals: { family: "Date", comparison: "Equals", negated: true },
      DateLessThan: { family: "Date", comparison: "LessThan", negated: false },
      DateLessThanEquals: { family: "Date", comparison: "LessThanEquals", negated: false },
      DateGreaterThan: { family: "Date", comparison: "GreaterThan", negated: false },
      DateGreaterThanEquals: { family: "Date", comparison: "GreaterThanEquals", negated: false },
      Bool: { family: "Bool", negated: false },
      IpAddress: { family: "IpAddress", negated: false },
      NotIpAddress: { family: "IpAddress", negated: true },
      Null: { family: "Null" },
    });
  });
});
