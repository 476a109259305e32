import type { PriceBookDocument } from "@berth/core";
import { sql } from "drizzle-orm";
import {
  bigint,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { tenantRef, tenants } from "./tenant";
import { createdAt } from "./timestamps";

/**
 * Usage events: the usage of one subject on one meter in one hour, as raw units (ms × rate). The id
 * is deterministic (derived from what the event measures), so the same event ingested twice is one
 * row. No foreign keys: ingestion is bulk and checks nothing per row beyond the id (tenant erasure
 * deletes these rows explicitly).
 */
export const usageEvents = pgTable(
  "usage_events",
  {
    id: text().primaryKey(),
    tenantId: text().notNull(),
    clusterId: text().notNull(),
    /** The pod's namespace; "" for usage outside namespaces (clusters, nodes, machines). */
    namespace: text().notNull().default(""),
    meter: text().notNull(),
    subjectId: text().notNull(),
    /** The start of the UTC hour the usage falls in. */
    hour: timestamp({ withTimezone: true }).notNull(),
    raw: bigint({ mode: "bigint" }).notNull(),
    labels: jsonb().$type<Record<string, string>>().notNull().default({}),
    receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("usage_events_tenant_hour_idx").on(t.tenantId, t.hour)],
);

/** Hours of a tenant whose rollup is stale: ingestion marks them, the rollup clears them. */
export const usageDirtyHours = pgTable(
  "usage_dirty_hours",
  {
    tenantId: text().notNull(),
    hour: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.hour] })],
);

/**
 * Hourly rollups by tenant × hour × cluster × namespace × meter × the tenant's cost-allocation
 * labels (`labelsKey` is their canonical JSON). Recomputed from the events as a whole hour at a time.
 */
export const usageHourly = pgTable(
  "usage_hourly",
  {
    tenantId: text().notNull(),
    hour: timestamp({ withTimezone: true }).notNull(),
    clusterId: text().notNull(),
    namespace: text().notNull(),
    meter: text().notNull(),
    labelsKey: text().notNull(),
    labels: jsonb().$type<Record<string, string>>().notNull(),
    raw: numeric({ precision: 38, scale: 0, mode: "bigint" }).notNull(),
    events: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.hour, t.clusterId, t.namespace, t.meter, t.labelsKey] })],
);

/** Platform bookkeeping of the metering jobs (not tenant-scoped), e.g. how far events were derived. */
export const usageWatermarks = pgTable("usage_watermarks", {
  name: text().primaryKey(),
  at: timestamp({ withTimezone: true }).notNull(),
});

/** The default plan (tenant null) and per-tenant overrides; written only by platform admins. */
export const priceBooks = pgTable(
  "price_books",
  {
    id: text().primaryKey(),
    tenantId: text().references(() => tenants.id),
    document: jsonb().$type<PriceBookDocument>().notNull(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("price_books_tenant_key").on(sql`coalesce(${t.tenantId}, '')`)],
);

export const invoices = pgTable(
  "invoices",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    /** 1, 2, 3 … per tenant, in the order of finalisation. */
    number: integer().notNull(),
    periodStart: timestamp({ withTimezone: true }).notNull(),
    periodEnd: timestamp({ withTimezone: true }).notNull(),
    currency: text().notNull(),
    totalMicro: bigint({ mode: "bigint" }).notNull(),
    /** The effective price book the invoice was priced with (its adjustments reprice with it too). */
    priceBook: jsonb().$type<PriceBookDocument>().notNull(),
    finalizedAt: timestamp({ withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("invoices_number_key").on(t.tenantId, t.number),
    uniqueIndex("invoices_period_key").on(t.tenantId, t.periodStart),
  ],
);

/** An invoice's lines: usage of its period per cluster × meter, then adjustments of earlier periods. */
export const invoiceLines = pgTable(
  "invoice_lines",
  {
    invoiceId: text()
      .notNull()
      .references(() => invoices.id),
    lineNo: integer().notNull(),
    tenantId: tenantRef(),
    kind: text({ enum: ["usage", "adjustment"] }).notNull(),
    /** The month the usage belongs to (an adjustment's is an earlier invoice's period). */
    usagePeriodStart: timestamp({ withTimezone: true }).notNull(),
    clusterId: text().notNull(),
    meter: text().notNull(),
    raw: numeric({ precision: 38, scale: 0, mode: "bigint" }).notNull(),
    unitPrice: text().notNull(),
    amountMicro: bigint({ mode: "bigint" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.lineNo] }), index("invoice_lines_tenant_idx").on(t.tenantId)],
);
