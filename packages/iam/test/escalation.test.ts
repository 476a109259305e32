// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax
import { describe, expect, it } from "vitest";
import { includes, intersects } from "../src/escalation/glob-sets";
import { symbolsOf } from "../src/escalation/symbols";
import { AdministratorAccess, ClusterAdmin, policiesCover, ReadOnlyAccess } from "../src/index";
import type { Policy, Statement } from "../src/types";

const sym = (p: string) => symbolsOf(p, new Map(), false) ?? [];
const policy = (name: string, ...statements: Statement[]): Policy => ({
  id: name,
  name,
  document: { Version: "2012-10-17", Statement: statements },
});
const allow = (Action: string | string[], Resource: string | string[] = "*"): Statement => ({
  Effect: "Allow",
  Action,
  Resource,
});
const ctx = {
  held: { "berth:PrincipalId": "usr_me", "berth:TenantId": "ten_1" },
  granted: { "berth:PrincipalId": "usr_other", "berth:TenantId": "ten_1" },
};

describe("glob inclusion", () => {
  it.each([
    ["*", "anything", true],
    ["*", "*", true],
    ["a*", "ab*", true],
    ["ab*", "a*", false],
    ["a*", "*a", false],
    ["*a", "a*", false],
    ["*", "??", true],
    ["??", "*", false],
    ["?*", "??", true],
    ["??", "?*", false],
    ["a*b*c", "a*c", false],
    ["a*c", "a*b*c", true],
    ["a*c", "abc", true],
    ["", "", true],
    ["", "*", false],
    ["*", "", true],
    ["**", "*", true],
    ["*", "**", true],
    ["a?c", "abc", true],
    ["abc", "a?c", false],
  ])("%j contains %j: %s", (outer, inner, expected) => {
    expect(includes(sym(outer), sym(inner))).toBe(expected);
  });
});

describe("glob intersection", () => {
  it.each([
    ["a*", "*a", true],
    ["a*", "b*", false],
    ["*x*", "*y*", true],
    ["a?", "?b", true],
    ["a?", "abc", false],
    ["", "*", true],
    ["", "a", false],
    ["a*b", "a*c", false],
    ["*a", "*b", false],
    ["cluster:*", "iam:*", false],
  ])("%j and %j meet: %s", (a, b, expected) => {
    expect(intersects(sym(a), sym(b))).toBe(expected);
    expect(intersects(sym(b), sym(a))).toBe(expected);
  });
});

describe("policiesCover: nobody grants more than they hold", () => {
  it("lets an administrator grant anything", () => {
    expect(policiesCover([AdministratorAccess], [AdministratorAccess, ClusterAdmin], ctx).covered).toBe(true);
  });

  it("does not let CreatePolicy + AttachPolicy grant Allow */* or AdministratorAccess", () => {
    const climber = policy("Climber", allow(["iam:CreatePolicy", "iam:AttachPolicy"]));
    const everything = policy("Everything", allow("*"));
    const r = policiesCover([climber], [everything], ctx);
    expect(r).toMatchObject({ covered: false, policyName: "Everything", statementIndex: 0 });
    expect(policiesCover([climber], [AdministratorAccess], ctx).covered).toBe(false);
    expect(policiesCover([climber], [policy("Narrow", allow("iam:CreatePolicy"))], ctx).covered).toBe(true);
  });

  it("lets a held explicit Deny make a wider grant uncovered, even a conditional one", () => {
    const held = [
      policy("All", allow("*")),
      policy("NoDelete", { Effect: "Deny", Action: "cluster:Delete", Resource: "*" }),
    ];
    expect(policiesCover(held, [policy("Clusters", allow("cluster:*"))], ctx)).toMatchObject({
      covered: false,
      reason: expect.stringMatching(/denied/),
    });
    expect(policiesCover(held, [policy("Reads", allow("cluster:Get*"))], ctx).covered).toBe(true);
    const conditional = [
      policy("All", allow("*")),
      policy("Sometimes", {
        Effect: "Deny",
        Action: "cluster:Delete",
        Resource: "*",
        Condition: { Bool: { "berth:SecureTransport": "false" } },
      }),
    ];
    expect(policiesCover(conditional, [policy("Clusters", allow("cluster:*"))], ctx).covered).toBe(false);
  });

  it("does not count held statements with conditions as covering", () => {
    const held = [
      policy("FromOffice", {
        Effect: "Allow",
        Action: "*",
        Resource: "*",
        Condition: { IpAddress: { "berth:SourceIp": "192.0.2.0/24" } },
      }),
    ];
    expect(policiesCover(held, [policy("Reads", allow("cluster:Get"))], ctx).covered).toBe(false);
  });

  it("ignores the granted statement's conditions (they only narrow it) and treats NotAction as everything", () => {
    const held = [policy("Clusters", allow("cluster:*"))];
    const narrowed = policy("Narrowed", {
      Effect: "Allow",
      Action: "cluster:Get",
      Resource: "*",
      Condition: { Bool: { "berth:SecureTransport": "true" } },
    });
    expect(policiesCover(held, [narrowed], ctx).covered).toBe(true);
    const notAction = policy("AllButIam", { Effect: "Allow", NotAction: "iam:*", Resource: "*" });
    expect(policiesCover(held, [notAction], ctx).covered).toBe(false);
    expect(policiesCover([policy("All", allow("*"))], [notAction], ctx).covered).toBe(true);
  });

  it("resolves each side's variables with its own principal", () => {
    const selfService = (name: string) =>
      policy(name, allow("iam:*ApiKey*", "brn:berth:*:user/${berth:PrincipalId}/api-key/*"));
    // My own keys do not cover another user's keys...
    expect(policiesCover([selfService("Mine")], [selfService("Theirs")], ctx).covered).toBe(false);
    // ...but they do when the grant is for me.
    expect(
      policiesCover([selfService("Mine")], [selfService("Again")], { held: ctx.held, granted: ctx.held })
        .covered,
    ).toBe(true);
    // An explicit grant on the other user's keys is covered by holding all users' keys.
    const allKeys = policy("AllKeys", allow("iam:*ApiKey*", "brn:berth:*:user/*/api-key/*"));
    expect(policiesCover([allKeys], [selfService("Theirs")], ctx).covered).toBe(true);
    // A variable the grant cannot resolve counts as everything.
    const unknown = policy("Unknown", allow("iam:ListApiKeys", "brn:berth:*:user/${berth:Nope}/api-key/*"));
    expect(policiesCover([allKeys], [unknown], ctx).covered).toBe(false);
  });

  it("covers the managed policies in the expected order", () => {
    const tenantCtx = { held: { "berth:TenantId": "ten_1" }, granted: { "berth:TenantId": "ten_1" } };
    expect(policiesCover([ClusterAdmin], [ReadOnlyAccess], tenantCtx).covered).toBe(false);
    expect(policiesCover([AdministratorAccess], [ReadOnlyAccess], tenantCtx).covered).toBe(true);
    // Another tenant's managed policy resolves to another tenant's resources.
    expect(
      policiesCover([ClusterAdmin], [ClusterAdmin], {
        held: tenantCtx.held,
        granted: { "berth:TenantId": "ten_2" },
      }).covered,
    ).toBe(false);
  });

  it("never lets a statement whose Effect is not exactly Allow cover anything", () => {
    const odd = policy("Odd", { Effect: "allow" as "Allow", Action: "*", Resource: "*" });
    expect(policiesCover([odd], [policy("Reads", allow("cluster:Get"))], ctx).covered).toBe(false);
  });
});
