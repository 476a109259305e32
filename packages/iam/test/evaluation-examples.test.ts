// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is IAM policy-variable syntax inside policy text, not a JS template
import { describe, expect, it } from "vitest";
import { evaluate, type Statement } from "../src/index";
import { table } from "./table";

/**
 * AWS's documented evaluation examples for the policy elements — Effect, Action, NotAction,
 * Resource, NotResource, policy variables — restated for Berth. Each block names the AWS page
 * it comes from; `berth:` keys and BRNs stand in for `aws:` keys and ARNs.
 */

const C1 = "brn:berth:t1:cluster/c1";

describe("explicit and implicit denies (AWS: The difference between explicit and implicit denies)", () => {
  // The AWS example: AllowGetList allows iam:Get* and iam:List*; DenyReports denies iam:*Report.
  const policy: Statement[] = [
    { Sid: "AllowGetList", Effect: "Allow", Action: ["iam:Get*", "iam:List*"], Resource: "*" },
    { Sid: "DenyReports", Effect: "Deny", Action: "iam:*Report", Resource: "*" },
  ];
  table([
    {
      name: "an explicit deny overrides an allow",
      statements: policy,
      action: "iam:GetOrganizationsAccessReport",
      resource: "*",
      expected: "ExplicitDeny",
    },
    {
      name: "an allowed action without a deny is allowed",
      statements: policy,
      action: "iam:GetUser",
      resource: "*",
      expected: "Allow",
    },
    {
      name: "an action nothing mentions is implicitly denied",
      statements: policy,
      action: "iam:CreatePolicy",
      resource: "*",
      expected: "ImplicitDeny",
    },
  ]);

  it("reports the deny as deciding, and both statements as matched", () => {
    const result = evaluate(
      [{ id: "p1", name: "TestPolicy", document: { Version: "2012-10-17", Statement: policy } }],
      {
        action: "iam:GetCredentialReport",
        resource: "*",
        context: {},
      },
    );
    expect(result.decidingStatement).toEqual({
      policyId: "p1",
      policyName: "TestPolicy",
      sid: "DenyReports",
      index: 1,
    });
    expect(result.matchedStatements.map((m) => [m.sid, m.effect])).toEqual([
      ["AllowGetList", "Allow"],
      ["DenyReports", "Deny"],
    ]);
  });
});

describe("wildcards in Action (AWS: IAM JSON policy elements: Action)", () => {
  table([
    {
      name: "a service wildcard like s3:* covers every cluster action",
      statements: [{ Effect: "Allow", Action: "cluster:*", Resource: "*" }],
      action: "cluster:Delete",
      resource: C1,
      expected: "Allow",
    },
    {
      name: "a service wildcard does not cover another service",
      statements: [{ Effect: "Allow", Action: "cluster:*", Resource: "*" }],
      action: "node:List",
      resource: C1,
      expected: "ImplicitDeny",
    },
    {
      name: "*:List* covers List actions of every service",
      statements: [{ Effect: "Allow", Action: "*:List*", Resource: "*" }],
      action: "pod:List",
      resource: C1,
      expected: "Allow",
    },
    {
      name: "*:List* does not cover Describe",
      statements: [{ Effect: "Allow", Action: "*:List*", Resource: "*" }],
      action: "cluster:Describe",
      resource: C1,
      expected: "ImplicitDeny",
    },
    {
      name: "? matches exactly one character",
      statements: [{ Effect: "Allow", Action: "iam:?etPolicy", Resource: "*" }],
      action: "iam:GetPolicy",
      resource: "*",
      expected: "Allow",
    },
    {
      name: "? does not match two characters",
      statements: [{ Effect: "Allow", Action: "iam:?etPolicy", Resource: "*" }],
      action: "iam:ResetPolicy",
      resource: "*",
      expected: "ImplicitDeny",
    },
    {
      name: "action names are case-insensitive",
      statements: [{ Effect: "Allow", Action: "CLUSTER:describe", Resource: "*" }],
      action: "cluster:Describe",
      resource: C1,
      expected: "Allow",
    },
  ]);
});

describe("NotAction and NotResource (AWS: IAM JSON policy elements: NotAction, NotResource)", () => {
  const allButIam: Statement[] = [{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }];
  const denyDeleteOutsideSandbox: Statement[] = [
    { Effect: "Allow", Action: "*", Resource: "*" },
    {
      Effect: "Deny",
      Action: "cluster:Delete",
      NotResource: "brn:berth:${berth:TenantId}:cluster/sandbox-*",
    },
  ];
  const ctx = { "berth:TenantId": "t1" };
  table([
    {
      name: "NotAction with Allow allows everything outside the listed service",
      statements: allButIam,
      action: "cluster:Create",
      resource: C1,
      expected: "Allow",
    },
    {
      name: "NotAction with Allow does not allow the listed service",
      statements: allButIam,
      action: "iam:AttachPolicy",
      resource: "brn:berth:t1:user/u1",
      expected: "ImplicitDeny",
    },
    {
      name: "NotResource with Deny spares the listed resources",
      statements: denyDeleteOutsideSandbox,
      action: "cluster:Delete",
      resource: "brn:berth:t1:cluster/sandbox-7",
      context: ctx,
      expected: "Allow",
    },
    {
      name: "NotResource with Deny denies everything else",
      statements: denyDeleteOutsideSandbox,
      action: "cluster:Delete",
      resource: "brn:berth:t1:cluster/prod",
      context: ctx,
      expected: "ExplicitDeny",
    },
    {
      name: "NotResource with Deny denies another tenant's sandbox too",
      statements: denyDeleteOutsideSandbox,
      action: "cluster:Delete",
      resource: "brn:berth:t2:cluster/sandbox-7",
      context: ctx,
      expected: "ExplicitDeny",
    },
  ]);
});

describe("policy variables (AWS: IAM policy elements: Variables and tags)", () => {
  const ownTenant: Statement[] = [
    { Effect: "Allow", Action: "cluster:*", Resource: "brn:berth:${berth:TenantId}:cluster/*" },
  ];
  const ownUser: Statement[] = [
    { Effect: "Allow", Action: "iam:*", Resource: "brn:berth:${berth:TenantId}:user/${berth:PrincipalId}" },
  ];
  const ownedByCaller: Statement[] = [
    {
      Effect: "Allow",
      Action: "cluster:Delete",
      Resource: "*",
      Condition: { StringEquals: { "berth:ResourceTag/owner": "${berth:PrincipalId}" } },
    },
  ];
  const t1 = { "berth:TenantId": "t1", "berth:PrincipalId": "u1" };
  table([
    {
      name: "${berth:TenantId} admits the caller's own tenant",
      statements: ownTenant,
      action: "cluster:Describe",
      resource: C1,
      context: t1,
      expected: "Allow",
    },
    {
      name: "${berth:TenantId} shuts out another tenant",
      statements: ownTenant,
      action: "cluster:Describe",
      resource: "brn:berth:t2:cluster/c1",
      context: t1,
      expected: "ImplicitDeny",
    },
    {
      name: "a variable without a value makes the resource match nothing",
      statements: ownTenant,
      action: "cluster:Describe",
      resource: C1,
      expected: "ImplicitDeny",
    },
    {
      name: "a multivalued key is not a variable",
      statements: ownTenant,
      action: "cluster:Describe",
      resource: C1,
      context: { "berth:TenantId": ["t1"] },
      expected: "ImplicitDeny",
    },
    {
      name: "two variables in one resource",
      statements: ownUser,
      action: "iam:GetUser",
      resource: "brn:berth:t1:user/u1",
      context: t1,
      expected: "Allow",
    },
    {
      name: "two variables in one resource, someone else's user",
      statements: ownUser,
      action: "iam:GetUser",
      resource: "brn:berth:t1:user/u2",
      context: t1,
      expected: "ImplicitDeny",
    },
    {
      name: "a variable's value is literal, not a wildcard",
      statements: ownUser,
      action: "iam:GetUser",
      resource: "brn:berth:t1:user/u2",
      context: { "berth:TenantId": "t1", "berth:PrincipalId": "u*" },
      expected: "ImplicitDeny",
    },
    {
      name: "a variable in a condition value",
      statements: ownedByCaller,
      action: "cluster:Delete",
      resource: C1,
      context: { ...t1, "berth:ResourceTag/owner": "u1" },
      expected: "Allow",
    },
    {
      name: "a variable in a condition value, other owner",
      statements: ownedByCaller,
      action: "cluster:Delete",
      resource: C1,
      context: { ...t1, "berth:ResourceTag/owner": "u9" },
      expected: "ImplicitDeny",
    },
    {
      name: "${*} is a literal asterisk",
      statements: [{ Effect: "Allow", Action: "*", Resource: "brn:berth:t1:cluster/${*}" }],
      action: "cluster:List",
      resource: "brn:berth:t1:cluster/*",
      expected: "Allow",
    },
    {
      name: "${*} does not match other names",
      statements: [{ Effect: "Allow", Action: "*", Resource: "brn:berth:t1:cluster/${*}" }],
      action: "cluster:List",
      resource: C1,
      expected: "ImplicitDeny",
    },
  ]);
});

describe("resources (AWS: IAM JSON policy elements: Resource)", () => {
  table([
    {
      name: "resource names are case-sensitive",
      statements: [{ Effect: "Allow", Action: "*", Resource: "brn:berth:t1:cluster/C1" }],
      action: "cluster:Describe",
      resource: C1,
      expected: "ImplicitDeny",
    },
    {
      name: "* in a resource spans / and :",
      statements: [{ Effect: "Allow", Action: "*", Resource: "brn:berth:t1:*web" }],
      action: "deployment:Apply",
      resource: "brn:berth:t1:cluster/c1/namespace/a/deployment/web",
      expected: "Allow",
    },
    {
      name: "cluster/* covers deployments inside the cluster",
      statements: [{ Effect: "Allow", Action: "*", Resource: "brn:berth:t1:cluster/c1/*" }],
      action: "deployment:Apply",
      resource: "brn:berth:t1:cluster/c1/namespace/a/deployment/web",
      expected: "Allow",
    },
    {
      name: "cluster/c1/* does not cover the cluster itself",
      statements: [{ Effect: "Allow", Action: "*", Resource: "brn:berth:t1:cluster/c1/*" }],
      action: "cluster:Describe",
      resource: C1,
      expected: "ImplicitDeny",
    },
  ]);
});
