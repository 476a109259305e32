import { ConflictError, idOf, NotFoundError, newId, ValidationError } from "@berth/core";
import {
  apiKeys,
  policyAttachments,
  recordEvent,
  refreshTokens,
  serviceAccounts,
  type Tx,
  users,
  withSystem,
  withTenant,
} from "@berth/db";
import { and, desc, eq, isNull, lt, ne, sql } from "drizzle-orm";
import { z } from "zod";
import { hashPassword } from "../auth/passwords";
import type { Deps, UserCaller } from "../deps";
import { DNS_LABEL } from "./manifest";
import { page, pageInput } from "./paging";
import { timestamp } from "./replies";

export const password = z.string().min(12, "at least 12 characters").max(256);

export const userReply = z.strictObject({
  id: z.string(),
  email: z.string(),
  status: z.enum(["active", "disabled"]),
  createdAt: timestamp,
});

const userView = (u: typeof users.$inferSelect): z.output<typeof userReply> => ({
  id: u.id,
  email: u.email,
  status: u.status,
  createdAt: u.createdAt.toISOString(),
});

export const createUserInput = z.object({ email: z.email().max(254), password }).strict();

/** Adds a user to the caller's tenant. It has no permissions until a policy is attached. */
export async function createUser(deps: Deps, caller: UserCaller, input: z.infer<typeof createUserInput>) {
  const passwordHash = await hashPassword(input.password);
  const email = input.email.toLowerCase();
  // Emails are unique across tenants (they sign in by email), so the check must see them all.
  const [taken] = await withSystem(deps.db, (tx) =>
    tx.select({ id: users.id }).from(users).where(sql`lower(${users.email}) = ${email}`),
  );
  if (taken) throw new ConflictError("an account with this email exists", "EMAIL_TAKEN");
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const [u] = await tx
      .insert(users)
      .values({ id: newId("user"), tenantId: caller.tenantId, email, passwordHash })
      .returning();
    if (!u) throw new Error("insert returned nothing");
    return u;
  });
  return userView(row);
}

export const listUsersInput = pageInput.extend({}).strict();

export async function listUsers(deps: Deps, caller: UserCaller, input: z.infer<typeof listUsersInput>) {
  const rows = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx
      .select()
      .from(users)
      .where(and(eq(users.tenantId, caller.tenantId), input.cursor ? lt(users.id, input.cursor) : undefined))
      .orderBy(desc(users.id))
      .limit(input.limit + 1),
  );
  return page(rows.map(userView), input.limit);
}

export const userRefInput = z.object({ userId: idOf("user") }).strict();
export const updateUserInput = z
  .object({
    userId: idOf("user"),
    status: z.enum(["active", "disabled"]).optional(),
    password: password.optional(),
  })
  .strict()
  .refine((v) => v.status !== undefined || v.password !== undefined, "give a status or a password");

/**
 * Disables or re-enables a user, or sets its password. Disabling it or setting its password signs it
 * out everywhere at once: its refresh tokens are revoked and its access tokens refused; disabling
 * it also revokes the API keys it created for other principals (they must not outlive its rights).
 */
export async function updateUser(deps: Deps, caller: UserCaller, input: z.infer<typeof updateUserInput>) {
  if (input.userId === caller.principalId && input.status === "disabled")
    throw new ValidationError("you cannot disable yourself");
  const passwordHash = input.password ? await hashPassword(input.password) : undefined;
  const now = deps.now();
  const signOut = input.status === "disabled" || passwordHash !== undefined;
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const [u] = await tx
      .update(users)
      .set({
        ...(input.status ? { status: input.status } : {}),
        ...(passwordHash ? { passwordHash } : {}),
        ...(signOut ? { sessionsValidAfter: now } : {}),
      })
      .where(eq(users.id, input.userId))
      .returning();
    if (!u) throw new NotFoundError("user", input.userId);
    if (signOut) await revokeSessions(tx, u.id, now);
    if (input.status === "disabled") await revokeKeysCreatedForOthers(tx, u.id, now);
    return u;
  });
  return userView(row);
}

async function revokeSessions(tx: Tx, principalId: string, now: Date): Promise<void> {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.principalId, principalId), isNull(refreshTokens.revokedAt)));
}

/** API keys a principal minted for other principals end with its rights. */
async function revokeKeysCreatedForOthers(tx: Tx, creatorId: string, now: Date): Promise<void> {
  await tx
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(
      and(eq(apiKeys.createdBy, creatorId), ne(apiKeys.principalId, creatorId), isNull(apiKeys.revokedAt)),
    );
}

/** Deletes a user with its API keys, sessions and policy attachments, in one transaction. */
export async function deleteUser(deps: Deps, caller: UserCaller, input: z.infer<typeof userRefInput>) {
  if (input.userId === caller.principalId) throw new ValidationError("you cannot delete yourself");
  await withTenant(deps.db, caller.tenantId, async (tx) => {
    const [u] = await tx.delete(users).where(eq(users.id, input.userId)).returning();
    if (!u) throw new NotFoundError("user", input.userId);
    await tx.delete(apiKeys).where(eq(apiKeys.principalId, u.id));
    await revokeKeysCreatedForOthers(tx, u.id, deps.now());
    await tx.delete(refreshTokens).where(eq(refreshTokens.principalId, u.id));
    await tx.delete(policyAttachments).where(eq(policyAttachments.principalId, u.id));
    await recordEvent(tx, {
      tenantId: caller.tenantId,
      clusterId: null,
      objectKind: "User",
      objectName: u.email,
      reason: "Deleted",
      message: `deleted by ${caller.principalId}`,
    });
  });
  return { id: input.userId, deleted: true };
}

export const serviceAccountReply = z.strictObject({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  status: z.enum(["active", "disabled"]),
  createdAt: timestamp,
});

const saView = (s: typeof serviceAccounts.$inferSelect): z.output<typeof serviceAccountReply> => ({
  id: s.id,
  name: s.name,
  description: s.description,
  status: s.status,
  createdAt: s.createdAt.toISOString(),
});

export const createServiceAccountInput = z
  .object({
    name: z.string().min(1).max(63).regex(DNS_LABEL, "must be a DNS label"),
    description: z.string().max(256).optional(),
  })
  .strict();

export async function createServiceAccount(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof createServiceAccountInput>,
) {
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const [existing] = await tx
      .select({ id: serviceAccounts.id })
      .from(serviceAccounts)
      .where(eq(serviceAccounts.name, input.name));
    if (existing) throw new ConflictError(`a service account named ${JSON.stringify(input.name)} exists`);
    const [s] = await tx
      .insert(serviceAccounts)
      .values({
        id: newId("serviceAccount"),
        tenantId: caller.tenantId,
        name: input.name,
        description: input.description ?? "",
      })
      .returning();
    if (!s) throw new Error("insert returned nothing");
    return s;
  });
  return saView(row);
}

export const listServiceAccountsInput = pageInput.extend({}).strict();

export async function listServiceAccounts(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof listServiceAccountsInput>,
) {
  const rows = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx
      .select()
      .from(serviceAccounts)
      .where(
        and(
          eq(serviceAccounts.tenantId, caller.tenantId),
          input.cursor ? lt(serviceAccounts.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(serviceAccounts.id))
      .limit(input.limit + 1),
  );
  return page(rows.map(saView), input.limit);
}
