import { jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { createdAt } from "./timestamps";

export const TENANT_STATUSES = ["active", "closed"] as const;

export const tenants = pgTable("tenants", {
  id: text().primaryKey(),
  name: text().notNull().unique(),
  /** `closed`: its principals are locked out and its clusters deleted; its data is erased at `eraseAfter`. */
  status: text({ enum: TENANT_STATUSES }).notNull().default("active"),
  closedAt: timestamp({ withTimezone: true }),
  eraseAfter: timestamp({ withTimezone: true }),
  /** Image references its pods may use (prefixes); null: the platform's default list. */
  allowedImagePrefixes: jsonb().$type<string[]>(),
  /** Pod label keys its usage is rolled up by, for cost allocation (at most 5). */
  costAllocationLabelKeys: jsonb().$type<string[]>().notNull().default([]),
  createdAt: createdAt(),
});

/** The owning tenant of a row: row-level security keys on it. */
export function tenantRef() {
  return text()
    .notNull()
    .references(() => tenants.id);
}
