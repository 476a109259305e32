import { ConflictError, NotFoundError, newId, ValidationError } from "@berth/core";
import { policies, policyAttachments, type Tx, withTenant } from "@berth/db";
import { type PolicyDocument, parsePolicyDocument, policyDocumentSchema } from "@berth/iam";
import { and, desc, eq, lt } from "drizzle-orm";
import { z } from "zod";
import {
  type AttachedPolicy,
  evaluateFor,
  managedPolicyList,
  managedPolicyNamed,
  policiesOf,
} from "../auth/authorize";
import { assertCanGrant } from "../auth/escalation";
import type { Deps, UserCaller } from "../deps";
import type { RequestMeta } from "../operation";
import { page, pageInput } from "./paging";
import { findPrincipal, principalIdSchema } from "./principals";
import { timestamp } from "./replies";

export const MAX_POLICIES_PER_TENANT = 200;
export const MAX_ATTACHMENTS_PER_PRINCIPAL = 20;

/** A tenant's own policy (`pol_…`) or a managed one by name (`ReadOnlyAccess`). */
const policyId = z
  .string()
  .regex(
    /^(pol_[0-9a-z]{26}|[A-Z][A-Za-z0-9]{0,63})$/,
    "must be a policy id (pol_…) or a managed policy's name",
  );

export const createPolicyInput = z
  .object({
    name: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9+=,.@_-]+$/, "letters, digits and +=,.@_-"),
    description: z.string().max(1000).optional(),
    document: z.unknown(),
  })
  .strict();

export const policyReply = z.strictObject({
  id: z.string().describe("`pol_…`, or a managed policy's name"),
  name: z.string(),
  description: z.string(),
  managed: z.boolean().describe("one of the platform's policies, the same in every tenant"),
  document: policyDocumentSchema,
  createdAt: timestamp.nullable().describe("null for a managed policy"),
});
export const attachmentReply = z.strictObject({
  id: z.string(),
  policyId: z.string(),
  principalId: z.string(),
});
export const detachedReply = attachmentReply.extend({ detached: z.literal(true) });
const statementRef = z.strictObject({
  policyId: z.string(),
  policyName: z.string(),
  sid: z.string().optional(),
  index: z.number().int().describe("the statement's place in the policy's Statement, from 0"),
});
export const simulationReply = z.strictObject({
  principalId: z.string(),
  action: z.string(),
  resource: z.string(),
  decision: z.enum(["Allow", "ExplicitDeny", "ImplicitDeny"]),
  allowed: z.boolean(),
  decidingStatement: statementRef
    .nullable()
    .describe("the first matching Deny of an ExplicitDeny, the first matching Allow of an Allow"),
  matchedStatements: z.array(statementRef.extend({ effect: z.enum(["Allow", "Deny"]) })),
});
type PolicyView = z.output<typeof policyReply>;
/** A stored or managed document, typed as the reply's (the same JSON: @berth/iam's types are readonly). */
const documentView = (d: PolicyDocument | Record<string, unknown>) => d as unknown as PolicyView["document"];

export async function createPolicy(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof createPolicyInput>,
): Promise<PolicyView> {
  const parsed = parsePolicyDocument(input.document);
  if (!parsed.ok)
    throw new ValidationError(
      `document: ${parsed.errors[0]?.path ?? ""} ${parsed.errors[0]?.message ?? "is not a valid policy"}`.trim(),
      parsed.errors.map((e) => ({ path: `document.${e.path}`, message: e.message })),
    );
  if (managedPolicyNamed(input.name))
    throw new ConflictError(`${input.name} is the name of a managed policy`);
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const existing = await tx
      .select({ name: policies.name })
      .from(policies)
      .where(eq(policies.tenantId, caller.tenantId));
    if (existing.some((p) => p.name === input.name))
      throw new ConflictError(`a policy named ${JSON.stringify(input.name)} exists`);
    if (existing.length >= MAX_POLICIES_PER_TENANT)
      throw new ValidationError(`a tenant may have at most ${MAX_POLICIES_PER_TENANT} policies`);
    const [p] = await tx
      .insert(policies)
      .values({
        id: newId("policy"),
        tenantId: caller.tenantId,
        name: input.name,
        description: input.description ?? "",
        document: parsed.document as unknown as Record<string, unknown>,
      })
      .returning();
    if (!p) throw new Error("insert returned nothing");
    return p;
  });
  return ownPolicyView(row);
}

function ownPolicyView(p: typeof policies.$inferSelect): PolicyView {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    managed: false,
    document: documentView(p.document),
    createdAt: p.createdAt.toISOString(),
  };
}

export const listPoliciesInput = pageInput.extend({}).strict();

/** The tenant's own policies, after the managed ones on the first page. */
export async function listPolicies(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof listPoliciesInput>,
): Promise<{ items: PolicyView[]; nextCursor: string | null }> {
  const rows = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx
      .select()
      .from(policies)
      .where(
        and(eq(policies.tenantId, caller.tenantId), input.cursor ? lt(policies.id, input.cursor) : undefined),
      )
      .orderBy(desc(policies.id))
      .limit(input.limit + 1),
  );
  const own = page(rows.map(ownPolicyView), input.limit);
  const managed = input.cursor
    ? []
    : managedPolicyList.map(
        (m): PolicyView => ({
          id: m.name,
          name: m.name,
          description: m.description,
          managed: true,
          document: documentView(m.document),
          createdAt: null,
        }),
      );
  return { items: [...managed, ...own.items], nextCursor: own.nextCursor };
}

/** A managed policy by name, or the tenant's own by id; null when there is none. */
async function findPolicy(tx: Tx, id: string): Promise<AttachedPolicy | null> {
  const managed = managedPolicyNamed(id);
  if (managed) return { id: managed.id, name: managed.name, document: managed.document };
  const [p] = await tx.select().from(policies).where(eq(policies.id, id));
  return p ? { id: p.id, name: p.name, document: p.document as unknown as PolicyDocument } : null;
}

export const attachmentInput = z.object({ policyId, principalId: principalIdSchema }).strict();

/** Attaches a policy; the caller must hold everything the policy grants (see escalation.ts). */
export async function attachPolicy(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof attachmentInput>,
  meta: RequestMeta,
): Promise<z.output<typeof attachmentReply>> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const policy = await findPolicy(tx, input.policyId);
    if (!policy) throw new NotFoundError("policy", input.policyId);
    if (!(await findPrincipal(tx, input.principalId)))
      throw new NotFoundError("principal", input.principalId);
    await assertCanGrant(deps, caller, meta, {
      what: `${policy.name} to ${input.principalId}`,
      granted: [policy],
      grantedPrincipalId: input.principalId,
    });
    const attached = await tx
      .select()
      .from(policyAttachments)
      .where(eq(policyAttachments.principalId, input.principalId));
    const existing = attached.find((a) => a.policyId === input.policyId);
    if (existing) return { id: existing.id, policyId: input.policyId, principalId: input.principalId };
    if (attached.length >= MAX_ATTACHMENTS_PER_PRINCIPAL)
      throw new ValidationError(
        `a principal may have at most ${MAX_ATTACHMENTS_PER_PRINCIPAL} policies attached`,
      );
    const id = newId("attachment");
    await tx
      .insert(policyAttachments)
      .values({ id, tenantId: caller.tenantId, policyId: input.policyId, principalId: input.principalId });
    return { id, policyId: input.policyId, principalId: input.principalId };
  });
}

export async function detachPolicy(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof attachmentInput>,
): Promise<z.output<typeof detachedReply>> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const [row] = await tx
      .delete(policyAttachments)
      .where(
        and(
          eq(policyAttachments.policyId, input.policyId),
          eq(policyAttachments.principalId, input.principalId),
        ),
      )
      .returning();
    if (!row) throw new NotFoundError("attachment", `${input.policyId} → ${input.principalId}`);
    return { id: row.id, policyId: row.policyId, principalId: row.principalId, detached: true };
  });
}

export const simulateInput = z
  .object({
    principalId: principalIdSchema,
    action: z.string().min(1).max(128),
    resource: z.string().min(1).max(1024),
    /** Facts to simulate instead of this request's, e.g. `{"berth:SourceIp": "10.0.0.1"}`. */
    context: z.record(z.string().max(128), z.string().max(1024)).optional(),
  })
  .strict();

/** Would `principal` be allowed `action` on `resource`? And which statement decides (AWS's policy simulator). */
export async function simulate(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof simulateInput>,
  meta: RequestMeta,
): Promise<z.output<typeof simulationReply>> {
  const { principal, policySet } = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const p = await findPrincipal(tx, input.principalId);
    if (!p) throw new NotFoundError("principal", input.principalId);
    return { principal: p, policySet: await policiesOf(tx, p.id) };
  });
  const subject: UserCaller = {
    ...caller,
    principalId: principal.id,
    principalType: principal.type,
    apiKeyId: undefined,
    policies: policySet,
  };
  const result = await evaluateFor(
    deps,
    subject,
    policySet,
    input.action,
    input.resource,
    meta,
    input.context ?? {},
  );
  return {
    principalId: principal.id,
    action: input.action,
    resource: input.resource,
    decision: result.decision,
    allowed: result.decision === "Allow",
    decidingStatement: result.decidingStatement,
    matchedStatements: [...result.matchedStatements],
  };
}
