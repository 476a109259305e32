import { ConflictError, NotFoundError, ValidationError } from "@berth/core";
import {
  apiKeys,
  clusters,
  joinTokens,
  recordEvent,
  refreshTokens,
  serviceAccounts,
  type Tx,
  tenants,
  users,
  withTenant,
} from "@berth/db";
import { labelKey } from "@berth/protocol";
import { and, eq, isNull, notInArray } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { allowedImagePrefixesInput } from "./image-policy";
import { kick } from "./kick";
import { timestamp } from "./replies";

async function loadTenant(tx: Tx, id: string) {
  const [t] = await tx.select().from(tenants).where(eq(tenants.id, id));
  if (!t) throw new NotFoundError("tenant", id);
  return t;
}

export const tenantReply = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(["active", "closed"]),
  allowedImagePrefixes: z.array(z.string()).nullable(),
  effectiveImagePrefixes: z.array(z.string()),
  costAllocationLabelKeys: z.array(z.string()),
  createdAt: timestamp,
  closedAt: timestamp.nullable(),
  eraseAfter: timestamp.nullable(),
});
export const closedTenantReply = tenantReply.extend({ clustersDeleting: z.array(z.string()) });

function tenantView(t: typeof tenants.$inferSelect, deps: Deps): z.output<typeof tenantReply> {
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    /** The tenant's own list, or null when the platform's applies (`effectiveImagePrefixes`). */
    allowedImagePrefixes: t.allowedImagePrefixes,
    effectiveImagePrefixes: [...(t.allowedImagePrefixes ?? deps.allowedImagePrefixes)],
    /** Pod label keys usage is rolled up by, for cost allocation (`GET /v1/usage?groupBy=label:<key>`). */
    costAllocationLabelKeys: t.costAllocationLabelKeys,
    createdAt: t.createdAt.toISOString(),
    closedAt: t.closedAt?.toISOString() ?? null,
    eraseAfter: t.eraseAfter?.toISOString() ?? null,
  };
}

export const emptyTenantInput = z.object({}).strict();

export async function getTenant(deps: Deps, caller: UserCaller) {
  return tenantView(
    await withTenant(deps.db, caller.tenantId, (tx) => loadTenant(tx, caller.tenantId)),
    deps,
  );
}

export const updateTenantInput = z
  .object({
    /** Image prefixes its pods may use (`registry.example/team/`); null: the platform's list. */
    allowedImagePrefixes: allowedImagePrefixesInput.nullable().optional(),
    /**
     * Pod label keys its usage is rolled up by (at most 5), e.g. `team`, `cost-center`. Hours rolled
     * up from then on (and hours recomputed because late usage arrived) group by these keys.
     */
    costAllocationLabelKeys: z
      .array(labelKey)
      .max(5)
      .refine((keys) => new Set(keys).size === keys.length, "keys must be distinct")
      .optional(),
  })
  .strict()
  .refine((i) => i.allowedImagePrefixes !== undefined || i.costAllocationLabelKeys !== undefined, {
    message: "give allowedImagePrefixes or costAllocationLabelKeys",
  });

/** Changes the tenant's settings. Running pods keep their images; new admissions follow the list. */
export async function updateTenant(deps: Deps, caller: UserCaller, input: z.infer<typeof updateTenantInput>) {
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const tenant = await loadTenant(tx, caller.tenantId);
    if (tenant.status !== "active") throw new ConflictError(`tenant ${tenant.name} is ${tenant.status}`);
    const [updated] = await tx
      .update(tenants)
      .set({
        ...(input.allowedImagePrefixes !== undefined
          ? { allowedImagePrefixes: input.allowedImagePrefixes }
          : {}),
        ...(input.costAllocationLabelKeys ? { costAllocationLabelKeys: input.costAllocationLabelKeys } : {}),
      })
      .where(eq(tenants.id, tenant.id))
      .returning();
    await recordEvent(tx, {
      tenantId: tenant.id,
      clusterId: null,
      objectKind: "Tenant",
      objectName: tenant.name,
      reason: "Updated",
      message: [
        input.allowedImagePrefixes === undefined
          ? null
          : input.allowedImagePrefixes === null
            ? "allowed image prefixes: the platform's"
            : `allowed image prefixes: ${input.allowedImagePrefixes.join(", ") || "(none)"}`,
        input.costAllocationLabelKeys
          ? `cost allocation label keys: ${input.costAllocationLabelKeys.join(", ") || "(none)"}`
          : null,
      ]
        .filter(Boolean)
        .join("; "),
    });
    return updated ?? tenant;
  });
  return tenantView(row, deps);
}

export const closeTenantInput = z
  .object({
    /** The tenant's name, typed again: closing cannot be undone. */
    confirm: z.string().min(1).max(63),
  })
  .strict();

/**
 * Closes the caller's tenant (account closure), in one transaction: every principal is disabled and
 * signed out, every API key, refresh token and join token revoked, every cluster set to deleting
 * (the provisioner stops its pods, releases its nodes and terminates its machines). The tenant's
 * data is erased by the provisioner once `eraseAfter` (the retention, TENANT_RETENTION_DAYS) has
 * passed and its clusters are deleted. It cannot be undone.
 */
export async function closeTenant(deps: Deps, caller: UserCaller, input: z.infer<typeof closeTenantInput>) {
  const now = deps.now();
  const eraseAfter = new Date(now.getTime() + deps.limits.tenantRetentionDays * 86_400_000);
  const { view, deleting } = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const tenant = await loadTenant(tx, caller.tenantId);
    if (input.confirm !== tenant.name)
      throw new ValidationError(`confirm: type the tenant's name (${tenant.name}) to close it`);
    if (tenant.status === "closed") throw new ConflictError(`tenant ${tenant.name} is already closed`);
    const [closed] = await tx
      .update(tenants)
      .set({ status: "closed", closedAt: now, eraseAfter })
      .where(eq(tenants.id, tenant.id))
      .returning();
    await tx.update(users).set({ status: "disabled", sessionsValidAfter: now });
    await tx.update(serviceAccounts).set({ status: "disabled", sessionsValidAfter: now });
    await tx.update(apiKeys).set({ revokedAt: now }).where(isNull(apiKeys.revokedAt));
    await tx.update(refreshTokens).set({ revokedAt: now }).where(isNull(refreshTokens.revokedAt));
    await tx.update(joinTokens).set({ revokedAt: now }).where(isNull(joinTokens.revokedAt));
    const deleting = await tx
      .update(clusters)
      .set({ status: "deleting", statusReason: "the tenant was closed", deletingAt: now })
      .where(and(eq(clusters.tenantId, tenant.id), notInArray(clusters.status, ["deleting", "deleted"])))
      .returning({ id: clusters.id, name: clusters.name });
    for (const c of deleting)
      await recordEvent(tx, {
        tenantId: tenant.id,
        clusterId: c.id,
        objectKind: "Cluster",
        objectName: c.name,
        reason: "Deleting",
        message: "the tenant was closed: stopping pods and releasing nodes",
      });
    await recordEvent(tx, {
      tenantId: tenant.id,
      clusterId: null,
      objectKind: "Tenant",
      objectName: tenant.name,
      type: "Warning",
      reason: "Closed",
      message: `closed by ${caller.principalId}; its data is erased after ${eraseAfter.toISOString()}`,
    });
    return { view: tenantView(closed ?? tenant, deps), deleting };
  });
  for (const c of deleting)
    await kick(deps, "cluster.delete", { tenantId: caller.tenantId, clusterId: c.id });
  return { ...view, clustersDeleting: deleting.map((c) => c.id) };
}
