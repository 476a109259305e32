import { decodeTerminalSize, type ExecOptions, STREAM_CHANNEL, type StreamEnd } from "@berth/protocol";
import { type ContainerRuntime, isRuntimeError } from "../runtime";
import { Coalescer, type StreamConnection } from "./connection";

/**
 * Runs an exec for the connection: starts the process in the container, passes stdin, resizes
 * and stdin's EOF from the client, sends its output (at most `outputLimitBytes` per stream when
 * asked; the rest is read and dropped) and at the end its exit code. The client going away
 * detaches from the process (its stdin closes; a tty hangs up).
 */
export async function runExec(
  runtime: ContainerRuntime,
  containerId: string,
  o: ExecOptions,
  conn: StreamConnection,
  names: { pod: string; container: string },
): Promise<StreamEnd> {
  let session: Awaited<ReturnType<ContainerRuntime["exec"]>>;
  try {
    session = await runtime.exec(containerId, {
      command: o.command,
      stdin: o.stdin,
      tty: o.tty,
      ...(o.size ? { size: { width: o.size.Width, height: o.size.Height } } : {}),
    });
  } catch (error) {
    if (isRuntimeError(error, "CONFLICT") || isRuntimeError(error, "NOT_FOUND"))
      return {
        ok: false,
        reason: "ContainerNotRunning",
        message: `container "${names.container}" in pod "${names.pod}" is not running`,
      };
    throw error;
  }
  void conn.closed.then(() => session.close());
  // In the order the client sent them: a resize is done before the input that follows it.
  let inbound: Promise<unknown> = Promise.resolve();
  conn.onData((channel, payload) => {
    inbound = inbound
      .then(async () => {
        if (channel === STREAM_CHANNEL.stdin) await session.write(payload);
        else if (channel === STREAM_CHANNEL.resize) {
          const size = decodeTerminalSize(payload);
          if (size) await session.resize({ width: size.Width, height: size.Height });
        } else if (channel === STREAM_CHANNEL.close && payload[0] === STREAM_CHANNEL.stdin)
          session.closeStdin();
      })
      .catch(() => {});
  });
  await conn.send({ type: "started" });
  const out = new Coalescer(conn);
  const limit = o.outputLimitBytes ?? Number.POSITIVE_INFINITY;
  const sent = { stdout: 0, stderr: 0 };
  let truncated = false;
  try {
    for await (const chunk of session.output) {
      if (conn.isClosed) break;
      const room = limit - sent[chunk.stream];
      const data = chunk.data.length > room ? chunk.data.subarray(0, Math.max(0, room)) : chunk.data;
      if (data.length < chunk.data.length) truncated = true;
      if (data.length === 0) continue;
      sent[chunk.stream] += data.length;
      await out.write(chunk.stream === "stderr" ? STREAM_CHANNEL.stderr : STREAM_CHANNEL.stdout, data);
    }
  } catch (error) {
    // Detaching (the client went away) ends the read with an error: expected.
    if (!conn.isClosed) throw error;
  } finally {
    await out.flush().catch(() => {});
  }
  if (conn.isClosed) {
    session.close();
    return { ok: false, reason: "ClientGone" };
  }
  const exitCode = await session.exitCode();
  return { ok: true, exitCode: Math.max(-1, Math.min(255, exitCode)), ...(truncated ? { truncated } : {}) };
}
