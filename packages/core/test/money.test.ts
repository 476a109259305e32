import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { divRoundHalfUp, formatFixed, formatTrimmed } from "../src/money";
import { DEFAULT_PRICE_BOOK, priceUsage, usageToCsv } from "../src/pricing";

describe("exact money", () => {
  it("rounds half away from zero", () => {
    expect(divRoundHalfUp(5n, 2n)).toBe(3n);
    expect(divRoundHalfUp(4n, 3n)).toBe(1n);
    expect(divRoundHalfUp(-5n, 2n)).toBe(-3n);
    expect(divRoundHalfUp(0n, 7n)).toBe(0n);
  });

  it("rounds to the nearest integer for any input (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        (n, d) => {
          const q = divRoundHalfUp(n, d);
          const err = n * 2n - q * 2n * d; // 2·(n/d − q)·d
          return err <= d && err >= -d;
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("formats fixed-point values", () => {
    expect(formatFixed(1234567n, 6)).toBe("1.234567");
    expect(formatFixed(5n, 6)).toBe("0.000005");
    expect(formatFixed(-5n, 2)).toBe("-0.05");
    expect(formatTrimmed(11_244n, 9)).toBe("0.000011244");
    expect(formatTrimmed(100_000_000n, 9)).toBe("0.1");
  });
});

describe("pricing usage", () => {
  it("prices an hour of a cluster, a node and a pod exactly", () => {
    const hourMs = 3_600_000n;
    const usage = priceUsage([
      { meter: "cluster_hours", clusterId: "cl_a", raw: hourMs },
      { meter: "node_hours", clusterId: "cl_a", raw: 2n * hourMs },
      { meter: "pod_vcpu_seconds", clusterId: "cl_a", raw: hourMs * 250n }, // 250m for an hour = 900 vCPU-s
      { meter: "pod_memory_gib_seconds", clusterId: "cl_a", raw: hourMs * 64n * 1024n * 1024n }, // 64Mi for an hour = 225 GiB-s
    ]);
    expect(usage.currency).toBe("USD");
    expect(usage.lines.map((l) => [l.meter, l.quantity, l.unitPrice, l.amount])).toEqual([
      ["cluster_hours", "1.000000", "0.1", "0.100000"],
      ["node_hours", "2.000000", "0.01", "0.020000"],
      ["pod_vcpu_seconds", "900.000000", "0.000011244", "0.010120"],
      ["pod_memory_gib_seconds", "225.000000", "0.000001235", "0.000278"],
    ]);
    expect(usage.total).toBe("0.130398");
  });

  it("makes the total the exact sum of the line amounts (property)", () => {
    const meters = Object.keys(
      DEFAULT_PRICE_BOOK.nanoPerUnit,
    ) as (keyof typeof DEFAULT_PRICE_BOOK.nanoPerUnit)[];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ meter: fc.constantFrom(...meters), raw: fc.bigInt({ min: 0n, max: 10n ** 18n }) }),
          { maxLength: 20 },
        ),
        (rows) => {
          const usage = priceUsage(rows.map((r) => ({ ...r, clusterId: "cl" })));
          const sum = usage.lines.reduce((s, l) => s + BigInt(l.amount.replace(".", "")), 0n);
          return BigInt(usage.total.replace(".", "")) === sum;
        },
      ),
      { numRuns: 500 },
    );
  });

  it("renders the same report as CSV with a total line", () => {
    const csv = usageToCsv(priceUsage([{ meter: "cluster_hours", clusterId: "cl_a", raw: 3_600_000n }]));
    expect(csv).toBe(
      "meter,clusterId,quantity,unit,unitPrice,amount,currency\ncluster_hours,cl_a,1.000000,cluster-hour,0.1,0.100000,USD\ntotal,,,,,0.100000,USD\n",
    );
  });
});
