import {
  DEFAULT_PRICE_BOOK_DOCUMENT,
  effectiveBook,
  METER_NAMES,
  type Meter,
  newId,
  type PriceBookDocument,
  priceMonth,
} from "@berth/core";
import { sql } from "drizzle-orm";
import { type Db, type Tx, withSystem } from "./client";
import { HOUR_MS } from "./usage";

/**
 * Invoices: one per tenant and calendar month (UTC). While a month runs, and until it is
 * finalised, its invoice is a draft computed on demand; an hour after the month ends (its last
 * hour rolled up) the finalisation job writes it once, numbered 1, 2, 3 … per tenant, and the
 * database refuses any later change. Lines: the month's usage per cluster × meter, priced by the
 * tenant's effective price book (kept on the invoice), then adjustments: for each earlier
 * invoiced month whose usage has changed since (late events), the difference between that month
 * priced again with its invoice's book and everything invoiced for it so far. So, over all
 * invoices, each month is billed exactly what its final usage costs.
 */
export interface InvoiceLine {
  kind: "usage" | "adjustment";
  usagePeriodStart: Date;
  clusterId: string;
  meter: Meter;
  raw: bigint;
  unitPrice: string;
  amountMicro: bigint;
}
export interface Invoice {
  id: string;
  number: number | null;
  status: "draft" | "final";
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  totalMicro: bigint;
  finalizedAt: Date | null;
  lines: InvoiceLine[];
}

/** How long after its month ends an invoice is finalised. */
export const INVOICE_CLOSE_DELAY_MS = HOUR_MS;
/** Months back whose usage late events can still change (35 days, so at most two). */
const ADJUSTABLE_MONTHS = 2;

export function monthOf(at: Date): { start: Date; end: Date } {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  return { start, end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)) };
}
const addMonths = (d: Date, n: number) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
export const draftIdOf = (periodStart: Date): string => `draft-${periodStart.toISOString().slice(0, 7)}`;

/** The tenant's effective price book: its override over the default plan (built-in unless stored). */
export async function priceBookOf(tx: Tx, tenantId: string): Promise<PriceBookDocument> {
  const rows = await tx.execute<{ tenant_id: string | null; document: PriceBookDocument }>(
    sql`select tenant_id, document from price_books where tenant_id is null or tenant_id = ${tenantId}`,
  );
  const base = rows.find((r) => r.tenant_id === null)?.document ?? DEFAULT_PRICE_BOOK_DOCUMENT;
  return effectiveBook(base, rows.find((r) => r.tenant_id === tenantId)?.document ?? null);
}

const isMeter = (m: string): m is Meter => (METER_NAMES as string[]).includes(m);

/** A month's usage of a tenant per cluster × meter, from the hourly rollups. */
export async function monthCells(tx: Tx, tenantId: string, start: Date, end: Date) {
  const rows = await tx.execute<{ cluster_id: string; meter: string; raw: string }>(sql`
    select cluster_id, meter, sum(raw)::text as raw from usage_hourly
    where tenant_id = ${tenantId} and hour >= ${start.toISOString()}::timestamptz and hour < ${end.toISOString()}::timestamptz
    group by cluster_id, meter order by cluster_id, meter`);
  return rows.flatMap((r) =>
    isMeter(r.meter) ? [{ clusterId: r.cluster_id, meter: r.meter, raw: BigInt(r.raw) }] : [],
  );
}

async function adjustments(tx: Tx, tenantId: string, periodStart: Date): Promise<InvoiceLine[]> {
  const billed = await tx.execute<{
    usage_period_start: string;
    cluster_id: string;
    meter: string;
    raw: string;
    amount: string;
  }>(sql`
    select l.usage_period_start::text, l.cluster_id, l.meter, sum(l.raw)::text as raw, sum(l.amount_micro)::text as amount
    from invoice_lines l
    where l.tenant_id = ${tenantId} and l.usage_period_start < ${periodStart.toISOString()}::timestamptz
      and l.usage_period_start >= ${addMonths(periodStart, -ADJUSTABLE_MONTHS).toISOString()}::timestamptz
    group by 1, 2, 3`);
  const periods = [...new Set(billed.map((b) => new Date(b.usage_period_start).getTime()))].sort();
  const out: InvoiceLine[] = [];
  for (const p of periods) {
    const start = new Date(p);
    const [inv] = await tx.execute<{ book: PriceBookDocument }>(
      sql`select price_book as book from invoices where tenant_id = ${tenantId} and period_start = ${start.toISOString()}::timestamptz`,
    );
    const repriced = priceMonth(
      inv?.book ?? DEFAULT_PRICE_BOOK_DOCUMENT,
      await monthCells(tx, tenantId, start, addMonths(start, 1)),
    );
    const was = new Map(
      billed
        .filter((b) => new Date(b.usage_period_start).getTime() === p)
        .map((b) => [`${b.cluster_id}|${b.meter}`, { raw: BigInt(b.raw), amount: BigInt(b.amount) }]),
    );
    const now = new Map(repriced.map((l) => [`${l.clusterId}|${l.meter}`, l]));
    for (const key of [...new Set([...was.keys(), ...now.keys()])].sort()) {
      const [clusterId = "", meter = ""] = key.split("|");
      if (!isMeter(meter)) continue;
      const before = was.get(key) ?? { raw: 0n, amount: 0n };
      const after = now.get(key);
      const raw = (after?.raw ?? 0n) - before.raw;
      const amountMicro = (after?.amountMicro ?? 0n) - before.amount;
      if (raw !== 0n || amountMicro !== 0n)
        out.push({
          kind: "adjustment",
          usagePeriodStart: start,
          clusterId,
          meter,
          raw,
          unitPrice: after?.unitPrice ?? "",
          amountMicro,
        });
    }
  }
  return out;
}

/** The invoice of a month as it stands now: its usage lines and the adjustments it would carry. */
export async function computeInvoice(
  tx: Tx,
  tenantId: string,
  periodStart: Date,
): Promise<{ book: PriceBookDocument; lines: InvoiceLine[]; totalMicro: bigint }> {
  const book = await priceBookOf(tx, tenantId);
  const end = addMonths(periodStart, 1);
  const usage: InvoiceLine[] = priceMonth(book, await monthCells(tx, tenantId, periodStart, end)).map(
    (l) => ({
      kind: "usage",
      usagePeriodStart: periodStart,
      clusterId: l.clusterId,
      meter: l.meter,
      raw: l.raw,
      unitPrice: l.unitPrice,
      amountMicro: l.amountMicro,
    }),
  );
  const lines = [...usage, ...(await adjustments(tx, tenantId, periodStart))];
  return { book, lines, totalMicro: lines.reduce((s, l) => s + l.amountMicro, 0n) };
}

/**
 * Finalises every invoice that is due: months that ended more than an hour ago (within the
 * adjustable window), of tenants with usage or adjustments in them, whose hours are all rolled up.
 * One transaction per invoice; an invoice already written is left alone. Returns the ids written.
 */
export async function finalizeInvoices(db: Db, now: Date): Promise<string[]> {
  const written: string[] = [];
  const current = monthOf(now).start;
  for (let back = ADJUSTABLE_MONTHS; back >= 1; back--) {
    const start = addMonths(current, -back);
    const end = addMonths(start, 1);
    if (now.getTime() < end.getTime() + INVOICE_CLOSE_DELAY_MS) continue;
    const due = await withSystem(db, (tx) =>
      tx.execute<{ tenant_id: string }>(sql`
        select distinct tenant_id from usage_hourly
        where hour >= ${addMonths(start, -ADJUSTABLE_MONTHS).toISOString()}::timestamptz and hour < ${end.toISOString()}::timestamptz
          and not exists (select 1 from invoices i where i.tenant_id = usage_hourly.tenant_id and i.period_start = ${start.toISOString()}::timestamptz)
          and not exists (select 1 from usage_dirty_hours d where d.tenant_id = usage_hourly.tenant_id and d.hour < ${end.toISOString()}::timestamptz)
        order by tenant_id`),
    );
    for (const { tenant_id: tenantId } of due) {
      const id = await withSystem(db, (tx) => finalizeOne(tx, tenantId, start, end, now));
      if (id) written.push(id);
    }
  }
  return written;
}

async function finalizeOne(
  tx: Tx,
  tenantId: string,
  start: Date,
  end: Date,
  now: Date,
): Promise<string | null> {
  // One finaliser per tenant at a time (numbers are sequential), and a second run writes nothing.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('berth:invoice:' || ${tenantId}))`);
  const [exists] = await tx.execute(
    sql`select 1 from invoices where tenant_id = ${tenantId} and period_start = ${start.toISOString()}::timestamptz`,
  );
  if (exists) return null;
  const { book, lines, totalMicro } = await computeInvoice(tx, tenantId, start);
  if (lines.length === 0) return null;
  const [{ next } = { next: 1 }] = await tx.execute<{ next: number }>(
    sql`select coalesce(max(number), 0)::int + 1 as next from invoices where tenant_id = ${tenantId}`,
  );
  const id = newId("invoice", now.getTime());
  await tx.execute(sql`
    insert into invoices (id, tenant_id, number, period_start, period_end, currency, total_micro, finalized_at, price_book)
    values (${id}, ${tenantId}, ${next}, ${start.toISOString()}::timestamptz, ${end.toISOString()}::timestamptz,
            ${book.currency}, ${totalMicro.toString()}::bigint, ${now.toISOString()}::timestamptz, ${JSON.stringify(book)}::jsonb)`);
  const rows = JSON.stringify(
    lines.map((l, i) => ({
      line_no: i + 1,
      kind: l.kind,
      usage_period_start: l.usagePeriodStart.toISOString(),
      cluster_id: l.clusterId,
      meter: l.meter,
      raw: l.raw.toString(),
      unit_price: l.unitPrice,
      amount_micro: l.amountMicro.toString(),
    })),
  );
  await tx.execute(sql`
    insert into invoice_lines (invoice_id, tenant_id, line_no, kind, usage_period_start, cluster_id, meter, raw, unit_price, amount_micro)
    select ${id}, ${tenantId}, line_no, kind, usage_period_start, cluster_id, meter, raw::numeric, unit_price, amount_micro::bigint
    from jsonb_to_recordset(${rows}::jsonb) as r(line_no int, kind text, usage_period_start timestamptz,
      cluster_id text, meter text, raw text, unit_price text, amount_micro text)`);
  return id;
}
