import { describe, expect, it } from "vitest";
import { parseDate } from "../src/conditions/date";

describe("dates in conditions", () => {
  it.each([
    ["2026-01-31T12:00:00Z", Date.UTC(2026, 0, 31, 12)],
    ["2026-01-31T12:00:00.250Z", Date.UTC(2026, 0, 31, 12, 0, 0, 250)],
    ["2026-01-31T14:00:00+02:00", Date.UTC(2026, 0, 31, 12)],
    ["2026-01-31T07:30-04:30", Date.UTC(2026, 0, 31, 12)],
    ["2026-01-31T12:00:00", Date.UTC(2026, 0, 31, 12)],
    ["2026-01-31", Date.UTC(2026, 0, 31)],
    ["2024-02-29", Date.UTC(2024, 1, 29)],
    ["1769860800", Date.UTC(2026, 0, 31, 12)],
    ["0", 0],
  ] as const)("reads %j", (text, expected) => {
    expect(parseDate(text)).toBe(expected);
  });

  it.each([
    "",
    "tomorrow",
    "2026-13-01",
    "2025-02-29",
    "2026-04-31",
    "2026-01-31T24:00:00Z",
    "2026-01-31T12:60:00Z",
    "2026-01-31 12:00:00Z",
    "2026-1-31",
    "-5",
    "1.5",
    "2026-01-31T12:00:00+25:00",
  ])("rejects %j", (text) => {
    expect(Number.isNaN(parseDate(text))).toBe(true);
  });
});
