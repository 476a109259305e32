import { describe, expect, it } from "vitest";
import { formatCpuMillis, formatMemoryBytes, parseCpuMillis, parseMemoryBytes } from "../src/quantity";

describe("resource quantities", () => {
  it.each([
    ["250m", 250],
    ["0.5", 500],
    ["2", 2000],
    ["1.25", 1250],
    [3, 3000],
  ])("parses CPU %s as %i millicores", (q, m) => expect(parseCpuMillis(q)).toBe(m));

  it.each(["", "abc", "1.2345", "-1", "1.5m", "1e3"])("rejects CPU %j", (q) =>
    expect(() => parseCpuMillis(q)).toThrow(/CPU quantity|fractional/),
  );

  it("refuses a CPU quantity that is not an exact integer of millicores", () =>
    expect(() => parseCpuMillis("99999999999999999999999", "x.cpu")).toThrow(/^x\.cpu: .* is too large/));

  it.each([
    ["64Mi", 64 * 1024 * 1024],
    ["1Gi", 1024 ** 3],
    ["1G", 1e9],
    ["512", 512],
    ["1.5Gi", 1.5 * 1024 ** 3],
    ["0.5Ki", 512],
  ])("parses memory %s exactly", (q, b) => expect(parseMemoryBytes(q)).toBe(b));

  it.each(["64MB", "1.1", "x", "-5Mi", "0.3Ki"])("rejects memory %j", (q) =>
    expect(() => parseMemoryBytes(q)).toThrow(),
  );

  it("formats quantities back to their shortest exact form", () => {
    expect(formatCpuMillis(250)).toBe("250m");
    expect(formatCpuMillis(2000)).toBe("2");
    expect(formatMemoryBytes(64 * 1024 * 1024)).toBe("64Mi");
    expect(formatMemoryBytes(1000)).toBe("1000");
  });
});
