import { constants, type Http2Stream } from "node:http2";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";

/**
 * Joins two byte streams both ways, as a TCP proxy does. Each direction is piped, so backpressure
 * holds (a slow reader pauses the other side's reading: a socket's TCP window, an HTTP/2 stream's
 * flow-control window). One side's end (a TCP FIN, an HTTP/2 END_STREAM) ends the other's writing
 * while the reverse direction flows on (half-close); an error, a reset or a close before both
 * directions ended aborts the other side — a socket with a TCP RST, a stream with RST_STREAM.
 * Sockets must be made with `allowHalfOpen`, or their end closes both directions.
 */
export function splice(a: Duplex, b: Duplex): void {
  let aborted = false;
  const abortBoth = () => {
    if (aborted) return;
    aborted = true;
    for (const side of [a, b]) reset(side);
  };
  for (const side of [a, b]) {
    side.on("error", abortBoth);
    side.once("close", () => {
      // Closed cleanly only when both its directions ended: the other side then finishes on its own.
      if (!(side.readableEnded && side.writableFinished)) abortBoth();
    });
  }
  a.pipe(b);
  b.pipe(a);
}

/** A socket is reset (TCP RST), an HTTP/2 stream too (RST_STREAM CONNECT_ERROR, as RFC 9113 §8.5 says for CONNECT). */
export function reset(side: Duplex): void {
  if (side.destroyed) return;
  if (side instanceof Socket && !side.connecting) side.resetAndDestroy();
  else if (isHttp2Stream(side)) side.close(constants.NGHTTP2_CONNECT_ERROR);
  else side.destroy();
}

const isHttp2Stream = (side: Duplex): side is Http2Stream => "rstCode" in side && "session" in side;
