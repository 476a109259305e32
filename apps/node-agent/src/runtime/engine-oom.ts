/**
 * Which containers the kernel OOM-killed, from the kernel log. Engines report it as
 * `State.OOMKilled`, but only when their monitor sees the cgroup's OOM event; Podman 4.3's conmon
 * on a cgroup v1/v2 hybrid host watches the (memory-less) unified hierarchy and never does
 * (reproduced: a container killed at its 16 MiB limit reports `OOMKilled: false`, exit code 137).
 * The kernel says it every time, naming the container's memory cgroup:
 *
 *   oom-kill:constraint=CONSTRAINT_MEMCG,…,oom_memcg=/libpod_parent/libpod-<64 hex id>,task_memcg=…
 *
 * `/dev/kmsg` is read without blocking (one record per read), from where the previous read ended;
 * the first read takes the whole ring buffer, so a kill that happened while the agent was down is
 * found too. Needs root on the engine's host; without it (or with an engine elsewhere) this finds
 * nothing and the engine's own flag is all there is.
 */
import { close, constants, open, read } from "node:fs";

const RECORD_BYTES = 8192;
const REMEMBERED = 4096;
const OOM_LINE = /oom-kill:.*?(?:oom_memcg|task_memcg)=/;
const CONTAINER_ID = /[0-9a-f]{64}/g;

export interface OomLog {
  /** Whether the kernel logged an OOM kill in the container's memory cgroup. */
  killed(containerId: string): Promise<boolean>;
  close(): Promise<void>;
}

export function createKernelOomLog(path = "/dev/kmsg"): OomLog {
  const seen = new Set<string>();
  let fd: number | null = null;
  let unavailable = false;
  let reading: Promise<void> | null = null;

  async function drain(): Promise<void> {
    if (unavailable) return;
    try {
      fd ??= await new Promise<number>((resolve, reject) =>
        open(path, constants.O_RDONLY | constants.O_NONBLOCK, (e, n) => (e ? reject(e) : resolve(n))),
      );
    } catch {
      unavailable = true;
      return;
    }
    const buffer = Buffer.alloc(RECORD_BYTES);
    for (;;) {
      let n: number;
      try {
        n = await readRecord(fd, buffer);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EPIPE") continue; // records were overwritten before we read them
        if (code !== "EAGAIN") unavailable = true;
        return;
      }
      if (n <= 0) return;
      const line = buffer.toString("utf8", 0, n);
      if (!OOM_LINE.test(line)) continue;
      for (const id of line.match(CONTAINER_ID) ?? []) remember(id);
    }
  }

  function remember(id: string): void {
    seen.delete(id);
    seen.add(id);
    if (seen.size > REMEMBERED) seen.delete(seen.values().next().value as string);
  }

  return {
    async killed(containerId) {
      reading ??= drain().finally(() => {
        reading = null;
      });
      await reading;
      return seen.has(containerId);
    },
    async close() {
      await reading;
      if (fd !== null) {
        const open = fd;
        await new Promise<void>((resolve) => close(open, () => resolve()));
      }
      fd = null;
    },
  };
}

function readRecord(fd: number, buffer: Buffer): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, buffer.length, null, (error, n) => (error ? reject(error) : resolve(n))),
  );
}
