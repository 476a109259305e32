import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";

export const users = pgTable(
  "users",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    email: text().notNull(),
    passwordHash: text().notNull(),
    status: text({ enum: ["active", "disabled"] })
      .notNull()
      .default("active"),
    /** Access and refresh tokens issued before this instant are refused (password change, sign-out everywhere). */
    sessionsValidAfter: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("users_email_key").on(sql`lower(${t.email})`),
    index("users_tenant_idx").on(t.tenantId),
  ],
);

/** Platform signing keys for access tokens (not tenant-scoped); private halves encrypted at rest. */
export const signingKeys = pgTable("signing_keys", {
  kid: text().primaryKey(),
  alg: text().notNull(),
  publicJwk: text().notNull(),
  privateKeyEnc: text().notNull(),
  /** active: signs and verifies; verifying: verifies tokens it signed until they expire; retired: neither. */
  status: text({ enum: ["active", "verifying", "retired"] })
    .notNull()
    .default("active"),
  createdAt: createdAt(),
  rotatedAt: timestamp({ withTimezone: true }),
});
