import { instantSchema } from "@berth/core";
import { LOG_MAX_TAIL_LINES, STREAM_CHANNEL, type StreamEnd } from "@berth/protocol";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import type { RequestMeta, StreamReply } from "../operation";
import { type NodeStream, openNodeStream } from "../streams/open";
import { locateContainer, podStreamRef, queryBool, queryInt } from "./pod-streams";

/** Kubernetes' PodLogOptions, as query parameters (`kubectl logs` sends these). */
export const podLogsInput = z
  .object({
    ...podStreamRef,
    follow: queryBool.optional(),
    previous: queryBool.optional(),
    timestamps: queryBool.optional(),
    tailLines: queryInt(7, 0, LOG_MAX_TAIL_LINES).optional(),
    sinceSeconds: queryInt(10, 1, 10 * 366 * 86_400).optional(),
    sinceTime: instantSchema.optional(),
    limitBytes: queryInt(15, 1, 2 ** 40).optional(),
    /** Sent by kubectl with --insecure-skip-tls-verify-backend; Berth's agents dial out, so it means nothing here. */
    insecureSkipTLSVerifyBackend: queryBool.optional(),
  })
  .strict()
  .refine((i) => i.sinceSeconds === undefined || i.sinceTime === undefined, {
    message: "at most one of sinceTime or sinceSeconds may be specified",
    path: ["sinceSeconds"],
  });

/**
 * A container's log, streamed from its node as it is read (`text/plain`): the current instance,
 * or with `previous` the last terminated one; `follow` keeps passing new lines until the
 * container ends or the client goes away (then the node stops reading too). At most `limitBytes`
 * (and never more than the configured maximum).
 */
export async function streamPodLogs(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof podLogsInput>,
  request: RequestMeta,
): Promise<StreamReply> {
  const target = await locateContainer(deps, caller, input);
  const limitBytes = Math.min(input.limitBytes ?? Number.POSITIVE_INFINITY, deps.streams.limits.logMaxBytes);
  const stream = await openNodeStream(
    deps,
    target,
    {
      kind: "logs",
      logs: {
        follow: input.follow ?? false,
        previous: input.previous ?? false,
        timestamps: input.timestamps ?? false,
        limitBytes,
        ...(input.tailLines !== undefined ? { tailLines: input.tailLines } : {}),
        ...(input.sinceSeconds !== undefined ? { sinceSeconds: input.sinceSeconds } : {}),
        ...(input.sinceTime !== undefined ? { sinceTime: input.sinceTime } : {}),
      },
    },
    request.signal,
  );
  return { contentType: "text/plain; charset=utf-8", body: logBody(stream, limitBytes) };
}

/**
 * The log as a response body, read from the node only as fast as the client takes it: each chunk
 * is acknowledged (letting the node send more) when the client's connection has taken it.
 */
function logBody(stream: NodeStream, limitBytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  const finish = (end?: StreamEnd) => stream.close(end);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          const m = await stream.next();
          if (m.type === "end") {
            await finish(m.end);
            controller.close();
            return;
          }
          if (
            m.type !== "data" ||
            (m.channel !== STREAM_CHANNEL.stdout && m.channel !== STREAM_CHANNEL.stderr)
          )
            continue;
          const room = limitBytes - sent;
          const chunk = m.payload.byteLength > room ? m.payload.subarray(0, room) : m.payload;
          sent += chunk.byteLength;
          if (chunk.byteLength > 0) controller.enqueue(chunk);
          stream.delivered(m.payload.byteLength);
          if (sent >= limitBytes) {
            await finish({ ok: true, reason: "LimitReached", message: `${limitBytes} bytes sent` });
            controller.close();
          }
          return;
        }
      },
      async cancel() {
        await finish({ ok: false, reason: "ClientGone", message: "the client went away" });
      },
    },
    { highWaterMark: 0 },
  );
}
