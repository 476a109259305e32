import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** One load run's figures, as the benches print them. */
export interface LoadResult {
  run: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors (connect, read, write, timeout). */
  errors: number;
  non2xx: number;
}

/** Runs wrk (its own process) with `args` (`--latency` is added) and reads its figures. */
export async function runWrk(run: string, args: string[]): Promise<LoadResult> {
  const { stdout } = await promisify(execFile)("wrk", ["--latency", ...args]);
  const ms = (label: string) => {
    const m = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(stdout);
    if (!m) throw new Error(`wrk printed no ${label}th percentile:\n${stdout}`);
    return Math.round(Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as "us" | "ms" | "s"] * 100) / 100;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    run,
    requestsPerSecond: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0)),
    p50Ms: ms("50"),
    p99Ms: ms("99"),
    errors: socket ? socket.slice(1).reduce((n, x) => n + Number(x), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
  };
}
