/**
 * Commands run in a running container through the Engine API (`POST /containers/{id}/exec`, then
 * `POST /exec/{id}/start`, then `GET /exec/{id}/json` for the exit code): argv only, no shell, as
 * the container's own user. Used for exec probes and lifecycle hooks. The output is read as it
 * comes and kept up to a bound; a command still running at its deadline is killed when the engine
 * is on this host (its host pid, checked to be in the container's cgroup), and reported as timed out.
 */
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { type EngineClient, type EngineEndpoint, parseEndpoint, responseError } from "./engine-http";
import { type ExecResult, RuntimeError } from "./types";

export interface ExecDeps {
  engine: EngineClient;
  endpoint: EngineEndpoint;
  apiVersion?: string;
}

/** Kubelet keeps the first 10 KiB of a probe's output. */
export const DEFAULT_EXEC_OUTPUT_BYTES = 10 * 1024;

export async function execInContainer(
  deps: ExecDeps,
  id: string,
  argv: string[],
  opts: { timeoutMs: number; maxOutputBytes?: number },
): Promise<ExecResult> {
  if (argv.length === 0) throw new RuntimeError("FAILED", "exec needs a command");
  const created = await deps.engine.request({
    method: "POST",
    path: `/containers/${encodeURIComponent(id)}/exec`,
    json: { AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false, Cmd: argv },
  });
  if (created.status !== 201 && created.status !== 200)
    throw responseError(created, `exec in container ${id}`);
  const execId = (JSON.parse(created.body.toString("utf8")) as { Id?: string }).Id;
  if (!execId) throw new RuntimeError("FAILED", `exec in container ${id}: the engine gave no exec id`);

  const max = opts.maxOutputBytes ?? DEFAULT_EXEC_OUTPUT_BYTES;
  const run = await startExec(deps, execId, opts.timeoutMs, max);
  if (run.timedOut) {
    await killExec(deps, execId, id);
    return { exitCode: null, output: framesText(run.output).slice(0, max), timedOut: true };
  }
  const inspected = await deps.engine.request({ method: "GET", path: `/exec/${execId}/json` });
  if (inspected.status !== 200) throw responseError(inspected, `inspect exec ${execId}`);
  const info = JSON.parse(inspected.body.toString("utf8")) as { ExitCode?: number | null; Running?: boolean };
  return {
    exitCode: info.Running ? null : (info.ExitCode ?? null),
    output: framesText(run.output).slice(0, max),
    timedOut: false,
  };
}

/** Streams the exec's output until it ends or the deadline passes; keeps at most `max` bytes of frames. */
function startExec(
  deps: ExecDeps,
  execId: string,
  timeoutMs: number,
  max: number,
): Promise<{ output: Buffer; timedOut: boolean }> {
  const target = parseEndpoint(deps.endpoint);
  const payload = Buffer.from(JSON.stringify({ Detach: false, Tty: false }));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const req = httpRequest(
      {
        method: "POST",
        path: `/${deps.apiVersion ?? "v1.41"}/exec/${execId}/start`,
        headers: { host: "engine", "content-type": "application/json", "content-length": payload.length },
        agent: false,
        ...(target.socketPath !== undefined
          ? { socketPath: target.socketPath }
          : { host: target.host, port: target.port }),
      },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const body: Buffer[] = [];
          res.on("data", (c: Buffer) => body.push(c));
          res.on("end", () =>
            finish(() =>
              reject(
                responseError(
                  { status: res.statusCode ?? 0, body: Buffer.concat(body) },
                  `start exec ${execId}`,
                ),
              ),
            ),
          );
          return;
        }
        // Frames are kept whole (8-byte header + payload) up to the bound; the rest is drained.
        res.on("data", (c: Buffer) => {
          if (kept < max + 4096) {
            chunks.push(c);
            kept += c.length;
          }
        });
        res.on("end", () => finish(() => resolve({ output: Buffer.concat(chunks), timedOut: false })));
        res.on("error", (e) =>
          finish(() => reject(new RuntimeError("UNAVAILABLE", String(e), { cause: e }))),
        );
      },
    );
    const timer = setTimeout(() => {
      finish(() => resolve({ output: Buffer.concat(chunks), timedOut: true }));
      req.destroy();
    }, timeoutMs);
    req.on("error", (e) =>
      finish(() =>
        reject(
          new RuntimeError("UNAVAILABLE", `start exec ${execId}: ${e.message}`, {
            retryable: true,
            cause: e,
          }),
        ),
      ),
    );
    req.end(payload);
  });
}

/**
 * Ends a command that outlived its deadline. The Engine API has no call for it; on this host the
 * exec's pid is a host pid, killed only after checking it belongs to the container's cgroup (a pid
 * may have been reused). With an engine elsewhere the command is left to finish by itself.
 */
async function killExec(deps: ExecDeps, execId: string, containerId: string): Promise<void> {
  if (parseEndpoint(deps.endpoint).socketPath === undefined) return;
  try {
    const res = await deps.engine.request({ method: "GET", path: `/exec/${execId}/json` });
    if (res.status !== 200) return;
    const info = JSON.parse(res.body.toString("utf8")) as {
      Pid?: number;
      Running?: boolean;
      ContainerID?: string;
    };
    const pid = info.Pid ?? 0;
    if (!info.Running || pid <= 1) return;
    const full = info.ContainerID ?? containerId;
    const cgroup = await readFile(`/proc/${pid}/cgroup`, "utf8");
    if (!cgroup.includes(full)) return;
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone already, or not ours to kill: nothing more to do.
  }
}

/** The payloads of multiplexed frames in order; a frame cut short by the bound keeps what arrived. */
export function framesText(body: Buffer): string {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= body.length) {
    const size = body.readUInt32BE(offset + 4);
    if (body.readUInt8(offset) > 2) return body.toString("utf8"); // not framed (a TTY)
    out.push(body.subarray(offset + 8, Math.min(body.length, offset + 8 + size)));
    offset += 8 + size;
  }
  return Buffer.concat(out).toString("utf8");
}
