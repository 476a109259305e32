import { createSpinner } from "nanospinner";
import { CliError } from "./errors";
import type { Runtime } from "./runtime";

/**
 * Waits until `probe` says done, showing what it waits for and the time so far: a spinner on a
 * terminal, one line per change of state otherwise (logs, CI). Gives up after `timeoutMs`.
 */
export async function waitFor<T>(
  rt: Runtime,
  opts: {
    what: string;
    probe: () => Promise<{ done: boolean; state: string; value: T; failed?: string }>;
    timeoutMs: number;
    intervalMs?: number;
  },
): Promise<T> {
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  const tty = rt.io.stderr.isTTY === true;
  const spinner = tty
    ? createSpinner(opts.what, { stream: rt.io.stderr as NodeJS.WriteStream }).start()
    : undefined;
  let last = "";
  try {
    for (;;) {
      const r = await opts.probe();
      const line = `${opts.what}: ${r.state}`;
      if (r.failed) throw new CliError(`${opts.what}: ${r.failed}`);
      if (r.done) {
        if (spinner) spinner.success({ text: `${line} (${elapsed()})` });
        else rt.note(`${line} (${elapsed()})`);
        return r.value;
      }
      if (spinner) spinner.update({ text: `${line} (${elapsed()})` });
      else if (r.state !== last) rt.note(`${line} (${elapsed()})`);
      last = r.state;
      if (Date.now() - started > opts.timeoutMs)
        throw new CliError(
          `${opts.what}: still ${r.state} after ${elapsed()} (gave up; --timeout to wait longer)`,
        );
      await new Promise((ok) => setTimeout(ok, opts.intervalMs ?? 1000));
    }
  } catch (error) {
    spinner?.error({ text: `${opts.what} (${elapsed()})` });
    throw error;
  }
}

/** `--timeout 5m` / `90s` / `300` (seconds) in milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new CliError(`not a duration: ${value} (e.g. 90s, 5m)`, 2);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as "ms" | "s" | "m" | "h"];
}
