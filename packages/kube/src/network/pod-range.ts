import { createHash } from "node:crypto";

/**
 * Pod addresses. Each node gets one /24 of 10.32.0.0/11 for its pods (as Kubernetes gives each
 * node a `podCIDR`), unique across the platform: a node's pods are told apart from every other
 * node's by address alone, so a node routes a packet for a pod of another node to that node — on
 * another machine, or on the same host — and nodes of clusters sharing a host never clash. The
 * range lies outside Podman's default pools (10.88.0.0/16 and 10.89.0.0/16 upwards) and outside
 * 10.0.0.0/16 and 172.31.0.0/16, where cloud networks usually are. 8,192 nodes at once.
 */
export const POD_RANGE_BLOCKS = 8_192;
const BASE = (10 << 24) | (32 << 16);

const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/** The /24 of block `n` (0 … 8191). */
export function podRangeOfBlock(n: number): string {
  return `${toIp((BASE + (n % POD_RANGE_BLOCKS) * 256) >>> 0)}/24`;
}

/** The block of a range (undefined for an address outside the pod ranges). */
export function podBlockOf(cidr: string): number | undefined {
  const [a, b, c] = (cidr.split("/")[0] ?? "").split(".").map(Number);
  if (a !== 10 || b === undefined || c === undefined || b < 32 || b > 63) return undefined;
  return (b - 32) * 256 + c;
}

/** Where a node's search for a free block starts: spread by its id, so nodes rarely collide. */
export function preferredPodBlock(nodeId: string): number {
  return createHash("sha256").update(nodeId).digest().readUInt32BE(0) % POD_RANGE_BLOCKS;
}

/** The bridge's own address in a node's pod range (`.1`): the pods' gateway. */
export function podGateway(cidr: string): string {
  const [a, b, c] = (cidr.split("/")[0] ?? "").split(".");
  return `${a}.${b}.${c}.1`;
}
