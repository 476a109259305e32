import type { Rejection } from "./framework";

export interface Explanation {
  reason: string;
  counts: Record<string, number>;
}

/** Tallies rejections per reason; a node rejected for several reasons counts under each. */
export function tally(
  rejections: Iterable<Rejection | null | undefined>,
  counts = new Map<string, number>(),
): Map<string, number> {
  for (const rejection of rejections) if (rejection) addRejection(counts, rejection);
  return counts;
}

export function addRejection(counts: Map<string, number>, rejection: Rejection): void {
  if (typeof rejection === "string") counts.set(rejection, (counts.get(rejection) ?? 0) + 1);
  else for (const reason of rejection) counts.set(reason, (counts.get(reason) ?? 0) + 1);
}

export function removeRejection(counts: Map<string, number>, rejection: Rejection): void {
  for (const reason of typeof rejection === "string" ? [rejection] : rejection) {
    const left = (counts.get(reason) ?? 0) - 1;
    if (left > 0) counts.set(reason, left);
    else counts.delete(reason);
  }
}

/**
 * kube-scheduler's FitError text: "0/5 nodes are available: 3 Insufficient memory, 2 node(s) not
 * ready." Reasons by count descending, then alphabetically, so the text is stable.
 */
export function explain(totalNodes: number, counts: ReadonlyMap<string, number>): Explanation {
  const entries = [...counts].sort(([ra, ca], [rb, cb]) => cb - ca || (ra < rb ? -1 : ra > rb ? 1 : 0));
  const head = `0/${totalNodes} nodes are available`;
  let reason: string;
  if (totalNodes === 0) reason = `${head}: the cluster has no nodes.`;
  else if (entries.length === 0) reason = `${head}.`;
  else reason = `${head}: ${entries.map(([text, count]) => `${count} ${text}`).join(", ")}.`;
  return { reason, counts: Object.fromEntries(entries) };
}
