import { createHash, randomBytes } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "@berth/core";
import type { AgentAnnouncement } from "@berth/protocol";

/** The exit status of an agent that replaced its own bundle: its command starts it again (EX_TEMPFAIL). */
export const SELF_UPDATE_EXIT_CODE = 75;

export interface SelfUpdateOptions {
  /** The bundle this process runs from, and its SHA-256. */
  bundle: { file: string; sha256: string };
  /** The control plane's address: announced URLs are relative to it. */
  server: string;
  logger: Logger;
  /** The new bundle is in place: stop (the pods keep running) and exit with SELF_UPDATE_EXIT_CODE. */
  onReplaced: (version: string) => void;
  /** Back-off after a failed attempt, doubling up to `maxMs` (default 5 s to 5 minutes). */
  backoff?: { initialMs: number; maxMs: number };
  /** How long a download may take (default 2 minutes). */
  timeoutMs?: number;
  now?: () => number;
}

/**
 * The agent's side of drain-free updates: when its control plane announces a bundle other than
 * the one this process runs from, it downloads it, checks its SHA-256, puts it in place of its own
 * file atomically (a temporary file in the same directory, synced, then renamed) and asks to be
 * restarted; nothing touches the pods. A failed download or a checksum that differs leaves the
 * file as it was and is tried again after a back-off.
 */
export class SelfUpdater {
  private busy = false;
  private failures = 0;
  private notBefore = 0;
  private replaced = false;

  constructor(private readonly opts: SelfUpdateOptions) {}

  /**
   * A heartbeat reply's announcement: acted on when it names other bytes than ours, unless an
   * attempt runs or waits out its back-off. Settles when the attempt it started (if any) ends.
   */
  offer(announced: AgentAnnouncement | undefined): Promise<void> {
    if (!announced || announced.sha256 === this.opts.bundle.sha256) return Promise.resolve();
    if (this.busy || this.replaced || this.now() < this.notBefore) return Promise.resolve();
    this.busy = true;
    return this.update(announced).finally(() => {
      this.busy = false;
    });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private async update(a: AgentAnnouncement): Promise<void> {
    const { logger, bundle } = this.opts;
    logger.info({ version: a.version }, "the control plane serves another agent: updating this one");
    try {
      await replaceFile(bundle.file, await this.download(a));
    } catch (error) {
      this.failures += 1;
      const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 5_000, maxMs: 300_000 };
      const delay = Math.min(initialMs * 2 ** (this.failures - 1), maxMs);
      this.notBefore = this.now() + delay;
      logger.warn(
        { version: a.version, err: (error as Error).message, failures: this.failures, retryInMs: delay },
        "could not update the agent; it keeps running as it is",
      );
      return;
    }
    this.replaced = true;
    logger.info(
      { version: a.version, file: bundle.file, sha256: a.sha256 },
      "agent updated (checksum verified): restarting into it; pods keep running",
    );
    this.opts.onReplaced(a.version);
  }

  private async download(a: AgentAnnouncement): Promise<Buffer> {
    const url = new URL(a.url, this.opts.server);
    const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 120_000) });
    if (!res.ok) throw new Error(`GET ${url.pathname}: HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const got = createHash("sha256").update(bytes).digest("hex");
    if (got !== a.sha256) throw new Error(`checksum mismatch: got ${got}, want ${a.sha256}`);
    return bytes;
  }
}

/** Writes `bytes` over `file` atomically: a synced temporary file beside it, renamed over it. */
async function replaceFile(file: string, bytes: Buffer): Promise<void> {
  const { mode } = await stat(file);
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const handle = await open(tmp, "wx", mode & 0o777);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    // The rename itself survives a power cut once the directory is synced.
    const dir = await open(dirname(file), "r");
    await dir.sync().finally(() => dir.close());
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
