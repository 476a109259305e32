import type { Logger } from "@berth/core";
import { decodeTerminalSize, STREAM_CHANNEL, type StreamEnd } from "@berth/protocol";
import type { WebSocket } from "ws";
import type { NodeStream } from "./open";

/**
 * The client's WebSocket of an interactive exec, framed like Kubernetes' `v4`/`v5.channel.k8s.io`:
 * every binary message is a channel byte and its bytes. Client → server: 0 stdin, 4 resize
 * (`{"Width":80,"Height":24}`), 255 close (`[255, 0]`: stdin's EOF). Server → client: 1 stdout,
 * 2 stderr, and last 3 the status as Kubernetes sends it (`{"status":"Success"}`, or `"Failure"`
 * with reason `NonZeroExitCode` and the exit code as the cause), then a normal close.
 */
export const EXEC_SUBPROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"] as const;

/** Kubernetes' metav1.Status for the end of an exec. */
export function execStatus(end: StreamEnd): Record<string, unknown> {
  if (end.exitCode === 0) return { metadata: {}, status: "Success" };
  if (end.exitCode !== undefined && end.exitCode > 0)
    return {
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: exit status ${end.exitCode}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(end.exitCode) }] },
    };
  return {
    metadata: {},
    status: "Failure",
    message: end.message ?? "the stream ended before the command did",
    reason: end.reason ?? "InternalError",
  };
}

const frame = (channel: number, payload: Uint8Array) => {
  const out = Buffer.allocUnsafe(payload.byteLength + 1);
  out[0] = channel;
  out.set(payload, 1);
  return out;
};

export function pipeExecSocket(
  ws: WebSocket,
  stream: NodeStream,
  opts: { stdout: boolean; stderr: boolean; idleTimeoutMs: number; logger: Logger },
): void {
  let idle: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      void stream.close({ ok: false, reason: "Idle", message: "no traffic for too long" });
      ws.close(1000, "idle for too long");
    }, opts.idleTimeoutMs);
    idle.unref?.();
  };
  touch();

  // Node → client, paced: bytes are acknowledged to the node once the socket has flushed them.
  void (async () => {
    for (;;) {
      const m = await stream.next();
      if (m.type === "end") {
        clearTimeout(idle);
        if (ws.readyState === ws.OPEN) {
          ws.send(frame(STREAM_CHANNEL.error, Buffer.from(JSON.stringify(execStatus(m.end)))));
          ws.close(1000);
        }
        await stream.close(m.end);
        return;
      }
      if (m.type !== "data") continue;
      touch();
      const wanted =
        (m.channel === STREAM_CHANNEL.stdout && opts.stdout) ||
        (m.channel === STREAM_CHANNEL.stderr && opts.stderr);
      if (!wanted || ws.readyState !== ws.OPEN) {
        stream.delivered(m.payload.byteLength);
        continue;
      }
      const bytes = m.payload.byteLength;
      ws.send(frame(m.channel, m.payload), () => stream.delivered(bytes));
    }
  })().catch((error: unknown) => opts.logger.warn({ err: error }, "exec stream failed"));

  // Client → node, in order, one message at a time (the socket is paused while the node is behind).
  let chain: Promise<unknown> = Promise.resolve();
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    touch();
    const channel = data[0];
    if (!isBinary || channel === undefined) {
      ws.close(1003, "binary channel-framed messages only");
      return;
    }
    const payload = data.subarray(1);
    if (channel === STREAM_CHANNEL.resize && !decodeTerminalSize(payload)) return;
    if (
      channel !== STREAM_CHANNEL.stdin &&
      channel !== STREAM_CHANNEL.resize &&
      channel !== STREAM_CHANNEL.close
    )
      return;
    ws.pause();
    chain = chain
      .then(() => stream.send({ type: "data", channel, payload }))
      .catch(() => {})
      .finally(() => ws.resume());
  });
  ws.on("close", () => {
    clearTimeout(idle);
    void stream.close({ ok: false, reason: "ClientGone", message: "the client closed the WebSocket" });
  });
  ws.on("error", () => ws.terminate());
}
