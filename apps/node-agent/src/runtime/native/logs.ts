/**
 * A container's log as the shim writes it, in CRI's format: one record per line written,
 * `<RFC 3339 with nanoseconds> stdout|stderr F|P <bytes>` (F: the line ended; P: a piece of a line
 * not ended yet). Read whole, filtered by time and tail, or followed by polling the file; the shim
 * rotates it to `<log>.1` past a size, and both are read.
 */
import { type FileHandle, open, stat } from "node:fs/promises";
import type { LogStream, LogStreamOptions, OutputChunk } from "../types";

export interface LogRecord {
  time: string;
  stream: "stdout" | "stderr";
  data: Buffer;
}

/** Parses complete record lines of `buf`; returns them and the bytes of an unfinished last line. */
export function parseRecords(buf: Buffer): { records: LogRecord[]; rest: Buffer } {
  const records: LogRecord[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    const line = buf.subarray(start, nl);
    start = nl + 1;
    const s1 = line.indexOf(32);
    const s2 = line.indexOf(32, s1 + 1);
    const s3 = line.indexOf(32, s2 + 1);
    if (s1 < 0 || s2 < 0 || s3 < 0) continue;
    const stream = line.subarray(s1 + 1, s2).toString("latin1") === "stderr" ? "stderr" : "stdout";
    const full = line[s2 + 1] === 70; // "F"
    const data = line.subarray(s3 + 1);
    records.push({
      time: line.subarray(0, s1).toString("latin1"),
      stream,
      data: full ? Buffer.concat([data, Buffer.from("\n")]) : Buffer.from(data),
    });
  }
  return { records, rest: Buffer.from(buf.subarray(start)) };
}

/** Nanoseconds since the epoch of an RFC 3339 instant, keeping every digit of its fraction. */
export function instantNanos(time: string): bigint {
  const m = /^(.*?:\d{2})(\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(time.trim());
  if (!m) {
    const ms = Date.parse(time);
    if (Number.isNaN(ms)) throw new Error(`not an instant: ${time}`);
    return BigInt(ms) * 1_000_000n;
  }
  const seconds = Date.parse(`${m[1]}${m[4]}`);
  const fraction = (m[3] ?? "").padEnd(9, "0").slice(0, 9);
  return BigInt(seconds) * 1_000_000n + BigInt(fraction);
}

/** Reads what is appended to a log, across the shim's rotations (a new file under the name). */
class LogTail {
  private fh: FileHandle | null = null;
  private ino = -1;
  private offset = 0;
  private rest: Buffer = Buffer.alloc(0);

  constructor(private readonly path: string) {}

  async read(): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    if (!this.fh) {
      this.fh = await open(this.path, "r").catch(() => null);
      if (!this.fh) return out;
      this.ino = (await this.fh.stat()).ino;
    }
    out.push(...(await this.drain(this.fh)));
    const now = await stat(this.path).catch(() => null);
    if (now && now.ino !== this.ino) {
      // Rotated: what was written to the old file before it was, then the new one from its start.
      out.push(...(await this.drain(this.fh)));
      await this.close();
      out.push(...(await this.read()));
    }
    return out;
  }

  private async drain(fh: FileHandle): Promise<LogRecord[]> {
    const { size } = await fh.stat();
    if (size <= this.offset) return [];
    const buf = Buffer.alloc(size - this.offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
    this.offset += bytesRead;
    const parsed = parseRecords(Buffer.concat([this.rest, buf.subarray(0, bytesRead)]));
    this.rest = parsed.rest;
    return parsed.records;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
    this.offset = 0;
    this.rest = Buffer.alloc(0);
  }
}

/** The records of the log and of the one rotated before it, oldest first. */
export async function readLogs(path: string): Promise<LogRecord[]> {
  return [...(await readLog(`${path}.1`)), ...(await readLog(path))];
}

async function readLog(path: string): Promise<LogRecord[]> {
  const fh = await open(path, "r").catch(() => null);
  if (!fh) return [];
  try {
    return parseRecords(await fh.readFile()).records;
  } finally {
    await fh.close();
  }
}

/** Picks records as the options say: the last `tail` first, then the time window. */
export function selectRecords(records: LogRecord[], opts: LogStreamOptions): LogRecord[] {
  let out = opts.tail === undefined ? records : opts.tail <= 0 ? [] : records.slice(-Math.floor(opts.tail));
  if (opts.since !== undefined) {
    const since = instantNanos(opts.since);
    out = out.filter((r) => instantNanos(r.time) >= since);
  }
  if (opts.until !== undefined) {
    const until = instantNanos(opts.until);
    out = out.filter((r) => instantNanos(r.time) <= until);
  }
  return out;
}

function toChunk(r: LogRecord, timestamps: boolean | undefined): OutputChunk {
  return { stream: r.stream, data: timestamps ? Buffer.concat([Buffer.from(`${r.time} `), r.data]) : r.data };
}

/**
 * The log as a stream; with `follow`, new records as they are written until `stopped()` says the
 * container has ended (and what it wrote last has been read), or `close()`.
 */
export function streamLog(
  path: string,
  opts: LogStreamOptions,
  stopped: () => boolean,
  pollMs = 100,
): LogStream {
  let closed = false;
  let wake: (() => void) | null = null;
  async function* generate(): AsyncGenerator<OutputChunk> {
    const tail = new LogTail(path);
    try {
      const first = [...(await readLog(`${path}.1`)), ...(await tail.read())];
      for (const r of selectRecords(first, opts)) yield toChunk(r, opts.timestamps);
      if (!opts.follow) return;
      const until = opts.until === undefined ? null : instantNanos(opts.until);
      while (!closed) {
        const ended = stopped();
        for (const r of await tail.read()) {
          if (until !== null && instantNanos(r.time) > until) return;
          if (closed) return;
          yield toChunk(r, opts.timestamps);
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    } finally {
      await tail.close();
    }
  }
  const iterator = generate();
  return {
    [Symbol.asyncIterator]: () => iterator,
    close() {
      closed = true;
      wake?.();
    },
  };
}
