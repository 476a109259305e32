import { BerthError, ValidationError } from "@berth/core";
import { execCommandSchema, STREAM_CHANNEL, text } from "@berth/protocol";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import type { RequestMeta, SocketReply } from "../operation";
import { pipeExecSocket } from "../streams/exec-socket";
import { openNodeStream } from "../streams/open";
import { locateContainer, podStreamRef, queryBool } from "./pod-streams";

export const podExecInput = z
  .object({
    ...podStreamRef,
    command: execCommandSchema,
    /** How long the command may run (default and longest: EXEC_TIMEOUT_SECONDS, EXEC_MAX_TIMEOUT_SECONDS). */
    timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .strict();

/** What the audit log keeps of an exec: what was run where, never what it printed. */
export const execAuditDetails = (i: {
  command: string[];
  container?: string | undefined;
  tty?: boolean | undefined;
  stdin?: boolean | undefined;
}) => ({
  command: i.command,
  ...(i.container ? { container: i.container } : {}),
  ...(i.tty !== undefined ? { tty: i.tty } : {}),
  ...(i.stdin !== undefined ? { stdin: i.stdin } : {}),
});

export const execReply = z.strictObject({
  stdout: z.string(),
  stderr: z.string(),
  exitCode: z.number().int().nullable().describe("null when the command did not finish within its time"),
  truncated: z.boolean().describe("output past EXEC_MAX_OUTPUT_BYTES (per stream) was dropped"),
  timedOut: z.boolean(),
});
type ExecResult = z.output<typeof execReply>;

/**
 * Runs a command in a running container of a pod and returns its output (bounded) and exit code;
 * past its timeout the connection to it is closed (its stdin ends, as with kubectl) and what it
 * printed so far comes back with `timedOut`.
 */
export async function execInPod(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof podExecInput>,
  request: RequestMeta,
): Promise<ExecResult> {
  const limits = deps.streams.limits;
  const timeoutMs = (input.timeoutSeconds ?? limits.execDefaultTimeoutMs / 1000) * 1000;
  if (timeoutMs > limits.execMaxTimeoutMs)
    throw new ValidationError(`timeoutSeconds: at most ${limits.execMaxTimeoutMs / 1000}`);
  const target = await locateContainer(deps, caller, input);
  const stream = await openNodeStream(
    deps,
    target,
    {
      kind: "exec",
      exec: { command: input.command, stdin: false, tty: false, outputLimitBytes: limits.execMaxOutputBytes },
    },
    request.signal,
  );
  const out = { stdout: [] as Uint8Array[], stderr: [] as Uint8Array[] };
  const decode = (parts: Uint8Array[]) => Buffer.concat(parts).toString("utf8");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    for (;;) {
      const m = await Promise.race([stream.next(), timedOut]);
      if (m === "timeout") {
        await stream.close({
          ok: false,
          reason: "Timeout",
          message: `the command ran longer than ${timeoutMs / 1000} s`,
        });
        return {
          stdout: decode(out.stdout),
          stderr: decode(out.stderr),
          exitCode: null,
          truncated: false,
          timedOut: true,
        };
      }
      if (m.type === "data") {
        if (m.channel === STREAM_CHANNEL.stdout) out.stdout.push(m.payload);
        else if (m.channel === STREAM_CHANNEL.stderr) out.stderr.push(m.payload);
        stream.delivered(m.payload.byteLength);
      } else if (m.type === "end") {
        await stream.close(m.end);
        if (m.end.exitCode === undefined)
          throw new BerthError(
            "NODE_UNAVAILABLE",
            `the command's stream from node ${JSON.stringify(target.nodeName)} was cut: ${m.end.message ?? m.end.reason ?? "no reason given"}`,
            { retryable: true },
          );
        return {
          stdout: decode(out.stdout),
          stderr: decode(out.stderr),
          exitCode: m.end.exitCode,
          truncated: m.end.truncated ?? false,
          timedOut: false,
        };
      }
    }
  } finally {
    clearTimeout(timer);
    await stream.close();
  }
}

/** `command` may be repeated (`?command=sh&command=-c&command=…`, as kubectl sends it). */
export const podExecSocketInput = z
  .object({
    ...podStreamRef,
    command: z
      .union([text(4096, 1), z.array(z.unknown())])
      .transform((c) => (typeof c === "string" ? [c] : c))
      .pipe(execCommandSchema),
    stdin: queryBool.optional(),
    stdout: queryBool.optional(),
    stderr: queryBool.optional(),
    tty: queryBool.optional(),
  })
  .strict();

/**
 * `kubectl exec -it`: a command attached over a WebSocket (channel-framed, see streams/exec-socket.ts).
 * The node must have started the command before the WebSocket is accepted, so a refusal is an
 * ordinary HTTP error.
 */
export async function execInPodInteractive(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof podExecSocketInput>,
  request: RequestMeta,
): Promise<SocketReply> {
  const target = await locateContainer(deps, caller, input);
  if (!request.upgrade)
    throw new ValidationError(
      "an interactive exec needs a WebSocket (Connection: Upgrade, Upgrade: websocket); POST to the same path runs a command and returns its output",
    );
  const tty = input.tty ?? false;
  const stream = await openNodeStream(
    deps,
    target,
    { kind: "exec", exec: { command: input.command, stdin: input.stdin ?? false, tty } },
    request.signal,
  );
  return {
    attach: (socket) =>
      pipeExecSocket(socket, stream, {
        stdout: input.stdout ?? true,
        stderr: (input.stderr ?? true) && !tty,
        idleTimeoutMs: deps.streams.limits.idleTimeoutMs,
        logger: deps.logger,
      }),
    abandon: () =>
      stream.close({ ok: false, reason: "ClientGone", message: "the WebSocket was not accepted" }),
  };
}
