import { ConflictError, newId, UnauthenticatedError } from "@berth/core";
import { recordEvent, tenants, users, withSystem } from "@berth/db";
import { sql } from "drizzle-orm";
import { z } from "zod";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "../auth/passwords";
import type { Deps } from "../deps";

export const signupInput = z
  .object({
    tenantName: z
      .string()
      .min(3)
      .max(63)
      .regex(
        /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
        "lower-case letters, digits and '-', starting and ending alphanumeric",
      ),
    email: z.email().max(254),
    password: z.string().min(12, "at least 12 characters").max(256),
  })
  .strict();

export async function signup(deps: Deps, input: z.infer<typeof signupInput>) {
  const passwordHash = await hashPassword(input.password);
  const tenant = { id: newId("tenant"), name: input.tenantName };
  const user = { id: newId("user"), email: input.email.toLowerCase() };
  // Sign-up creates a tenant, so it cannot run as one: the tenant does not exist yet.
  await withSystem(deps.db, async (tx) => {
    const [nameTaken] = await tx
      .select({ id: tenants.id })
      .from(tenants)
      .where(sql`${tenants.name} = ${tenant.name}`);
    if (nameTaken)
      throw new ConflictError(`the tenant name ${JSON.stringify(tenant.name)} is taken`, "TENANT_NAME_TAKEN");
    const [emailTaken] = await tx
      .select({ id: users.id })
      .from(users)
      .where(sql`lower(${users.email}) = ${user.email}`);
    if (emailTaken)
      throw new ConflictError("an account with this email exists; sign in instead", "EMAIL_TAKEN");
    await tx.insert(tenants).values(tenant);
    await tx.insert(users).values({ ...user, tenantId: tenant.id, passwordHash });
    await recordEvent(tx, {
      tenantId: tenant.id,
      clusterId: null,
      objectKind: "Tenant",
      objectName: tenant.name,
      reason: "SignedUp",
      message: `tenant created by ${user.email}`,
    });
  });
  return { tenant, user };
}

export const tokenInput = z
  .object({ email: z.email().max(254), password: z.string().min(1).max(256) })
  .strict();

export async function issueToken(deps: Deps, input: z.infer<typeof tokenInput>) {
  // Logging in is by email, before any tenant is known.
  const [user] = await withSystem(deps.db, (tx) =>
    tx
      .select({
        id: users.id,
        tenantId: users.tenantId,
        passwordHash: users.passwordHash,
        status: users.status,
      })
      .from(users)
      .where(sql`lower(${users.email}) = ${input.email.toLowerCase()}`),
  );
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || user.status !== "active") throw new UnauthenticatedError("wrong email or password");
  const { accessToken, expiresIn } = await deps.tokens.issue({ tenantId: user.tenantId, userId: user.id });
  return { accessToken, tokenType: "Bearer" as const, expiresIn };
}
