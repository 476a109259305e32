import { describe, expect, it } from "vitest";
import { formatPath } from "../src/issues";

describe("issue paths", () => {
  it.each([
    [
      ["Statement", 0, "Condition", "IpAddress", "berth:SourceIp"],
      'Statement[0].Condition.IpAddress["berth:SourceIp"]',
    ],
    [[], ""],
    [[0, "Effect"], "[0].Effect"],
    [["a b", "c"], '["a b"].c'],
    [["_x1"], "_x1"],
    [["1x"], '["1x"]'],
    [[Symbol("key")], '["Symbol(key)"]'],
  ] as const)("%j reads %j", (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
