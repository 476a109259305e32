import { timestamp } from "drizzle-orm/pg-core";

/** When a row was created. A module of its own, without imports of tables, so every table can use it. */
export const createdAt = () => timestamp({ withTimezone: true }).notNull().defaultNow();
