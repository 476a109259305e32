import {
  AMOUNT_DECIMALS,
  divRoundHalfUp,
  formatFixed,
  idOf,
  METER_NAMES,
  METERS,
  type Meter,
  NotFoundError,
  QUANTITY_DECIMALS,
} from "@berth/core";
import {
  computeInvoice,
  draftIdOf,
  INVOICE_CLOSE_DELAY_MS,
  type InvoiceLine,
  invoiceLines,
  invoices,
  monthOf,
  type Tx,
  tenants,
  withTenant,
} from "@berth/db";
import { and, asc, desc, eq } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { currencyCode, decimal, timestamp } from "./replies";

export const listInvoicesInput = z.object({}).strict();
export const getInvoiceInput = z
  .object({
    /** `inv_…` of a finalised invoice, or `draft-YYYY-MM` of a month not finalised yet. */
    invoiceId: z.union([
      idOf("invoice"),
      z.string().regex(/^draft-\d{4}-(0[1-9]|1[0-2])$/, "inv_… or draft-YYYY-MM"),
    ]),
    /** `html`: a printable page (print it to PDF). */
    format: z.enum(["json", "csv", "html"]).default("json"),
  })
  .strict();

export const invoiceReply = z.strictObject({
  id: z.string().describe("`inv_…` of a finalised invoice, `draft-YYYY-MM` of a draft"),
  billedTo: z.strictObject({ tenantId: z.string(), name: z.string() }),
  number: z.number().int().nullable().describe("1, 2, 3 … in the order of finalisation; null for a draft"),
  status: z.enum(["draft", "final"]),
  periodStart: timestamp,
  periodEnd: timestamp,
  currency: currencyCode,
  total: decimal,
  finalizedAt: timestamp.nullable(),
  lines: z.array(
    z.strictObject({
      lineNo: z.number().int(),
      kind: z.enum(["usage", "adjustment"]),
      usagePeriod: z
        .string()
        .regex(/^\d{4}-\d{2}$/)
        .describe("the month of the usage, `YYYY-MM` (an adjustment's is an earlier one)"),
      clusterId: z.string(),
      meter: z.enum(METER_NAMES),
      quantity: decimal.describe("in the unit; an adjustment's may be negative"),
      unit: z.string(),
      unitPrice: z
        .union([decimal, z.enum(["graduated-tiered", "volume-tiered"]), z.literal("")])
        .describe("per unit; a tiered price names its mode; empty on an adjustment of usage now gone"),
      amount: decimal,
    }),
  ),
});
export type InvoiceView = z.output<typeof invoiceReply>;
/** The list shows invoices without their lines; a draft says whom it bills, a finalised one does not. */
export const invoiceSummaryReply = invoiceReply.omit({ lines: true, billedTo: true }).extend({
  billedTo: invoiceReply.shape.billedTo.optional().describe("drafts only"),
});

function lineView(l: InvoiceLine, i: number): InvoiceView["lines"][number] {
  const { unit, rawPerUnit } = METERS[l.meter];
  return {
    lineNo: i + 1,
    kind: l.kind,
    usagePeriod: l.usagePeriodStart.toISOString().slice(0, 7),
    clusterId: l.clusterId,
    meter: l.meter,
    quantity: formatFixed(divRoundHalfUp(l.raw * 1_000_000n, rawPerUnit), QUANTITY_DECIMALS),
    unit,
    unitPrice: l.unitPrice,
    amount: formatFixed(l.amountMicro, AMOUNT_DECIMALS),
  };
}

/**
 * The months whose invoice is still a draft: this one, and the last one until it is finalised
 * (an hour after it ends, or never when it had no usage).
 */
async function draftMonths(tx: Tx, tenantId: string, now: Date): Promise<Date[]> {
  const current = monthOf(now).start;
  const previous = monthOf(new Date(current.getTime() - 1)).start;
  const [finalised] = await tx
    .select({ id: invoices.id })
    .from(invoices)
    .where(and(eq(invoices.tenantId, tenantId), eq(invoices.periodStart, previous)));
  return finalised ? [current] : [current, previous];
}

async function billedTo(tx: Tx, tenantId: string): Promise<InvoiceView["billedTo"]> {
  const [t] = await tx.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, tenantId));
  return { tenantId, name: t?.name ?? "" };
}

async function draftView(tx: Tx, tenantId: string, start: Date): Promise<InvoiceView> {
  const { book, lines, totalMicro } = await computeInvoice(tx, tenantId, start);
  return {
    id: draftIdOf(start),
    billedTo: await billedTo(tx, tenantId),
    number: null,
    status: "draft",
    periodStart: start.toISOString(),
    periodEnd: monthOf(start).end.toISOString(),
    currency: book.currency,
    total: formatFixed(totalMicro, AMOUNT_DECIMALS),
    finalizedAt: null,
    lines: lines.map(lineView),
  };
}

async function finalView(tx: Tx, row: typeof invoices.$inferSelect): Promise<InvoiceView> {
  const lines = await tx
    .select()
    .from(invoiceLines)
    .where(eq(invoiceLines.invoiceId, row.id))
    .orderBy(asc(invoiceLines.lineNo));
  return {
    id: row.id,
    billedTo: await billedTo(tx, row.tenantId),
    number: row.number,
    status: "final",
    periodStart: row.periodStart.toISOString(),
    periodEnd: row.periodEnd.toISOString(),
    currency: row.currency,
    total: formatFixed(row.totalMicro, AMOUNT_DECIMALS),
    finalizedAt: row.finalizedAt.toISOString(),
    lines: lines.map((l, i) => lineView({ ...l, meter: l.meter as Meter }, i)),
  };
}

/** Drafts first (newest month first), then finalised invoices, newest first; without lines. */
export async function listInvoices(
  deps: Deps,
  caller: UserCaller,
): Promise<{ items: z.output<typeof invoiceSummaryReply>[] }> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const drafts = [];
    const [current, previous] = await draftMonths(tx, caller.tenantId, deps.now());
    if (current) drafts.push(await draftView(tx, caller.tenantId, current));
    // Last month's draft is listed while it has lines to finalise (an empty month gets no invoice).
    const last = previous ? await draftView(tx, caller.tenantId, previous) : null;
    if (
      last &&
      (last.lines.length > 0 || deps.now().getTime() < Date.parse(last.periodEnd) + INVOICE_CLOSE_DELAY_MS)
    )
      drafts.push(last);
    const rows = await tx
      .select()
      .from(invoices)
      .where(eq(invoices.tenantId, caller.tenantId))
      .orderBy(desc(invoices.number));
    const finals = rows.map((r) => ({
      id: r.id,
      number: r.number,
      status: "final" as const,
      periodStart: r.periodStart.toISOString(),
      periodEnd: r.periodEnd.toISOString(),
      currency: r.currency,
      total: formatFixed(r.totalMicro, AMOUNT_DECIMALS),
      finalizedAt: r.finalizedAt.toISOString(),
    }));
    return { items: [...drafts.map(({ lines: _, ...d }) => d), ...finals] };
  });
}

export async function getInvoice(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof getInvoiceInput>,
): Promise<InvoiceView> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    if (input.invoiceId.startsWith("draft-")) {
      const start = new Date(`${input.invoiceId.slice(6)}-01T00:00:00Z`);
      const months = await draftMonths(tx, caller.tenantId, deps.now());
      if (!months.some((m) => m.getTime() === start.getTime()))
        throw new NotFoundError("invoice", input.invoiceId);
      return draftView(tx, caller.tenantId, start);
    }
    const [row] = await tx
      .select()
      .from(invoices)
      .where(and(eq(invoices.tenantId, caller.tenantId), eq(invoices.id, input.invoiceId)));
    if (!row) throw new NotFoundError("invoice", input.invoiceId);
    return finalView(tx, row);
  });
}

const CSV_COLUMNS = [
  "lineNo",
  "kind",
  "usagePeriod",
  "clusterId",
  "meter",
  "quantity",
  "unit",
  "unitPrice",
  "amount",
] as const;

/** An invoice's lines as CSV, then its total. */
export function invoiceToCsv(inv: InvoiceView): string {
  const out = [[...CSV_COLUMNS, "currency"].join(",")];
  for (const l of inv.lines) out.push([...CSV_COLUMNS.map((c) => String(l[c])), inv.currency].join(","));
  out.push(["total", "", "", "", "", "", "", "", inv.total, inv.currency].join(","));
  return `${out.join("\n")}\n`;
}
