import type { ValueTest } from "./value-test";

/** An address as a number: 32 bits for IPv4, 128 for IPv6. */
export interface IpAddress {
  readonly bits: 32 | 128;
  readonly value: bigint;
}

export interface Cidr extends IpAddress {
  readonly prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEXTET = /^[0-9A-Fa-f]{1,4}$/;

function parseIpv4(text: string): bigint | null {
  const m = IPV4.exec(text);
  if (m === null) return null;
  let value = 0n;
  for (const part of m.slice(1)) {
    // "010" is rejected: some parsers read it as octal, and that ambiguity has no place in a policy.
    if (part.length > 1 && part.startsWith("0")) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseHextets(groups: readonly string[], dottedTail: boolean): bigint[] | null {
  const out: bigint[] = [];
  for (const [i, group] of groups.entries()) {
    if (dottedTail && i === groups.length - 1 && group.includes(".")) {
      const v4 = parseIpv4(group);
      if (v4 === null) return null;
      out.push(v4 >> 16n, v4 & 0xffffn);
    } else if (HEXTET.test(group)) {
      out.push(BigInt(Number.parseInt(group, 16)));
    } else {
      return null;
    }
  }
  return out;
}

/** RFC 4291 text forms: eight hextets, one `::`, an optional dotted IPv4 tail. No zone ids. */
function parseIpv6(text: string): bigint | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const [head, tail] = halves as [string, ...string[]]; // split returns at least one piece
  const left = head === "" ? [] : parseHextets(head.split(":"), tail === undefined);
  const right = tail === undefined || tail === "" ? [] : parseHextets(tail.split(":"), true);
  if (left === null || right === null) return null;
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const all = [...left, ...Array<bigint>(missing).fill(0n), ...right];
  return all.reduce((acc, h) => (acc << 16n) | h, 0n);
}

/**
 * Parses a request address. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what Node
 * reports for IPv4 clients on a dual-stack socket) is read as the IPv4 address, so IPv4
 * CIDRs still apply to it. Returns null for anything that is not an address.
 */
export function parseIp(text: string): IpAddress | null {
  // One request value (berth:SourceIp) is read by many statements in one evaluation.
  if (text !== lastText) {
    lastValue = readIp(text);
    lastText = text;
  }
  return lastValue;
}

let lastText: string | undefined;
let lastValue: IpAddress | null = null;

function readIp(text: string): IpAddress | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { bits: 32, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { bits: 32, value: v6 & 0xffffffffn };
  return { bits: 128, value: v6 };
}

/**
 * A CIDR block per RFC 4632 (AWS "IP address condition operators": "the IpAddress operator
 * takes an IPv4 or IPv6 address or range in CIDR notation"). A bare address is a /32 or /128;
 * host bits below the prefix are ignored. A block inside ::ffff:0:0/96 is read as the IPv4
 * block it maps, matching how `parseIp` reads mapped addresses.
 */
export function parseCidr(text: string): Cidr | null {
  const [addressText, prefixText, ...more] = text.split("/") as [string, ...string[]];
  if (more.length > 0) return null;
  const v4 = parseIpv4(addressText);
  const address: IpAddress | null =
    v4 !== null
      ? { bits: 32, value: v4 }
      : (() => {
          const v6 = parseIpv6(addressText);
          return v6 === null ? null : { bits: 128, value: v6 };
        })();
  if (address === null) return null;
  let prefix: number = address.bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > address.bits) return null;
  }
  // Only an IPv6 prefix reaches 96.
  if (prefix >= 96 && address.value >> 32n === 0xffffn) {
    return { bits: 32, value: address.value & 0xffffffffn, prefix: prefix - 96 };
  }
  return { ...address, prefix };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.bits !== ip.bits) return false;
  const shift = BigInt(cidr.bits - cidr.prefix);
  return cidr.value >> shift === ip.value >> shift;
}

/** IpAddress / NotIpAddress: an address that does not parse is in no range. */
export function compileIpTest(values: readonly string[]): ValueTest {
  const blocks = values.map(parseCidr).filter((c): c is Cidr => c !== null);
  return (request) => {
    const ip = parseIp(request);
    return ip !== null && blocks.some((c) => cidrContains(c, ip));
  };
}
