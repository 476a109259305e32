/**
 * Streamed logs and attached exec over the Engine API: `GET /containers/{id}/logs?follow=1…`,
 * `POST /containers/{id}/exec` + `POST /exec/{id}/start` (hijacked), `POST /exec/{id}/resize`,
 * `GET /exec/{id}/json` for the exit code.
 */
import type { Duplex } from "node:stream";
import { z } from "zod";
import { demultiplex, raw, unixSeconds } from "./engine-frames";
import { type EngineClient, type EngineEndpoint, responseError } from "./engine-http";
import { hijackEngine, openEngineStream } from "./engine-streaming";
import {
  type ExecSession,
  type ExecSpec,
  type LogStream,
  type LogStreamOptions,
  RuntimeError,
} from "./types";

export interface StreamDeps {
  endpoint: EngineEndpoint;
  engine: EngineClient;
  /** How long the engine may take to start answering. */
  timeoutMs: number;
}

const containerPath = (id: string, suffix = "") => `/containers/${encodeURIComponent(id)}${suffix}`;

export async function streamContainerLogs(
  deps: StreamDeps,
  id: string,
  opts: LogStreamOptions,
): Promise<LogStream> {
  const body = await openEngineStream(
    deps.endpoint,
    {
      method: "GET",
      path: containerPath(id, "/logs"),
      query: {
        stdout: true,
        stderr: true,
        follow: opts.follow ?? false,
        timestamps: opts.timestamps ?? false,
        tail: opts.tail === undefined ? "all" : Math.max(0, Math.floor(opts.tail)),
        since: opts.since === undefined ? undefined : unixSeconds(opts.since),
        until: opts.until === undefined ? undefined : unixSeconds(opts.until),
      },
    },
    `logs of container ${id}`,
    { headersTimeoutMs: deps.timeoutMs },
  );
  // tail=0 leaves the engine nothing to send: some engines answer with no body at all.
  const chunks = demultiplex(body);
  return {
    [Symbol.asyncIterator]: () => chunks,
    close: () => {
      body.destroy();
    },
  };
}

const execCreatedSchema = z.object({ Id: z.string().min(1) });
const execInspectSchema = z.object({ Running: z.boolean().nullish(), ExitCode: z.number().nullish() });

function parseJson<T>(schema: z.ZodType<T>, body: Buffer, what: string): T {
  try {
    return schema.parse(JSON.parse(body.toString("utf8")));
  } catch (cause) {
    throw new RuntimeError("FAILED", `${what}: unexpected reply from the engine`, { cause });
  }
}

export async function attachExec(deps: StreamDeps, id: string, spec: ExecSpec): Promise<ExecSession> {
  const created = await deps.engine.request({
    method: "POST",
    path: containerPath(id, "/exec"),
    json: {
      AttachStdin: spec.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: spec.tty,
      Cmd: spec.command,
    },
  });
  if (created.status !== 201 && created.status !== 200)
    throw responseError(created, `exec in container ${id}`);
  const execId = parseJson(execCreatedSchema, created.body, "exec create").Id;
  const execPath = `/exec/${encodeURIComponent(execId)}`;
  const attached = await hijackEngine(
    deps.endpoint,
    { method: "POST", path: `${execPath}/start`, json: { Detach: false, Tty: spec.tty } },
    `start exec in container ${id}`,
    { headersTimeoutMs: deps.timeoutMs },
  );
  const socket: Duplex | null = attached.kind === "socket" ? attached.socket : null;
  const source = attached.kind === "socket" ? attached.socket : attached.body;
  if (!spec.stdin) socket?.end();
  const output = spec.tty ? raw(source) : demultiplex(source);

  // Engine API 1.41 has no initial console size (`ConsoleSize` came in 1.42): resize at once.
  const session: ExecSession = {
    output,
    write(data) {
      if (!socket || socket.writableEnded || socket.destroyed) return Promise.resolve();
      if (socket.write(data)) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.once("drain", done);
        socket.once("close", done);
      });
    },
    closeStdin() {
      if (socket && !socket.writableEnded) socket.end();
    },
    async resize(size) {
      const res = await deps.engine.request({
        method: "POST",
        path: `${execPath}/resize`,
        query: { h: size.height, w: size.width },
      });
      // Docker answers 200 (or 201); a process already gone is not worth failing the session for.
      if (res.status >= 300 && res.status !== 404 && res.status !== 409 && res.status !== 500)
        throw responseError(res, `resize exec ${execId}`);
    },
    async exitCode() {
      // The output ends as the process does; the engine records the code a moment later.
      const deadline = Date.now() + 5_000;
      for (;;) {
        const res = await deps.engine.request({ method: "GET", path: `${execPath}/json` });
        if (res.status !== 200) throw responseError(res, `inspect exec ${execId}`);
        const info = parseJson(execInspectSchema, res.body, "exec inspect");
        if (!info.Running) return info.ExitCode ?? -1;
        if (Date.now() > deadline)
          throw new RuntimeError("FAILED", `exec ${execId} still runs after its output ended`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close() {
      source.destroy();
    },
  };
  if (spec.tty && spec.size) await session.resize(spec.size);
  return session;
}
