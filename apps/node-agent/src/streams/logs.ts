import { type LogOptions, STREAM_CHANNEL, type StreamEnd } from "@berth/protocol";
import type { ContainerInfo, ContainerRuntime, LogStreamOptions } from "../runtime";
import { Coalescer, type StreamConnection } from "./connection";
import type { RunHistory } from "./runs";

/** Where a log request reads: which container, which window of its log, and whose tail. */
export interface LogPlan {
  containerId: string;
  engine: LogStreamOptions;
  /** Lines to keep from the end of a window that is not the log's end (the engine's tail cannot). */
  ownTail: number | undefined;
}

export class LogRefusal extends Error {
  constructor(
    readonly reason: "BadRequest" | "NotFound",
    message: string,
  ) {
    super(message);
  }
}

const latest = (a: string | null, b: string | null): string | null => {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
};

/**
 * Kubernetes' log semantics over the engine's one log per container: the current instance is the
 * newest container's log since its last in-place restart; `previous` the run before that (or the
 * container before, when restarts made new ones). `sinceSeconds` counts by this node's clock.
 */
export function planLogs(
  candidates: readonly ContainerInfo[],
  history: RunHistory,
  o: LogOptions,
  names: { pod: string; container: string },
  now = Date.now(),
): LogPlan {
  const newest = [...candidates].sort(
    (a, b) =>
      Date.parse(b.startedAt ?? "1970-01-01T00:00:00Z") - Date.parse(a.startedAt ?? "1970-01-01T00:00:00Z"),
  );
  const current = newest[0];
  if (!current || current.startedAt === null)
    throw new LogRefusal(
      "BadRequest",
      `container "${names.container}" in pod "${names.pod}" is waiting to start: ContainerCreating`,
    );
  const asked =
    o.sinceSeconds !== undefined
      ? new Date(now - o.sinceSeconds * 1000).toISOString()
      : (o.sinceTime ?? null);
  let containerId = current.id;
  let since: string | null;
  let until: string | undefined;
  if (o.previous) {
    const runs = history.boundaries(current.id);
    const before = newest[1];
    if (runs.length > 0) {
      until = runs[runs.length - 1];
      since = runs.length > 1 ? (runs[runs.length - 2] ?? null) : null;
    } else if (before) {
      containerId = before.id;
      since = history.boundaries(before.id).at(-1) ?? null;
    } else
      throw new LogRefusal(
        "BadRequest",
        `previous terminated container "${names.container}" in pod "${names.pod}" not found`,
      );
  } else since = history.boundaries(current.id).at(-1) ?? null;
  since = latest(since, asked);
  const windowEndsLog = until === undefined;
  return {
    containerId,
    engine: {
      follow: o.follow && !o.previous,
      timestamps: o.timestamps,
      ...(since !== null ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      // The engine takes its tail from the end of the whole log, then filters by time (as the
      // kubelet does): right for the last window, not for an earlier one.
      ...(windowEndsLog && o.tailLines !== undefined ? { tail: o.tailLines } : {}),
    },
    ownTail: windowEndsLog ? undefined : o.tailLines,
  };
}

const newlines = (b: Buffer): number => {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
};

/** Lines in a window of the log (a last unterminated line counts). */
async function countLines(runtime: ContainerRuntime, plan: LogPlan): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const c of await runtime.streamLogs(plan.containerId, plan.engine)) {
    lines += newlines(c.data);
    last = c.data[c.data.length - 1] ?? last;
  }
  return lines + (last === 10 ? 0 : 1);
}

/** Sends the planned log to the connection, at most `limitBytes`; says how it ended. */
export async function sendLogs(
  runtime: ContainerRuntime,
  plan: LogPlan,
  limitBytes: number,
  conn: StreamConnection,
): Promise<StreamEnd> {
  let skip = plan.ownTail === undefined ? 0 : Math.max(0, (await countLines(runtime, plan)) - plan.ownTail);
  const stream = await runtime.streamLogs(plan.containerId, plan.engine);
  void conn.closed.then(() => stream.close());
  await conn.send({ type: "started" });
  const out = new Coalescer(conn);
  let sent = 0;
  try {
    for await (const chunk of stream) {
      if (conn.isClosed) break;
      let data = chunk.data;
      while (skip > 0 && data.length > 0) {
        const nl = data.indexOf(10);
        if (nl === -1) {
          data = data.subarray(data.length);
          break;
        }
        data = data.subarray(nl + 1);
        skip--;
      }
      if (data.length === 0) continue;
      const room = limitBytes - sent;
      if (data.length > room) data = data.subarray(0, room);
      sent += data.length;
      // A log is one text: stderr's lines go where stdout's do, in the order written.
      await out.write(STREAM_CHANNEL.stdout, data);
      if (sent >= limitBytes) break;
    }
  } catch (error) {
    // Closing the engine's stream (the client went away) ends the read with an error: expected.
    if (!conn.isClosed) throw error;
  } finally {
    stream.close();
  }
  await out.flush();
  return { ok: true, ...(sent >= limitBytes ? { reason: "LimitReached" } : {}) };
}
