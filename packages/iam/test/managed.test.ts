import { describe, expect, it } from "vitest";
import {
  type Decision,
  evaluate,
  type ManagedPolicy,
  managedPolicies,
  parsePolicyDocument,
  ReadOnlyAccess,
} from "../src/index";

const context = { "berth:TenantId": "t1", "berth:PrincipalId": "u1" };
const decide = (policy: ManagedPolicy, action: string, resource: string): Decision =>
  evaluate([policy], { action, resource, context }).decision;

describe("managed policies", () => {
  it("have stable ids and pass the parser", () => {
    expect(Object.keys(managedPolicies)).toEqual([
      "berth-managed/AdministratorAccess",
      "berth-managed/ReadOnlyAccess",
      "berth-managed/ClusterAdmin",
      "berth-managed/BillingViewer",
    ]);
    for (const policy of Object.values(managedPolicies)) {
      expect(parsePolicyDocument(policy.document)).toEqual({ ok: true, document: policy.document });
      expect(Object.isFrozen(policy.document)).toBe(true);
    }
  });

  it.each([
    ["AdministratorAccess", "iam:AttachPolicy", "brn:berth:t2:user/u9", "Allow"],
    ["AdministratorAccess", "cluster:Delete", "*", "Allow"],
    ["ReadOnlyAccess", "cluster:Describe", "brn:berth:t1:cluster/c1", "Allow"],
    ["ReadOnlyAccess", "cluster:List", "brn:berth:t1:cluster/*", "Allow"],
    ["ReadOnlyAccess", "iam:GetPolicy", "brn:berth:t1:policy/p1", "Allow"],
    ["ReadOnlyAccess", "usage:Read", "brn:berth:t1:usage", "Allow"],
    ["ReadOnlyAccess", "secret:Describe", "brn:berth:t1:cluster/c1/namespace/a/secret/db", "Allow"],
    ["ReadOnlyAccess", "secret:ReadValue", "brn:berth:t1:cluster/c1/namespace/a/secret/db", "ImplicitDeny"],
    ["ReadOnlyAccess", "pod:ReadLogs", "brn:berth:t1:cluster/c1/namespace/a/pod/web-1", "Allow"],
    ["ReadOnlyAccess", "pod:Exec", "brn:berth:t1:cluster/c1/namespace/a/pod/web-1", "ImplicitDeny"],
    ["ClusterAdmin", "secret:ReadValue", "brn:berth:t1:cluster/c1/namespace/a/secret/db", "Allow"],
    ["ClusterAdmin", "configmap:Apply", "brn:berth:t1:cluster/c1/namespace/a/configmap/x", "Allow"],
    ["ClusterAdmin", "namespace:Delete", "brn:berth:t1:cluster/c1/namespace/a", "Allow"],
    ["ReadOnlyAccess", "cluster:Delete", "brn:berth:t1:cluster/c1", "ImplicitDeny"],
    [
      "ReadOnlyAccess",
      "deployment:Apply",
      "brn:berth:t1:cluster/c1/namespace/a/deployment/web",
      "ImplicitDeny",
    ],
    ["ReadOnlyAccess", "cluster:Describe", "brn:berth:t2:cluster/c1", "ImplicitDeny"],
    ["ClusterAdmin", "cluster:Delete", "brn:berth:t1:cluster/c1", "Allow"],
    ["ClusterAdmin", "deployment:Apply", "brn:berth:t1:cluster/c1/namespace/a/deployment/web", "Allow"],
    ["ClusterAdmin", "nodepool:Create", "brn:berth:t1:cluster/c1/nodepool/np1", "Allow"],
    ["ClusterAdmin", "pod:List", "brn:berth:t1:cluster/c1", "Allow"],
    ["ClusterAdmin", "iam:AttachPolicy", "brn:berth:t1:cluster/c1", "ImplicitDeny"],
    ["ClusterAdmin", "iam:AttachPolicy", "brn:berth:t1:user/u1", "ImplicitDeny"],
    ["ClusterAdmin", "usage:Read", "brn:berth:t1:usage", "ImplicitDeny"],
    ["ClusterAdmin", "cluster:Delete", "brn:berth:t2:cluster/c1", "ImplicitDeny"],
    ["BillingViewer", "usage:Read", "brn:berth:t1:usage", "Allow"],
    ["BillingViewer", "invoice:List", "brn:berth:t1:invoice/*", "Allow"],
    ["BillingViewer", "invoice:Read", "brn:berth:t2:invoice/i1", "ImplicitDeny"],
    ["BillingViewer", "cluster:List", "brn:berth:t1:cluster/*", "ImplicitDeny"],
  ] as const)("%s: %s on %s is %s", (name, action, resource, expected) => {
    const policy = managedPolicies[`berth-managed/${name}`];
    expect(policy).toBeDefined();
    if (policy !== undefined) expect(decide(policy, action, resource)).toBe(expected);
  });

  it("scope nothing to a tenant when the request carries no tenant", () => {
    expect(
      evaluate([ReadOnlyAccess], { action: "cluster:List", resource: "brn:berth:t1:cluster/*", context: {} })
        .decision,
    ).toBe("ImplicitDeny");
  });
});
