import { ConflictError, newId } from "@berth/core";
import { policyAttachments, recordEvent, tenants, users, withSystem } from "@berth/db";
import { sql } from "drizzle-orm";
import { z } from "zod";
import { hashPassword } from "../auth/passwords";
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

export const signupReply = z.strictObject({
  tenant: z.strictObject({ id: z.string(), name: z.string() }),
  user: z.strictObject({ id: z.string(), email: z.string() }),
});

export async function signup(
  deps: Deps,
  input: z.infer<typeof signupInput>,
): Promise<z.output<typeof signupReply>> {
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
    // The tenant's first user administers it.
    await tx.insert(policyAttachments).values({
      id: newId("attachment"),
      tenantId: tenant.id,
      policyId: "AdministratorAccess",
      principalId: user.id,
    });
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
