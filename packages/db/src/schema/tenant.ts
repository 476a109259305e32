import { pgTable, text } from "drizzle-orm/pg-core";
import { createdAt } from "./timestamps";

export const tenants = pgTable("tenants", {
  id: text().primaryKey(),
  name: text().notNull().unique(),
  createdAt: createdAt(),
});

/** The owning tenant of a row: row-level security keys on it. */
export function tenantRef() {
  return text()
    .notNull()
    .references(() => tenants.id);
}
