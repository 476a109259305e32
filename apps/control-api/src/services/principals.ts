import { NotFoundError } from "@berth/core";
import { serviceAccounts, type Tx, users } from "@berth/db";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { PrincipalType } from "../auth/access-tokens";

/** A user (`usr_…`) or a service account (`sa_…`). */
export const principalIdSchema = z
  .string()
  .regex(/^(usr|sa)_[0-9a-z]{26}$/, "must be a user (usr_…) or service account (sa_…) id");

export interface Principal {
  id: string;
  tenantId: string;
  type: PrincipalType;
  name: string;
  status: "active" | "disabled";
  /** Tokens issued before this are refused. */
  sessionsValidAfter: Date | null;
}

export function principalTypeOf(id: string): PrincipalType | null {
  if (id.startsWith("usr_")) return "user";
  if (id.startsWith("sa_")) return "serviceAccount";
  return null;
}

/** A user or service account of the transaction's tenant, or null. */
export async function findPrincipal(tx: Tx, id: string): Promise<Principal | null> {
  const type = principalTypeOf(id);
  if (type === "user") {
    const [u] = await tx.select().from(users).where(eq(users.id, id));
    return u
      ? {
          id: u.id,
          tenantId: u.tenantId,
          type,
          name: u.email,
          status: u.status,
          sessionsValidAfter: u.sessionsValidAfter,
        }
      : null;
  }
  if (type === "serviceAccount") {
    const [s] = await tx.select().from(serviceAccounts).where(eq(serviceAccounts.id, id));
    return s
      ? {
          id: s.id,
          tenantId: s.tenantId,
          type,
          name: s.name,
          status: s.status,
          sessionsValidAfter: s.sessionsValidAfter,
        }
      : null;
  }
  return null;
}

export async function loadPrincipal(tx: Tx, id: string): Promise<Principal> {
  const p = await findPrincipal(tx, id);
  if (!p) throw new NotFoundError("principal", id);
  return p;
}
