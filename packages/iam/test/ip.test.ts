import { describe, expect, it } from "vitest";
import { cidrContains, parseCidr, parseIp } from "../src/conditions/ip";

const inRange = (cidr: string, ip: string): boolean => {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  return c !== null && a !== null && cidrContains(c, a);
};

describe("IP addresses and CIDR blocks", () => {
  it.each([
    ["10.0.0.0/8", "10.255.255.255", true],
    ["10.0.0.0/8", "11.0.0.0", false],
    ["0.0.0.0/0", "203.0.113.7", true],
    ["192.0.2.1", "192.0.2.1", true],
    ["192.0.2.1", "192.0.2.2", false],
    ["192.0.2.77/24", "192.0.2.1", true],
    ["2001:db8::/32", "2001:DB8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["::/0", "::1", true],
    ["::1", "0:0:0:0:0:0:0:1", true],
    ["2001:db8::/32", "10.0.0.1", false],
    ["10.0.0.0/8", "::1", false],
    ["10.0.0.0/8", "::ffff:10.1.2.3", true],
    ["::ffff:10.0.0.0/104", "10.1.2.3", true],
    ["64:ff9b::/96", "64:ff9b::192.0.2.33", true],
    // The narrowest blocks hold one address.
    ["10.1.2.3/32", "10.1.2.3", true],
    ["10.1.2.3/32", "10.1.2.2", false],
    ["2001:db8::7/128", "2001:db8::7", true],
    ["2001:db8::7/128", "2001:db8::6", false],
    ["10.1.2.3/31", "10.1.2.2", true],
    ["10.1.2.3/31", "10.1.2.4", false],
    // IPv4 and IPv6 never meet, except through ::ffff:0:0/96.
    ["::/0", "10.0.0.1", false],
    ["0.0.0.0/0", "2001:db8::1", false],
    ["::ffff:0:0/96", "203.0.113.7", true],
    ["::ffff:0:0/80", "203.0.113.7", false],
    ["::/80", "::ffff:203.0.113.7", false],
    ["::ffff:192.0.2.0/120", "::ffff:192.0.2.9", true],
    ["::ffff:192.0.2.0/120", "192.0.3.9", false],
    // Text forms: a full dotted tail without `::`, a `::` that stands for one group.
    ["192.0.2.0/24", "0:0:0:0:0:ffff:192.0.2.1", true],
    ["1::3:4:5:6:7:8/128", "1:0:3:4:5:6:7:8", true],
    ["1:2:3:4:5:6:7::/128", "1:2:3:4:5:6:7:0", true],
  ] as const)("%s contains %s: %s", (cidr, ip, expected) => {
    expect(inRange(cidr, ip)).toBe(expected);
  });

  it.each([
    "",
    "10.0.0",
    "10.0.0.256",
    "10.0.0.01",
    "1.2.3.4.5",
    "::1::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::8",
    "12345::",
    "fe80::1%eth0",
    "1.2.3.4::",
    "g::",
    "localhost",
    "::1.2.3.4:5",
    "::1.2.3.256",
    "1.2.3.4:5::",
    "1:2:3:4:5:6:1.2.3.4:8",
    "::ffff:1.2.3",
    ":1",
    "1:",
    "abc",
  ])("rejects the address %j", (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it.each([
    "10.0.0.0/33",
    "::/129",
    "10.0.0.0/",
    "10.0.0.0/-1",
    "10.0.0.0/8/8",
    "/8",
    "10.0.0.0/0008",
    "10.0.0.0/ 8",
  ])("rejects the block %j", (text) => {
    expect(parseCidr(text)).toBeNull();
  });
});
