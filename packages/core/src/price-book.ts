import { z } from "zod";
import { groupBy } from "./collections";
import { divRoundHalfUp, formatTrimmed } from "./money";
import { DEFAULT_PRICE_BOOK, METER_NAMES, METERS, type Meter, PRICE_DECIMALS } from "./pricing";

/**
 * Price books: a default plan and per-tenant overrides. A meter's price is flat, graduated tiers
 * (each unit at the price of the tier it falls in) or volume tiers (every unit at the price of the
 * tier the month's total reaches), after a free monthly allowance. Prices are decimal strings of up
 * to nine places, held as integers of nano-units; tier bounds and allowances are whole billed units.
 *
 * Rounding rule: the amount of a line is computed exactly (raw quantity × nano-price, a rational
 * number) and rounded once, half away from zero, to micro-units (6 decimals). Totals are sums of
 * rounded lines. Allowances and tiers apply to a tenant's month of one meter across its clusters,
 * consumed in the order of cluster id.
 */
const decimalPrice = z
  .string()
  .regex(/^\d{1,12}(\.\d{1,9})?$/, "a price: a decimal of up to 9 places, e.g. 0.000011244");
const wholeUnits = z.number().int().min(0).max(1e12);

export const meterPriceSchema = z
  .object({
    unitPrice: decimalPrice.optional(),
    tiers: z
      .array(z.object({ upTo: wholeUnits.nullable(), unitPrice: decimalPrice }).strict())
      .min(1)
      .max(20)
      .optional(),
    tierMode: z.enum(["graduated", "volume"]).default("graduated"),
    freeUnitsPerMonth: wholeUnits.default(0),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.unitPrice === undefined) === (p.tiers === undefined))
      ctx.addIssue({ code: "custom", message: "give either unitPrice or tiers", path: ["unitPrice"] });
    if (p.tiers) {
      const last = p.tiers.length - 1;
      p.tiers.forEach((t, i) => {
        if ((t.upTo === null) !== (i === last))
          ctx.addIssue({
            code: "custom",
            message: "only the last tier is open (upTo: null)",
            path: ["tiers", i],
          });
        const prev = p.tiers?.[i - 1]?.upTo;
        if (i > 0 && t.upTo !== null && prev !== null && prev !== undefined && t.upTo <= prev)
          ctx.addIssue({ code: "custom", message: "tiers must rise", path: ["tiers", i, "upTo"] });
      });
    }
  });
export type MeterPrice = z.infer<typeof meterPriceSchema>;

export const priceBookSchema = z
  .object({
    currency: z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 code, e.g. USD"),
    prices: z.partialRecord(z.enum(METER_NAMES as [Meter, ...Meter[]]), meterPriceSchema),
    /**
     * What pods are billed on: their requests (the default, as GKE Autopilot), or per pod-hour the
     * greater of their requests and their measured usage (the `…_over_request` meters priced as
     * their base meters, sharing their tiers and allowances).
     */
    podUsageBasis: z.enum(["requests", "greater-of-requests-and-usage"]).optional(),
  })
  .strict();
export type PriceBookDocument = z.infer<typeof priceBookSchema>;

export function parseNano(price: string): bigint {
  const [whole = "0", frac = ""] = price.split(".");
  return BigInt(whole) * 10n ** BigInt(PRICE_DECIMALS) + BigInt(frac.padEnd(PRICE_DECIMALS, "0"));
}

/** The built-in default plan as a document (flat prices, no allowances). */
export const DEFAULT_PRICE_BOOK_DOCUMENT: PriceBookDocument = {
  currency: DEFAULT_PRICE_BOOK.currency,
  prices: Object.fromEntries(
    METER_NAMES.map((m) => [
      m,
      {
        unitPrice: formatTrimmed(DEFAULT_PRICE_BOOK.nanoPerUnit[m], PRICE_DECIMALS),
        tierMode: "graduated",
        freeUnitsPerMonth: 0,
      },
    ]),
  ),
};

/** A tenant's effective book: its override's prices over the default plan's, meter by meter. */
export function effectiveBook(
  base: PriceBookDocument,
  override: PriceBookDocument | null,
): PriceBookDocument {
  if (!override) return base;
  const basis = override.podUsageBasis ?? base.podUsageBasis;
  return {
    currency: override.currency,
    prices: { ...base.prices, ...override.prices },
    ...(basis ? { podUsageBasis: basis } : {}),
  };
}

interface Tier {
  upToRaw: bigint | null;
  nano: bigint;
}

function tiersOf(meter: Meter, p: MeterPrice): Tier[] {
  const perUnit = METERS[meter].rawPerUnit;
  if (p.tiers) {
    return p.tiers.map((t) => ({
      upToRaw: t.upTo === null ? null : BigInt(t.upTo) * perUnit,
      nano: parseNano(t.unitPrice),
    }));
  }
  return [{ upToRaw: null, nano: parseNano(p.unitPrice ?? "0") }];
}

/** Exact cost, in raw × nano, of the first `raw` billable raw units under graduated tiers. */
function graduatedCost(tiers: Tier[], raw: bigint): bigint {
  let cost = 0n;
  let floor = 0n;
  for (const t of tiers) {
    if (raw <= floor) break;
    const top = t.upToRaw === null || raw < t.upToRaw ? raw : t.upToRaw;
    cost += (top - floor) * t.nano;
    floor = top;
  }
  return cost;
}

function volumeNano(tiers: Tier[], billableRaw: bigint): bigint {
  for (const t of tiers) if (t.upToRaw === null || billableRaw <= t.upToRaw) return t.nano;
  return tiers[tiers.length - 1]?.nano ?? 0n;
}

export interface MonthCell {
  clusterId: string;
  meter: Meter;
  raw: bigint;
}
export interface MonthLine extends MonthCell {
  /** Exact amount before rounding, in raw × nano-units (divide by rawPerUnit × 1000 for micro-units). */
  exact: bigint;
  amountMicro: bigint;
  unitPrice: string;
}

/** Each over-request meter and the meter whose price it takes under the greater-of basis. */
export const OVER_REQUEST_BASE: Readonly<Partial<Record<Meter, Meter>>> = {
  pod_vcpu_seconds_over_request: "pod_vcpu_seconds",
  pod_memory_gib_seconds_over_request: "pod_memory_gib_seconds",
};

/**
 * Prices a tenant's month of usage: one line per cluster × meter, each rounded once. Under the
 * greater-of basis a meter's over-request lines follow its own (same price, same month's tiers and
 * allowance, counted after the requests); under the requests basis they are priced at zero.
 */
export function priceMonth(book: PriceBookDocument, cells: readonly MonthCell[]): MonthLine[] {
  const byMeter = groupBy(cells, (c) => c.meter);
  const greater = book.podUsageBasis === "greater-of-requests-and-usage";
  const sorted = (m: Meter) =>
    (byMeter.get(m) ?? []).toSorted((a, b) => (a.clusterId < b.clusterId ? -1 : 1));
  const out: MonthLine[] = [];
  for (const meter of METER_NAMES) {
    const base = OVER_REQUEST_BASE[meter];
    if (base && greater) continue; // priced with its base meter
    const over = greater ? Object.entries(OVER_REQUEST_BASE).find(([, b]) => b === meter)?.[0] : undefined;
    const list = [...sorted(meter), ...(over ? sorted(over as Meter) : [])];
    if (list.length === 0) continue;
    const zero: MeterPrice = { unitPrice: "0", tierMode: "graduated", freeUnitsPerMonth: 0 };
    const price = base ? zero : (book.prices[meter] ?? zero);
    const perUnit = METERS[meter].rawPerUnit;
    const tiers = tiersOf(meter, price);
    const free = BigInt(price.freeUnitsPerMonth) * perUnit;
    const billable = (cum: bigint) => (cum > free ? cum - free : 0n);
    const total = list.reduce((s, c) => s + c.raw, 0n);
    const volume = price.tiers && price.tierMode === "volume" ? volumeNano(tiers, billable(total)) : null;
    const label = price.tiers
      ? `${price.tierMode}-tiered`
      : formatTrimmed(parseNano(price.unitPrice ?? "0"), PRICE_DECIMALS);
    let cum = 0n;
    for (const c of list) {
      const before = billable(cum);
      cum += c.raw;
      const after = billable(cum);
      const exact =
        volume === null
          ? graduatedCost(tiers, after) - graduatedCost(tiers, before)
          : (after - before) * volume;
      out.push({ ...c, exact, amountMicro: divRoundHalfUp(exact, perUnit * 1000n), unitPrice: label });
    }
  }
  return out;
}

/**
 * Splits `amount` over `weights` in proportion, exactly: the parts add up to `amount` (largest
 * remainder, ties to the earlier weight). Used to allocate a priced line over finer report groups.
 */
export function allocate(amount: bigint, weights: readonly bigint[]): bigint[] {
  const total = weights.reduce((s, w) => s + w, 0n);
  if (total === 0n) return weights.map(() => 0n);
  const sign = amount < 0n ? -1n : 1n;
  const abs = amount * sign;
  const parts = weights.map((w) => (abs * w) / total);
  let rest = abs - parts.reduce((s, p) => s + p, 0n);
  const order = weights
    .map((w, i) => ({ i, r: (abs * w) % total }))
    .sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of order) {
    if (rest === 0n) break;
    parts[i] = (parts[i] ?? 0n) + 1n;
    rest -= 1n;
  }
  return parts.map((p) => p * sign);
}
