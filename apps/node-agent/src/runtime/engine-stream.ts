/**
 * Decoders for the engine's streamed bodies: multiplexed logs and image-pull progress.
 */

const FRAME_HEADER_BYTES = 8;

/**
 * Logs of a container without a TTY come as frames: 1 byte stream (0 stdin, 1 stdout, 2 stderr),
 * 3 zero bytes, a big-endian uint32 length, then the payload. Frames are joined in order, so
 * stdout and stderr stay interleaved as written. A body that is not a well-formed frame sequence
 * (a TTY container's raw stream) is returned as is.
 */
export function demultiplexLogs(body: Buffer): string {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (body.length - offset < FRAME_HEADER_BYTES) return body.toString("utf8");
    const stream = body.readUInt8(offset);
    const padding = body.readUIntBE(offset + 1, 3);
    const size = body.readUInt32BE(offset + 4);
    const end = offset + FRAME_HEADER_BYTES + size;
    if (stream > 2 || padding !== 0 || end > body.length) return body.toString("utf8");
    payloads.push(body.subarray(offset + FRAME_HEADER_BYTES, end));
    offset = end;
  }
  return Buffer.concat(payloads).toString("utf8");
}

/**
 * `POST /images/create` answers 200 and reports failure inside the JSON-lines progress stream
 * (`{"error": "...", "errorDetail": {"message": "..."}}`). Returns that message, or null.
 */
export function pullStreamError(body: Buffer): string | null {
  for (const line of body.toString("utf8").split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      continue;
    }
    if (!parsed || typeof parsed !== "object") continue;
    if ("error" in parsed && typeof parsed.error === "string" && parsed.error !== "") return parsed.error;
    if ("errorDetail" in parsed && parsed.errorDetail && typeof parsed.errorDetail === "object") {
      const detail = parsed.errorDetail;
      if ("message" in detail && typeof detail.message === "string" && detail.message !== "")
        return detail.message;
    }
  }
  return null;
}

/** Registry errors that may clear up by themselves (network), as opposed to "no such image". */
export function isTransientPullError(message: string): boolean {
  return /connection refused|no such host|i\/o timeout|timed out|TLS handshake|connection reset|temporary|too many requests|status 5\d\d|service unavailable/i.test(
    message,
  );
}
