import { type OutputChunk, RuntimeError } from "./types";

const HEADER_BYTES = 8;
/** The engine writes frames of a line or a read's worth; anything this large is not a frame. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Demultiplexes the engine's framed stream as it arrives (8-byte header: stream byte 1 stdout or
 * 2 stderr, three zero bytes, big-endian uint32 length; then the payload). Reads only as fast as
 * its consumer pulls, so back-pressure reaches the engine's socket. A malformed header fails
 * the stream rather than passing garbage on.
 */
export async function* demultiplex(source: AsyncIterable<Buffer>): AsyncGenerator<OutputChunk> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return head;
  };
  let header: { stream: "stdout" | "stderr"; size: number } | null = null;
  for await (const chunk of source) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    for (;;) {
      if (!header) {
        if (pendingBytes < HEADER_BYTES) break;
        const h = take(HEADER_BYTES);
        const stream = h.readUInt8(0);
        const size = h.readUInt32BE(4);
        if (stream > 2 || h.readUIntBE(1, 3) !== 0 || size > MAX_FRAME_BYTES)
          throw new RuntimeError("FAILED", "the engine sent a malformed output frame");
        header = { stream: stream === 2 ? "stderr" : "stdout", size };
      }
      if (pendingBytes < header.size) break;
      const data = take(header.size);
      const frame = { stream: header.stream, data };
      header = null;
      if (data.length > 0) yield frame;
    }
  }
  if (header || pendingBytes > 0) throw new RuntimeError("FAILED", "the engine's output ended mid-frame");
}

/** A tty's output: one raw stream, all of it stdout. */
export async function* raw(source: AsyncIterable<Buffer>): AsyncGenerator<OutputChunk> {
  for await (const data of source) if (data.length > 0) yield { stream: "stdout", data };
}

/** An RFC 3339 instant as the engines' `since`/`until` take it: Unix seconds with nanoseconds kept. */
export function unixSeconds(instant: string): string {
  const m = /^(.*?T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(instant);
  if (!m)
    throw new RuntimeError("FAILED", `not an RFC 3339 instant: ${JSON.stringify(instant.slice(0, 64))}`);
  const seconds = Math.floor(Date.parse(`${m[1]}${m[3]}`) / 1000);
  if (!Number.isFinite(seconds))
    throw new RuntimeError("FAILED", `not an RFC 3339 instant: ${JSON.stringify(instant.slice(0, 64))}`);
  return `${seconds}.${(m[2] ?? "").padEnd(9, "0")}`;
}
