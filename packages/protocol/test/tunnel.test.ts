import { describe, expect, it } from "vitest";
import { parseTunnelAuthority, tunnelAuthority } from "../src/tunnel";

describe("a tunnel stream's target", () => {
  it("is a pod address and port, and nothing else", () => {
    expect(parseTunnelAuthority(tunnelAuthority("10.89.0.5", 8080))).toEqual({ ip: "10.89.0.5", port: 8080 });
    for (const bad of [
      "10.89.0.5",
      "10.89.0.5:0",
      "10.89.0.5:65536",
      "10.89.0.256:80",
      "web.default:80",
      "[::1]:80",
      "10.89.0.5:80 ",
      "10.89.0.5:80/x",
      "",
    ])
      expect(parseTunnelAuthority(bad), bad).toBeNull();
  });
});
