import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "@berth/core";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";

/**
 * A monthly budget of a tenant: its whole spend, one cluster's, or one cost-allocation label
 * value's. Amounts are integer micro-units of the currency, as invoices hold money.
 */
export const budgets = pgTable(
  "budgets",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    name: text().notNull(),
    amountMicro: bigint({ mode: "bigint" }).notNull(),
    currency: text().notNull(),
    scopeType: text({ enum: ["tenant", "cluster", "label"] }).notNull(),
    scopeClusterId: text(),
    scopeLabelKey: text(),
    scopeLabelValue: text(),
    /** Percentages of the amount, ascending (default 50, 80, 100). */
    thresholds: jsonb().$type<number[]>().notNull(),
    notifyActual: boolean().notNull(),
    notifyForecast: boolean().notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("budgets_tenant_name_key").on(t.tenantId, t.name)],
);

/**
 * An alert that fired: at most one per budget × month × threshold × kind (the primary key), written
 * in the same transaction as its event and its webhook deliveries.
 */
export const budgetAlerts = pgTable(
  "budget_alerts",
  {
    /** `bal_…`: the id of the webhook event it sends. */
    id: text().notNull().unique(),
    tenantId: tenantRef(),
    budgetId: text()
      .notNull()
      .references(() => budgets.id, { onDelete: "cascade" }),
    periodStart: timestamp({ withTimezone: true }).notNull(),
    threshold: integer().notNull(),
    kind: text({ enum: ["actual", "forecast"] }).notNull(),
    /** The budget's amount, and the actual or forecast spend that crossed the threshold. */
    amountMicro: bigint({ mode: "bigint" }).notNull(),
    spendMicro: bigint({ mode: "bigint" }).notNull(),
    firedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.budgetId, t.periodStart, t.threshold, t.kind] }),
    index("budget_alerts_tenant_idx").on(t.tenantId),
  ],
);

/** Where a tenant's webhook events go; the signing secret is sealed (envelope encryption). */
export const webhookEndpoints = pgTable("webhook_endpoints", {
  id: text().primaryKey(),
  tenantId: tenantRef(),
  url: text().notNull(),
  events: jsonb().$type<WebhookEventType[]>().notNull(),
  /** `encryptSecret(master, secret, <endpoint id>)`: never the secret itself. */
  secretSealed: text().notNull(),
  createdAt: createdAt(),
});

/**
 * One event sent to one endpoint: its exact body (each attempt signs these bytes), and the outcome
 * of its attempts. `pending` until an attempt is answered 2xx (`succeeded`) or the last has failed.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    endpointId: text()
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: text().notNull(),
    eventType: text({ enum: WEBHOOK_EVENT_TYPES }).notNull(),
    body: text().notNull(),
    status: text({ enum: ["pending", "succeeded", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer().notNull().default(0),
    lastStatusCode: integer(),
    lastError: text(),
    lastDurationMs: integer(),
    lastAttemptAt: timestamp({ withTimezone: true }),
    completedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event_endpoint_key").on(t.eventId, t.endpointId),
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.id),
    index("webhook_deliveries_pending_idx").on(t.status, t.createdAt),
  ],
);
