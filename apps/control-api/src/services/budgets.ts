import {
  AMOUNT_DECIMALS,
  formatFixed,
  idOf,
  NotFoundError,
  newId,
  QuotaExceededError,
  ValidationError,
} from "@berth/core";
import {
  type BudgetRow,
  budgetAlerts,
  budgetSpends,
  budgets,
  clusters,
  events,
  monthOf,
  priceBookOf,
  scopeOf,
  type Tx,
  tenants,
  withTenant,
} from "@berth/db";
import { labelKey } from "@berth/protocol";
import { and, asc, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId } from "./clusters";
import { renderEvent } from "./events";
import { MAX_PAGE_SIZE } from "./paging";
import { currencyCode, decimal, timestamp } from "./replies";

/** Budgets (README, "Budgets and webhooks"): a monthly amount per tenant, cluster or label value. */
export const MAX_BUDGETS_PER_TENANT = 20;
export const DEFAULT_THRESHOLDS = [50, 80, 100];

export const budgetId = idOf("budget");
const name = z
  .string()
  .min(1)
  .max(63)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    "lower-case letters, digits and '-', starting and ending alphanumeric",
  );
/** Money as the invoices show it: a decimal of the currency, up to 6 places (micro-units). */
const amount = z
  .string()
  .regex(/^\d{1,12}(\.\d{1,6})?$/, "a decimal amount of the currency of up to 6 places, e.g. 250 or 99.50")
  .refine((s) => parseMicro(s) > 0n, "must be more than 0");
const scope = z.discriminatedUnion("type", [
  z.object({ type: z.literal("tenant") }).strict(),
  z.object({ type: z.literal("cluster"), clusterId }).strict(),
  z.object({ type: z.literal("label"), key: labelKey, value: z.string().min(1).max(63) }).strict(),
]);
const thresholds = z
  .array(z.number().int().min(1).max(1000))
  .min(1)
  .max(10)
  .refine((t) => new Set(t).size === t.length, "thresholds must differ")
  .transform((t) => [...t].sort((a, b) => a - b));
const notify = z.object({ actual: z.boolean().default(true), forecast: z.boolean().default(true) }).strict();

export const createBudgetInput = z
  .object({
    name,
    amount,
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "an ISO 4217 code, e.g. USD")
      .optional(),
    scope,
    thresholds: thresholds.default(DEFAULT_THRESHOLDS),
    notify: notify.default({ actual: true, forecast: true }),
  })
  .strict();
export const budgetRefInput = z.object({ budgetId }).strict();
export const listBudgetsInput = z.object({}).strict();
export const updateBudgetInput = z
  .object({
    budgetId,
    name: name.optional(),
    amount: amount.optional(),
    thresholds: thresholds.optional(),
    notify: notify.optional(),
  })
  .strict();

function parseMicro(s: string): bigint {
  const [whole = "0", frac = ""] = s.split(".");
  return BigInt(whole) * 10n ** BigInt(AMOUNT_DECIMALS) + BigInt(frac.padEnd(AMOUNT_DECIMALS, "0"));
}
const invalid = (path: string, message: string) =>
  new ValidationError(`${path}: ${message}`, [{ path, message }]);

export const budgetReply = z.strictObject({
  id: z.string(),
  name: z.string(),
  amount: decimal.describe("a month's budget, in the currency"),
  currency: currencyCode,
  scope,
  thresholds: z.array(z.number().int()).describe("percentages of the amount, ascending"),
  notify: z.strictObject({ actual: z.boolean(), forecast: z.boolean() }),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const budgetDetailReply = budgetReply.extend({
  period: z
    .strictObject({
      start: timestamp,
      end: timestamp,
      actual: decimal,
      forecast: decimal,
      actualPercent: z.number().describe("of the amount, to two decimals"),
      forecastPercent: z.number(),
      currency: currencyCode,
    })
    .describe("this month's spend in the budget's scope"),
  alerts: z
    .array(
      z.strictObject({
        id: z.string(),
        kind: z.enum(["actual", "forecast"]),
        threshold: z.number().int(),
        spend: decimal.describe("the spend that crossed the threshold"),
        firedAt: timestamp,
      }),
    )
    .describe("the alerts that fired this month"),
});
type BudgetView = z.output<typeof budgetReply>;

function view(b: BudgetRow): BudgetView {
  return {
    id: b.id,
    name: b.name,
    amount: formatFixed(b.amountMicro, AMOUNT_DECIMALS),
    currency: b.currency,
    scope: scopeOf(b),
    thresholds: b.thresholds,
    notify: { actual: b.notifyActual, forecast: b.notifyForecast },
    createdAt: b.createdAt.toISOString(),
    updatedAt: b.updatedAt.toISOString(),
  };
}

async function loadBudget(tx: Tx, tenantId: string, id: string): Promise<BudgetRow> {
  const [b] = await tx
    .select()
    .from(budgets)
    .where(and(eq(budgets.tenantId, tenantId), eq(budgets.id, id)));
  if (!b) throw new NotFoundError("budget", id);
  return b;
}

/** The scope must name something the rollups can tell apart: a cluster of the tenant, a cost-allocation label key. */
async function checkScope(tx: Tx, tenantId: string, s: z.infer<typeof scope>): Promise<void> {
  if (s.type === "cluster") {
    const [c] = await tx
      .select({ id: clusters.id })
      .from(clusters)
      .where(and(eq(clusters.tenantId, tenantId), eq(clusters.id, s.clusterId)));
    // Another tenant's cluster is no cluster at all here, as everywhere (404).
    if (!c) throw new NotFoundError("cluster", s.clusterId);
  }
  if (s.type === "label") {
    const [t] = await tx
      .select({ keys: tenants.costAllocationLabelKeys })
      .from(tenants)
      .where(eq(tenants.id, tenantId));
    if (!t?.keys.includes(s.key))
      throw invalid(
        "scope.key",
        `${JSON.stringify(s.key)} is not one of the tenant's costAllocationLabelKeys (PATCH /v1/tenant)`,
      );
  }
}

const sqlLock = (tenantId: string) =>
  sql`select pg_advisory_xact_lock(hashtext('berth:budgets:' || ${tenantId}))`;

export async function createBudget(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof createBudgetInput>,
): Promise<BudgetView> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    // Counted under a lock of the tenant's budgets, so two creations at once cannot pass the limit.
    await tx.execute(sqlLock(caller.tenantId));
    const existing = await tx
      .select({ id: budgets.id, name: budgets.name })
      .from(budgets)
      .where(eq(budgets.tenantId, caller.tenantId));
    if (existing.length >= MAX_BUDGETS_PER_TENANT)
      throw new QuotaExceededError(`a tenant may have at most ${MAX_BUDGETS_PER_TENANT} budgets`);
    if (existing.some((b) => b.name === input.name))
      throw invalid("name", `a budget named ${input.name} exists`);
    const book = await priceBookOf(tx, caller.tenantId);
    if (input.currency && input.currency !== book.currency)
      throw invalid("currency", `the tenant is billed in ${book.currency}`);
    await checkScope(tx, caller.tenantId, input.scope);
    const [row] = await tx
      .insert(budgets)
      .values({
        id: newId("budget"),
        tenantId: caller.tenantId,
        name: input.name,
        amountMicro: parseMicro(input.amount),
        currency: book.currency,
        scopeType: input.scope.type,
        scopeClusterId: input.scope.type === "cluster" ? input.scope.clusterId : null,
        scopeLabelKey: input.scope.type === "label" ? input.scope.key : null,
        scopeLabelValue: input.scope.type === "label" ? input.scope.value : null,
        thresholds: input.thresholds,
        notifyActual: input.notify.actual,
        notifyForecast: input.notify.forecast,
      })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    return view(row);
  });
}

export async function listBudgets(deps: Deps, caller: UserCaller): Promise<{ items: BudgetView[] }> {
  const rows = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx.select().from(budgets).where(eq(budgets.tenantId, caller.tenantId)).orderBy(asc(budgets.name)),
  );
  return { items: rows.map(view) };
}

/** A budget with this month's actual and forecast spend and the alerts that fired this month. */
export async function describeBudget(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof budgetRefInput>,
): Promise<z.output<typeof budgetDetailReply>> {
  const now = deps.now();
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const b = await loadBudget(tx, caller.tenantId, input.budgetId);
    const spend = (await budgetSpends(tx, caller.tenantId, [b], now)).get(b.id);
    const { start, end } = monthOf(now);
    const alerts = await tx
      .select()
      .from(budgetAlerts)
      .where(and(eq(budgetAlerts.budgetId, b.id), eq(budgetAlerts.periodStart, start)))
      .orderBy(asc(budgetAlerts.firedAt), asc(budgetAlerts.kind), asc(budgetAlerts.threshold));
    const actual = spend?.actualMicro ?? 0n;
    const forecast = spend?.forecastMicro ?? 0n;
    const pct = (m: bigint) => Number((m * 10_000n) / b.amountMicro) / 100;
    return {
      ...view(b),
      period: {
        start: start.toISOString(),
        end: end.toISOString(),
        actual: formatFixed(actual, AMOUNT_DECIMALS),
        forecast: formatFixed(forecast, AMOUNT_DECIMALS),
        actualPercent: pct(actual),
        forecastPercent: pct(forecast),
        currency: spend?.currency ?? b.currency,
      },
      alerts: alerts.map((a) => ({
        id: a.id,
        kind: a.kind,
        threshold: a.threshold,
        spend: formatFixed(a.spendMicro, AMOUNT_DECIMALS),
        firedAt: a.firedAt.toISOString(),
      })),
    };
  });
}

export async function updateBudget(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof updateBudgetInput>,
): Promise<BudgetView> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const b = await loadBudget(tx, caller.tenantId, input.budgetId);
    if (input.name && input.name !== b.name) {
      const [taken] = await tx
        .select({ id: budgets.id })
        .from(budgets)
        .where(and(eq(budgets.tenantId, caller.tenantId), eq(budgets.name, input.name)));
      if (taken) throw invalid("name", `a budget named ${input.name} exists`);
    }
    const [row] = await tx
      .update(budgets)
      .set({
        ...(input.name ? { name: input.name } : {}),
        ...(input.amount ? { amountMicro: parseMicro(input.amount) } : {}),
        ...(input.thresholds ? { thresholds: input.thresholds } : {}),
        ...(input.notify ? { notifyActual: input.notify.actual, notifyForecast: input.notify.forecast } : {}),
        updatedAt: deps.now(),
      })
      .where(and(eq(budgets.tenantId, caller.tenantId), eq(budgets.id, b.id)))
      .returning();
    if (!row) throw new NotFoundError("budget", input.budgetId);
    return view(row);
  });
}

/** Deletes a budget and its alerts (one statement: the alerts cascade). Its events stay. */
export async function deleteBudget(deps: Deps, caller: UserCaller, input: z.infer<typeof budgetRefInput>) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const [gone] = await tx
      .delete(budgets)
      .where(and(eq(budgets.tenantId, caller.tenantId), eq(budgets.id, input.budgetId)))
      .returning({ id: budgets.id });
    if (!gone) throw new NotFoundError("budget", input.budgetId);
    return { id: gone.id, deleted: true };
  });
}

/** The budget's alert events (`BudgetThresholdReached`, `BudgetForecastExceeded`), newest first. */
export async function listBudgetEvents(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof budgetRefInput>,
) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadBudget(tx, caller.tenantId, input.budgetId);
    const rows = await tx
      .select()
      .from(events)
      .where(
        and(
          eq(events.tenantId, caller.tenantId),
          eq(events.objectKind, "Budget"),
          eq(events.objectUid, input.budgetId),
        ),
      )
      .orderBy(desc(events.id))
      .limit(MAX_PAGE_SIZE);
    return { items: rows.map(renderEvent) };
  });
}
