import { describe, expect, it } from "vitest";
import { cidrMinus, inCidr, type NetworkPolicies, policyAllows } from "../src/index";

describe("cidrMinus", () => {
  it("cuts exceptions out of a block as disjoint blocks", () => {
    expect(cidrMinus("10.0.0.0/8", [])).toEqual(["10.0.0.0/8"]);
    expect(cidrMinus("192.0.2.0/24", ["192.0.2.128/25"])).toEqual(["192.0.2.0/25"]);
    expect(cidrMinus("10.0.0.0/30", ["10.0.0.1/32"])).toEqual(["10.0.0.0/32", "10.0.0.2/31"]);
    expect(cidrMinus("10.0.0.0/24", ["10.0.0.0/24"])).toEqual([]);
    expect(cidrMinus("0.0.0.0/0", ["169.254.0.0/16"])).toHaveLength(16);
  });

  it("covers exactly the addresses in the block and in no exception (random addresses)", () => {
    const cases: [string, string[]][] = [
      ["10.0.0.0/8", ["10.1.0.0/16", "10.200.3.0/24", "10.5.5.5/32"]],
      ["0.0.0.0/0", ["10.0.0.0/8", "192.168.0.0/16"]],
      ["172.16.0.0/12", ["172.16.0.0/13"]],
    ];
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (const [cidr, except] of cases) {
      const blocks = cidrMinus(cidr, except);
      const base = cidr.split("/")[0]?.split(".").map(Number) ?? [];
      for (let i = 0; i < 2000; i++) {
        // Half near the block, half anywhere.
        const ip =
          i % 2 === 0
            ? [base[0], rnd() % 256, rnd() % 256, rnd() % 256].join(".")
            : [rnd() % 256, rnd() % 256, rnd() % 256, rnd() % 256].join(".");
        const expected = inCidr(cidr, ip) && !except.some((e) => inCidr(e, ip));
        expect(blocks.filter((b) => inCidr(b, ip)).length, ip).toBe(expected ? 1 : 0);
      }
    }
  });
});

describe("policyAllows", () => {
  const policies: NetworkPolicies = {
    ingress: [
      {
        ip: "10.89.0.2",
        allow: [{ cidr: "10.89.0.3/32", except: [], ports: [{ protocol: "TCP", port: 8080 }] }],
      },
      { ip: "10.89.0.9", allow: [] },
    ],
    egress: [{ ip: "10.89.0.3", allow: [{ cidr: "10.89.0.0/24", except: ["10.89.0.9/32"], ports: null }] }],
  };
  const c = (source: string, destination: string, port = 8080, protocol: "TCP" | "UDP" = "TCP") =>
    policyAllows(policies, { source, destination, port, protocol });

  it("needs both the source's egress and the destination's ingress", () => {
    expect(c("10.89.0.3", "10.89.0.2")).toBe(true);
    expect(c("10.89.0.3", "10.89.0.2", 8081)).toBe(false);
    expect(c("10.89.0.3", "10.89.0.2", 8080, "UDP")).toBe(false);
    expect(c("10.89.0.4", "10.89.0.2")).toBe(false);
    // Not selected by any ingress policy: open, within the client's egress.
    expect(c("10.89.0.3", "10.89.0.5", 1)).toBe(true);
    expect(c("10.89.0.3", "192.0.2.1")).toBe(false);
    // An ingress policy without rules: nothing gets in; the egress exception too.
    expect(c("10.89.0.4", "10.89.0.9")).toBe(false);
    expect(c("10.89.0.4", "10.89.0.5")).toBe(true);
  });
});
