import { ForbiddenError } from "@berth/core";
import { policiesCover } from "@berth/iam";
import type { Deps, UserCaller } from "../deps";
import type { RequestFacts } from "./authorize";
import { type AttachedPolicy, evaluateFor } from "./authorize";

/** Holding this action (on `brn:berth:<tenant>:*`) lets a principal grant what it does not hold itself, like Kubernetes' `escalate` verb. */
export const ESCALATE_ACTION = "iam:Escalate";

/**
 * Kubernetes RBAC's and AWS permission boundaries' rule: nobody grants, attaches, or mints a
 * credential for more than they hold themselves. Refuses (403) unless every permission `granted`
 * can give is also the caller's, without conditions — or the caller holds `iam:Escalate`. The check
 * is conservative (see `policiesCover`): when in doubt it refuses, naming the statement.
 */
export async function assertCanGrant(
  deps: Deps,
  caller: UserCaller,
  facts: RequestFacts,
  grant: { what: string; granted: readonly AttachedPolicy[]; grantedPrincipalId: string },
): Promise<void> {
  const result = policiesCover(caller.policies, grant.granted, {
    held: { "berth:PrincipalId": caller.principalId, "berth:TenantId": caller.tenantId },
    granted: { "berth:PrincipalId": grant.grantedPrincipalId, "berth:TenantId": caller.tenantId },
  });
  if (result.covered) return;
  const escalate = await evaluateFor(
    deps,
    caller,
    caller.policies,
    ESCALATE_ACTION,
    `brn:berth:${caller.tenantId}:*`,
    facts,
  );
  if (escalate.decision === "Allow") return;
  throw new ForbiddenError(
    `${caller.principalId} may not grant ${grant.what}: it would give permissions the caller does not hold (${result.policyName}, statement ${result.statementIndex}: ${result.reason}); ${ESCALATE_ACTION} allows it`,
  );
}
