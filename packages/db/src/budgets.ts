import { AMOUNT_DECIMALS, divRoundHalfUp, formatFixed, newId } from "@berth/core";
import { eq, sql } from "drizzle-orm";
import { type Db, type Tx, withSystem, withTenant } from "./client";
import { monthOf } from "./invoices";
import { type PricedRollupRow, pricedMonthRollups } from "./priced-rollups";
import { recordEvent } from "./records";
import { budgetAlerts, budgets, webhookDeliveries, webhookEndpoints } from "./schema";
import { hourOf } from "./usage";

/**
 * Budgets: a month's spend of a tenant, a cluster or a cost-allocation label value, against an
 * amount, with alerts at thresholds of the actual spend and of the forecast.
 *
 * - Actual: the month-to-date cost of the scope's hourly rollups, priced exactly as the month's
 *   invoice prices them (`pricedMonthRollups`), so a tenant budget's actual is the invoice draft's
 *   usage total and a cluster's is the sum of its lines.
 * - Forecast: the actual extrapolated linearly to the month's end over the closed hours it covers:
 *   `actual × month length ÷ (start of the current hour − start of the month)`, rounded half up;
 *   in a month's first hour, the actual itself.
 * - Each alert (budget × month × threshold × actual|forecast) is a row with that primary key,
 *   written with its event and its webhook deliveries in the tenant's one transaction: a rerun, a
 *   concurrent run or a crash anywhere fires nothing twice and loses nothing.
 */
export type BudgetRow = typeof budgets.$inferSelect;
export type BudgetScope =
  | { type: "tenant" }
  | { type: "cluster"; clusterId: string }
  | { type: "label"; key: string; value: string };
export type AlertKind = "actual" | "forecast";

export function scopeOf(b: BudgetRow): BudgetScope {
  if (b.scopeType === "cluster") return { type: "cluster", clusterId: b.scopeClusterId ?? "" };
  if (b.scopeType === "label")
    return { type: "label", key: b.scopeLabelKey ?? "", value: b.scopeLabelValue ?? "" };
  return { type: "tenant" };
}

function inScope(scope: BudgetScope, r: PricedRollupRow): boolean {
  if (scope.type === "cluster") return r.clusterId === scope.clusterId;
  if (scope.type === "label") return r.labels[scope.key] === scope.value;
  return true;
}

/** The forecast rule above. */
export function forecastOf(actualMicro: bigint, now: Date): bigint {
  const { start, end } = monthOf(now);
  const elapsed = BigInt(hourOf(now).getTime() - start.getTime());
  if (elapsed <= 0n) return actualMicro;
  return divRoundHalfUp(actualMicro * BigInt(end.getTime() - start.getTime()), elapsed);
}

export interface BudgetSpend {
  periodStart: Date;
  periodEnd: Date;
  /** The currency the month is priced in (the tenant's price book's). */
  currency: string;
  actualMicro: bigint;
  forecastMicro: bigint;
}

/** This month's actual and forecast spend of each budget, from one read of the month's rollups. */
export async function budgetSpends(
  tx: Tx,
  tenantId: string,
  rows: readonly BudgetRow[],
  now: Date,
): Promise<Map<string, BudgetSpend>> {
  const { start, end } = monthOf(now);
  const out = new Map<string, BudgetSpend>();
  if (rows.length === 0) return out;
  const priced = await pricedMonthRollups(tx, tenantId, start, { by: "month" });
  for (const b of rows) {
    const scope = scopeOf(b);
    const actualMicro = priced.rows.reduce((s, r) => (inScope(scope, r) ? s + r.micro : s), 0n);
    out.set(b.id, {
      periodStart: start,
      periodEnd: end,
      currency: priced.book.currency,
      actualMicro,
      forecastMicro: forecastOf(actualMicro, now),
    });
  }
  return out;
}

/** The alerts a budget's spend has reached: each threshold the actual or the forecast is at or above. */
export function reachedAlerts(
  b: BudgetRow,
  spend: BudgetSpend,
): { kind: AlertKind; threshold: number; spendMicro: bigint }[] {
  const out: { kind: AlertKind; threshold: number; spendMicro: bigint }[] = [];
  const kinds: [AlertKind, boolean, bigint][] = [
    ["actual", b.notifyActual, spend.actualMicro],
    ["forecast", b.notifyForecast, spend.forecastMicro],
  ];
  for (const [kind, on, micro] of kinds) {
    if (!on) continue;
    for (const t of b.thresholds)
      if (micro * 100n >= b.amountMicro * BigInt(t)) out.push({ kind, threshold: t, spendMicro: micro });
  }
  return out;
}

const money = (micro: bigint, currency: string) => `${formatFixed(micro, AMOUNT_DECIMALS)} ${currency}`;
export const BUDGET_EVENT_TYPE = "budget.threshold";

/** Fires the alerts one tenant's budgets have reached and not fired this month; one transaction. */
async function evaluateTenant(
  tx: Tx,
  tenantId: string,
  now: Date,
  crashpoint: (name: string) => void,
): Promise<{ tenantId: string; deliveryId: string }[]> {
  const rows = await tx.select().from(budgets).where(eq(budgets.tenantId, tenantId)).orderBy(budgets.id);
  const spends = await budgetSpends(tx, tenantId, rows, now);
  const endpoints = (
    await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId))
  ).filter((e) => e.events.includes(BUDGET_EVENT_TYPE));
  const deliveries: { tenantId: string; deliveryId: string }[] = [];
  for (const b of rows) {
    const spend = spends.get(b.id);
    // A budget in another currency than the month is priced in cannot be compared with it.
    if (!spend || spend.currency !== b.currency) continue;
    for (const a of reachedAlerts(b, spend)) {
      const id = newId("budgetAlert", now.getTime());
      const [fired] = await tx
        .insert(budgetAlerts)
        .values({
          id,
          tenantId,
          budgetId: b.id,
          periodStart: spend.periodStart,
          threshold: a.threshold,
          kind: a.kind,
          amountMicro: b.amountMicro,
          spendMicro: a.spendMicro,
          firedAt: now,
        })
        .onConflictDoNothing()
        .returning({ id: budgetAlerts.id });
      if (!fired) continue;
      crashpoint("budgets.after-alert");
      const scope = scopeOf(b);
      const percent = Number((a.spendMicro * 100n) / b.amountMicro);
      await recordEvent(tx, {
        tenantId,
        clusterId: scope.type === "cluster" ? scope.clusterId : null,
        objectKind: "Budget",
        objectName: b.name,
        objectUid: b.id,
        type: "Warning",
        reason: a.kind === "actual" ? "BudgetThresholdReached" : "BudgetForecastExceeded",
        message: `${a.kind === "actual" ? "actual" : "forecast"} spend of ${spend.periodStart.toISOString().slice(0, 7)} ${money(a.spendMicro, b.currency)} is ${percent}% of the budget ${money(b.amountMicro, b.currency)} (threshold ${a.threshold}%)`,
        source: "budgets",
      });
      const body = JSON.stringify({
        id,
        type: BUDGET_EVENT_TYPE,
        created: Math.floor(now.getTime() / 1000),
        data: {
          budget: {
            id: b.id,
            name: b.name,
            scope,
            amount: formatFixed(b.amountMicro, AMOUNT_DECIMALS),
            currency: b.currency,
          },
          period: spend.periodStart.toISOString().slice(0, 7),
          kind: a.kind,
          threshold: a.threshold,
          percent,
          actual: formatFixed(spend.actualMicro, AMOUNT_DECIMALS),
          forecast: formatFixed(spend.forecastMicro, AMOUNT_DECIMALS),
        },
      });
      for (const e of endpoints) {
        const deliveryId = newId("webhookDelivery", now.getTime());
        await tx.insert(webhookDeliveries).values({
          id: deliveryId,
          tenantId,
          endpointId: e.id,
          eventId: id,
          eventType: BUDGET_EVENT_TYPE,
          body,
        });
        deliveries.push({ tenantId, deliveryId });
      }
    }
  }
  crashpoint("budgets.before-commit");
  return deliveries;
}

/**
 * Evaluates every budget of every tenant that has one, a transaction per tenant. Returns the
 * webhook deliveries it created, for the caller to enqueue (one lost by a crash before it was
 * enqueued is found by `pendingDeliveries`), and the tenants whose evaluation failed: rolled back
 * whole, retried by the next run, and not holding the others back.
 */
export async function evaluateBudgets(
  db: Db,
  now: Date,
  opts: { crashpoint?: (name: string) => void } = {},
): Promise<{
  deliveries: { tenantId: string; deliveryId: string }[];
  failures: { tenantId: string; error: unknown }[];
}> {
  const tenants = await withSystem(db, (tx) =>
    tx.execute<{ tenant_id: string }>(sql`
      select distinct b.tenant_id from budgets b join tenants t on t.id = b.tenant_id
      where t.status = 'active' order by b.tenant_id`),
  );
  const deliveries: { tenantId: string; deliveryId: string }[] = [];
  const failures: { tenantId: string; error: unknown }[] = [];
  for (const { tenant_id: tenantId } of tenants) {
    try {
      deliveries.push(
        ...(await withTenant(db, tenantId, (tx) =>
          evaluateTenant(tx, tenantId, now, opts.crashpoint ?? (() => {})),
        )),
      );
    } catch (error) {
      failures.push({ tenantId, error });
    }
  }
  return { deliveries, failures };
}

/** Deliveries still pending (their job may be waiting, delayed for a retry, or lost before it was enqueued). */
export async function pendingDeliveries(
  db: Db,
  limit = 1_000,
): Promise<{ tenantId: string; deliveryId: string }[]> {
  const rows = await withSystem(db, (tx) =>
    tx
      .select({ tenantId: webhookDeliveries.tenantId, deliveryId: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.status, "pending"))
      .orderBy(webhookDeliveries.createdAt)
      .limit(limit),
  );
  return rows;
}
