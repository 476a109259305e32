/**
 * Kubelet's restart back-off (client-go `flowcontrol.Backoff`, as kubelet uses it for containers):
 * per key, 10 s doubling to 5 min. A container that exits is restarted at once the first time;
 * after that only once `backoff` has passed since it finished. The entry resets when the container
 * ran fine for twice the maximum (10 min) since the back-off last grew.
 */
export const INITIAL_RESTART_BACKOFF_MS = 10_000;
export const MAX_RESTART_BACKOFF_MS = 300_000;

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number,
    private readonly initialMs = INITIAL_RESTART_BACKOFF_MS,
    private readonly maxMs = MAX_RESTART_BACKOFF_MS,
  ) {}

  /** The current back-off of `key` (0 when it has none). */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** Whether `key` must still wait, counting from `eventTime` (when the container finished). */
  inBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (!e || this.expired(eventTime, e)) return false;
    return this.now() - eventTime < e.backoffMs;
  }

  /** When the wait that `inBackOffSince` reports ends. */
  until(key: string, eventTime: number): number {
    return eventTime + this.get(key);
  }

  /** A restart happens now: the next one waits longer (or, after a long good run, starts over). */
  next(key: string, eventTime: number): void {
    const e = this.entries.get(key);
    const backoffMs =
      !e || this.expired(eventTime, e) ? this.initialMs : Math.min(e.backoffMs * 2, this.maxMs);
    this.entries.set(key, { backoffMs, lastUpdate: this.now() });
  }

  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  private expired(eventTime: number, e: Entry): boolean {
    return eventTime - e.lastUpdate > this.maxMs * 2;
  }
}

/** A duration as Go prints it (`10s`, `1m20s`, `5m0s`), as kubelet's messages say it. */
export function goDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  if (total < 60) return `${total}s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}h${m}m${s}s` : `${m}m${s}s`;
}
