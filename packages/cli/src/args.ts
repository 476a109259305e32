import { UsageError } from "./errors";

/** Commander's collector for repeated flags (`--label a=b --label c=d`). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `key=value` pairs as a map; `what` names the flag in errors. */
export function keyValues(pairs: readonly string[] | undefined, what: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`${what} ${pair}: expected key=value`);
    map[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return map;
}

type Effect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";
const EFFECTS: readonly string[] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/** kubectl's taint syntax: `key[=value]:Effect`. */
export function taint(spec: string): { key: string; value?: string; effect: Effect } {
  const m = /^([^=:]+)(?:=([^:]*))?:(.+)$/.exec(spec);
  if (!m || !EFFECTS.includes(m[3] as string))
    throw new UsageError(`--taint ${spec}: expected key[=value]:NoSchedule|PreferNoSchedule|NoExecute`);
  return { key: m[1] as string, ...(m[2] ? { value: m[2] } : {}), effect: m[3] as Effect };
}

/** A whole number flag (`--replicas 3`). */
export function integer(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${what}: not a whole number: ${value}`);
  return Number(value);
}
