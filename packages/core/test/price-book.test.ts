import { describe, expect, it } from "vitest";
import {
  allocate,
  DEFAULT_PRICE_BOOK_DOCUMENT,
  effectiveBook,
  METERS,
  meterPriceSchema,
  type PriceBookDocument,
  parseNano,
  priceMonth,
} from "../src";

const HOUR = METERS.cluster_hours.rawPerUnit;

describe("price books", () => {
  it("reads prices of up to nine decimals as exact nano-units", () => {
    expect(parseNano("0.000011244")).toBe(11_244n);
    expect(parseNano("12")).toBe(12_000_000_000n);
    expect(meterPriceSchema.safeParse({ unitPrice: "0.0000000001" }).success).toBe(false);
    expect(
      meterPriceSchema.safeParse({ unitPrice: "1", tiers: [{ upTo: null, unitPrice: "1" }] }).success,
    ).toBe(false);
    expect(meterPriceSchema.safeParse({ tiers: [{ upTo: 10, unitPrice: "1" }] }).success).toBe(false);
  });

  it("prices the default plan flat, one line per cluster and meter, rounded once to micro-units", () => {
    const lines = priceMonth(DEFAULT_PRICE_BOOK_DOCUMENT, [
      { clusterId: "cl_b", meter: "cluster_hours", raw: 90n * 60_000n }, // 1.5 h at $0.10
      { clusterId: "cl_a", meter: "pod_vcpu_seconds", raw: 1_000_000n * 3n }, // 3 vCPU-s at $0.000011244
    ]);
    expect(lines.map((l) => [l.clusterId, l.meter, l.amountMicro, l.unitPrice])).toEqual([
      ["cl_b", "cluster_hours", 150_000n, "0.1"],
      ["cl_a", "pod_vcpu_seconds", 34n, "0.000011244"], // 33.732 µ$ → 34
    ]);
  });

  it("applies the free allowance and graduated tiers across clusters in the order of their ids", () => {
    const book: PriceBookDocument = {
      currency: "EUR",
      prices: {
        cluster_hours: {
          tiers: [
            { upTo: 10, unitPrice: "1" },
            { upTo: null, unitPrice: "0.5" },
          ],
          tierMode: "graduated",
          freeUnitsPerMonth: 5,
        },
      },
    };
    const lines = priceMonth(book, [
      { clusterId: "cl_2", meter: "cluster_hours", raw: 10n * HOUR },
      { clusterId: "cl_1", meter: "cluster_hours", raw: 8n * HOUR },
    ]);
    // cl_1 first: 5 free, then billable units 0..3 at 1 = 3; cl_2: billable 3..13, 7 at 1 and 3 at 0.5 = 8.5.
    expect(lines.map((l) => [l.clusterId, l.amountMicro])).toEqual([
      ["cl_1", 3_000_000n],
      ["cl_2", 8_500_000n],
    ]);
  });

  it("prices every unit at the reached tier under volume pricing", () => {
    const book: PriceBookDocument = {
      currency: "USD",
      prices: {
        node_hours: {
          tiers: [
            { upTo: 10, unitPrice: "1" },
            { upTo: null, unitPrice: "0.25" },
          ],
          tierMode: "volume",
          freeUnitsPerMonth: 0,
        },
      },
    };
    const lines = priceMonth(book, [{ clusterId: "cl", meter: "node_hours", raw: 12n * HOUR }]);
    expect(lines[0]?.amountMicro).toBe(3_000_000n);
  });

  it("takes a tenant override's prices over the default plan's, meter by meter", () => {
    const book = effectiveBook(DEFAULT_PRICE_BOOK_DOCUMENT, {
      currency: "USD",
      prices: { cluster_hours: { unitPrice: "0", tierMode: "graduated", freeUnitsPerMonth: 0 } },
    });
    expect(book.prices.cluster_hours?.unitPrice).toBe("0");
    expect(book.prices.node_hours?.unitPrice).toBe("0.01");
  });

  it("allocates an amount over weights exactly, the parts adding up to it", () => {
    expect(allocate(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(allocate(-7n, [2n, 5n])).toEqual([-2n, -5n]);
    const parts = allocate(1_000_003n, [7n, 11n, 13n, 17n]);
    expect(parts.reduce((s, p) => s + p, 0n)).toBe(1_000_003n);
    expect(allocate(5n, [0n, 0n])).toEqual([0n, 0n]);
  });
});
