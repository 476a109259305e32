import { describe, expect, it } from "vitest";
import { parseNumber } from "../src/conditions/numeric";

describe("numbers in conditions", () => {
  it.each([
    ["0", 0],
    ["5", 5],
    ["+5", 5],
    ["-2.5", -2.5],
    ["1.25", 1.25],
    ["1.", 1],
    [".25", 0.25],
    [".5", 0.5],
    ["1e3", 1000],
    ["1E3", 1000],
    ["1e+3", 1000],
    ["2.5E-1", 0.25],
    ["1e10", 1e10],
    ["007", 7],
  ] as const)("reads %j as %d", (text, expected) => {
    expect(parseNumber(text)).toBe(expected);
  });

  it.each([
    "",
    " ",
    " 5",
    "5 ",
    "\t5",
    "5\n",
    "0x10",
    "0b1",
    "1_000",
    "Infinity",
    "-Infinity",
    "NaN",
    "1e999",
    "-1e999",
    "x5",
    "5x",
    "1.2.3",
    ".",
    "+",
    "e5",
    "1e",
    "1e+",
    "--5",
    "+-5",
  ])("rejects %j", (text) => {
    expect(Number.isNaN(parseNumber(text))).toBe(true);
  });
});
