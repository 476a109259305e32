import type { PodRow } from "./loop";

/**
 * What a controller sees of a pod, as Kubernetes' controllers see it: terminal (Succeeded or
 * Failed: its containers are done), terminating (its removal was asked for), active (neither),
 * ready (its readiness probes pass, as its node reports) and available (ready for at least the
 * owner's `minReadySeconds`).
 */
export type PodFacts = Pick<
  PodRow,
  "phase" | "deletionRequestedAt" | "ready" | "readyAt" | "startedAt" | "createdAt"
>;

export const isTerminal = (p: Pick<PodRow, "phase">): boolean =>
  p.phase === "Succeeded" || p.phase === "Failed";

export const isTerminating = (p: Pick<PodRow, "deletionRequestedAt">): boolean =>
  p.deletionRequestedAt !== null;

/** Neither finished nor on its way out: a pod its controller counts. */
export const isActive = (p: PodFacts): boolean => !isTerminal(p) && !isTerminating(p);

/** When the pod last became ready: its node's word (`readyAt`), or its start for older reports. */
function readySince(p: PodFacts): Date {
  return p.readyAt ?? p.startedAt ?? p.createdAt;
}

/** Ready, active, and ready for `minReadySeconds` (Kubernetes' `IsPodAvailable`). */
export function isAvailable(p: PodFacts, minReadySeconds: number, now: Date): boolean {
  if (!isActive(p) || !p.ready) return false;
  return minReadySeconds === 0 || readySince(p).getTime() + minReadySeconds * 1000 <= now.getTime();
}

/** Kubernetes' metav1.Time: RFC 3339 to the second. */
export function rfc3339(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

/** `<prefix>-<5 characters>` as Kubernetes' generateName makes them (no vowels, no look-alikes). */
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
export function generateName(prefix: string, random: () => number = Math.random): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET.charAt(Math.floor(random() * NAME_ALPHABET.length));
  return `${prefix}-${suffix}`;
}

/**
 * The order in which a controller gives pods up (Kubernetes' ActivePods ranking): not yet
 * scheduled, then still pending, then not ready, then not yet available, then restarted more,
 * then the newest.
 */
export function removalRank<
  P extends Pick<PodRow, "nodeId" | "phase" | "ready" | "restarts" | "seq"> & { available?: boolean },
>(a: P, b: P): number {
  const key = (p: P) => [
    p.nodeId === null ? 0 : 1,
    p.phase === "Pending" ? 0 : 1,
    p.ready ? 1 : 0,
    p.available ? 1 : 0,
  ];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return (ka[i] ?? 0) - (kb[i] ?? 0);
  return b.restarts - a.restarts || b.seq - a.seq;
}
