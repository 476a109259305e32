import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";

/** Non-human principals of a tenant (CI systems, operators); they authenticate with API keys only. */
export const serviceAccounts = pgTable(
  "service_accounts",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    name: text().notNull(),
    description: text().notNull().default(""),
    status: text({ enum: ["active", "disabled"] })
      .notNull()
      .default("active"),
    /** Access tokens issued before this instant are refused (its policies or keys changed). */
    sessionsValidAfter: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("service_accounts_tenant_name_key").on(t.tenantId, t.name)],
);

/** API keys: `brk_<id>_<secret>`; only a hash of the secret is kept. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    principalId: text().notNull(),
    name: text().notNull().default(""),
    secretHash: text().notNull(),
    expiresAt: timestamp({ withTimezone: true }),
    revokedAt: timestamp({ withTimezone: true }),
    lastUsedAt: timestamp({ withTimezone: true }),
    createdBy: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("api_keys_principal_idx").on(t.principalId)],
);

export const policies = pgTable(
  "policies",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    name: text().notNull(),
    description: text().notNull().default(""),
    document: jsonb().$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("policies_tenant_name_key").on(t.tenantId, t.name)],
);

/** A policy (the tenant's own `pol_…`, or a managed one by name) attached to a user or service account. */
export const policyAttachments = pgTable(
  "policy_attachments",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    policyId: text().notNull(),
    principalId: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("policy_attachments_key").on(t.policyId, t.principalId),
    index("policy_attachments_principal_idx").on(t.principalId),
  ],
);

/**
 * Refresh tokens rotate on every use; all tokens descended from one login share a family. Using a
 * token that was already used revokes the whole family (it has leaked).
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    principalId: text().notNull(),
    familyId: text().notNull(),
    tokenHash: text().notNull().unique(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    usedAt: timestamp({ withTimezone: true }),
    revokedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index("refresh_tokens_family_idx").on(t.familyId)],
);

/** Append-only: the database refuses updates and deletes (see the migration's trigger). */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: text().primaryKey(),
    /** Null for failures that could not be tied to a tenant (e.g. a malformed token). */
    tenantId: text(),
    time: timestamp({ withTimezone: true }).notNull().defaultNow(),
    principalId: text(),
    principalType: text(),
    action: text().notNull(),
    resource: text().notNull(),
    result: text({ enum: ["success", "denied", "failure"] }).notNull(),
    status: text().notNull(),
    errorCode: text(),
    requestId: text().notNull(),
    sourceIp: text().notNull(),
    userAgent: text().notNull().default(""),
    /** What else the call's operation records (an exec's command); never output, never secrets. */
    details: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [
    index("audit_events_tenant_time_idx").on(t.tenantId, sql`${t.time} desc`),
    index("audit_events_tenant_principal_idx").on(t.tenantId, t.principalId),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
