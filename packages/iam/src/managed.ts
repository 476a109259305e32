import type { Policy, PolicyDocument } from "./types";

/**
 * Berth-managed policies, in the manner of AWS managed policies: fixed ids, attachable to any
 * principal, never edited by tenants. Each is scoped to the caller's own tenant through the
 * `${berth:TenantId}` variable, except AdministratorAccess, which like AWS's is `*` on `*`
 * (tenant isolation itself is enforced below IAM, by row-level security).
 */
export interface ManagedPolicy extends Policy {
  readonly description: string;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, resolved at evaluation
const TENANT = "brn:berth:${berth:TenantId}";

function managed(name: string, description: string, document: PolicyDocument): ManagedPolicy {
  return Object.freeze({ id: `berth-managed/${name}`, name, description, document: deepFreeze(document) });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === "object" && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}

export const AdministratorAccess = managed("AdministratorAccess", "Every action on every resource.", {
  Version: "2012-10-17",
  Statement: [{ Sid: "AllowEverything", Effect: "Allow", Action: "*", Resource: "*" }],
});

export const ReadOnlyAccess = managed(
  "ReadOnlyAccess",
  "List, describe, get and read anything in the caller's tenant but Secrets' values, pull its images; change nothing.",
  {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadEverythingInTenant",
        Effect: "Allow",
        // `*:Read`, not `*:Read*`: reading a Secret's values (`secret:ReadValue`) is not a
        // read-only viewer's (Kubernetes' `view` role cannot read Secrets either); a pod's logs
        // are (`view` may get pods/log).
        Action: ["*:List*", "*:Describe*", "*:Get*", "*:Read", "pod:ReadLogs", "registry:Pull"],
        Resource: `${TENANT}:*`,
      },
    ],
  },
);

export const ClusterAdmin = managed(
  "ClusterAdmin",
  "Everything about the tenant's clusters and what runs on them, its images included; nothing of IAM or billing.",
  {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ManageClusters",
        Effect: "Allow",
        Action: [
          "cluster:*",
          "node:*",
          "nodepool:*",
          "deployment:*",
          "pod:*",
          "event:*",
          "namespace:*",
          "configmap:*",
          "secret:*",
          "resourcequota:*",
          "limitrange:*",
          "job:*",
          "cronjob:*",
          "priorityclass:*",
          "poddisruptionbudget:*",
          "horizontalpodautoscaler:*",
          "service:*",
          "endpointslice:*",
          "networkpolicy:*",
          "persistentvolumeclaim:*",
          "ingress:*",
          "metrics:*",
        ],
        Resource: `${TENANT}:cluster/*`,
      },
      {
        Sid: "PullAndPushImages",
        Effect: "Allow",
        Action: ["registry:Pull", "registry:Push"],
        Resource: `${TENANT}:repository/*`,
      },
    ],
  },
);

export const BillingViewer = managed("BillingViewer", "Read the tenant's usage, invoices and budgets.", {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "ReadBilling",
      Effect: "Allow",
      Action: ["usage:Read", "invoice:Read", "invoice:List", "budget:List", "budget:Describe"],
      Resource: `${TENANT}:*`,
    },
  ],
});

/** Every managed policy, by id. */
export const managedPolicies: Readonly<Record<string, ManagedPolicy>> = Object.freeze(
  Object.fromEntries(
    [AdministratorAccess, ReadOnlyAccess, ClusterAdmin, BillingViewer].map((p) => [p.id, p] as const),
  ),
);
