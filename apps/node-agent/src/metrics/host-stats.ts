import { readFile } from "node:fs/promises";

/** The node's cumulative counters and current memory working set, as Linux's /proc gives them. */
export interface HostCounters {
  /** CPU time spent not idle, all cores, in nanoseconds. */
  cpuNanos: number;
  /** MemTotal − MemAvailable, in bytes. */
  memoryBytes: number;
  /** Over every interface but loopback. */
  rxBytes: number;
  txBytes: number;
}

/** USER_HZ: the unit of /proc/stat's times on every Linux the agent runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** The busy time of `/proc/stat`'s aggregate `cpu` line (everything but idle and iowait). */
export function busyNanosOf(procStat: string): number {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("/proc/stat has no aggregate cpu line");
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already within user)
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return (busy * 1e9) / CLOCK_TICKS_PER_SECOND;
}

/** MemTotal − MemAvailable of `/proc/meminfo`, in bytes. */
export function workingSetOf(meminfo: string): number {
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(meminfo)?.[1] ?? 0);
  return Math.max(0, kb("MemTotal") - kb("MemAvailable")) * 1024;
}

/** Bytes received and sent over every interface of `/proc/net/dev` but loopback. */
export function networkOf(netDev: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of netDev.split("\n").slice(2)) {
    const [name, rest] = line.split(":");
    if (!rest || name?.trim() === "lo") continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rxBytes += f[0] ?? 0;
    txBytes += f[8] ?? 0;
  }
  return { rxBytes, txBytes };
}

export async function readHostCounters(proc = "/proc"): Promise<HostCounters> {
  const [stat, meminfo, netDev] = await Promise.all([
    readFile(`${proc}/stat`, "utf8"),
    readFile(`${proc}/meminfo`, "utf8"),
    readFile(`${proc}/net/dev`, "utf8"),
  ]);
  return {
    cpuNanos: Math.round(busyNanosOf(stat)),
    memoryBytes: workingSetOf(meminfo),
    ...networkOf(netDev),
  };
}
