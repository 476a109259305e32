import { createHash } from "node:crypto";

/**
 * Service addresses. Each cluster gets one /24 of 100.64.0.0/10 (shared address space, RFC 6598:
 * outside Podman's pools and every private range a tenant or cloud network is likely to use).
 * Ranges are unique across the platform, so two clusters' node agents can share a host; `.10` of a
 * range is the cluster's DNS server (as `10.96.0.10` is kube-dns's), the others are clusterIPs.
 */
export const SERVICE_RANGE_BLOCKS = 16_384;
const BASE = (100 << 24) | (64 << 16);

const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
function toInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

/** The /24 of block `n` (0 … 16383). */
export function serviceRangeOfBlock(n: number): string {
  return `${toIp((BASE + (n % SERVICE_RANGE_BLOCKS) * 256) >>> 0)}/24`;
}

/** Where a cluster's search for a free block starts: spread by its id, so clusters rarely collide. */
export function preferredServiceBlock(clusterId: string): number {
  return createHash("sha256").update(clusterId).digest().readUInt32BE(0) % SERVICE_RANGE_BLOCKS;
}

const baseOf = (cidr: string) => toInt(cidr.split("/")[0] ?? "0.0.0.0");

/** The cluster DNS server's address in a range (`.10`). */
export function clusterDnsAddress(cidr: string): string {
  return toIp(baseOf(cidr) + 10);
}

/** Whether `ip` is a clusterIP a service may have in this range (`.1`–`.254`, never the DNS address). */
export function isServiceAddress(cidr: string, ip: string): boolean {
  const offset = toInt(ip) - baseOf(cidr);
  return offset >= 1 && offset <= 254 && offset !== 10;
}

/** The lowest free clusterIP of the range, or undefined when all 253 are taken. */
export function freeServiceAddress(cidr: string, used: ReadonlySet<string>): string | undefined {
  for (let offset = 1; offset <= 254; offset++) {
    if (offset === 10) continue;
    const ip = toIp(baseOf(cidr) + offset);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}
