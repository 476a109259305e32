import { WebSocket } from "ws";
import { CliError } from "./errors";
import type { Io } from "./runtime";

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const CLOSE = 255;

/** The exit code in Kubernetes' exec status (`Failure`, `NonZeroExitCode`, `details.causes`). */
function exitCodeOf(status: {
  status?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}): number {
  if (status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  if (cause?.message && /^\d+$/.test(cause.message)) return Number(cause.message);
  throw new CliError(status.message ?? "the command failed");
}

/**
 * `exec -i`/`-it` over the API's WebSocket (`v5.channel.k8s.io`): stdin goes on channel 0 (its end
 * as `[255, 0]`), the terminal's size on 4, stdout and stderr come on 1 and 2, the exit status on 3.
 * Resolves with the command's exit code.
 */
export function execInteractive(
  io: Io,
  opts: { url: string; token: string; stdin: boolean; tty: boolean },
): Promise<number> {
  const ws = new WebSocket(opts.url, ["v5.channel.k8s.io"], {
    headers: { authorization: `Bearer ${opts.token}` },
  });
  const send = (channel: number, data: Buffer | string) =>
    ws.readyState === WebSocket.OPEN && ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
  const stdout = io.stdout as NodeJS.WriteStream;
  const raw = opts.tty && io.stdin.isTTY === true && typeof io.stdin.setRawMode === "function";
  return new Promise<number>((resolve, reject) => {
    let exitCode: number | undefined;
    let failure: Error | undefined;
    const onInput = (chunk: Buffer | string) => send(STDIN, chunk);
    const onEnd = () => ws.readyState === WebSocket.OPEN && ws.send(Buffer.from([CLOSE, STDIN]));
    const resize = () =>
      send(RESIZE, JSON.stringify({ Width: stdout.columns ?? 80, Height: stdout.rows ?? 24 }));
    const cleanup = () => {
      io.stdin.off("data", onInput);
      io.stdin.off("end", onEnd);
      stdout.off?.("resize", resize);
      if (raw) io.stdin.setRawMode?.(false);
      io.stdin.pause();
    };
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString("utf8");
      });
      res.on("end", () => {
        let e: { error?: { code?: string; message?: string } } = {};
        try {
          e = JSON.parse(body);
        } catch {}
        reject(new CliError(e.error?.message ?? `HTTP ${res.statusCode}`, 1, e.error?.code));
      });
    });
    ws.on("open", () => {
      if (opts.tty) {
        resize();
        stdout.on?.("resize", resize);
      }
      if (opts.stdin) {
        if (raw) io.stdin.setRawMode?.(true);
        io.stdin.on("data", onInput);
        io.stdin.on("end", onEnd);
        io.stdin.resume();
      }
    });
    ws.on("message", (data: Buffer) => {
      const channel = data[0];
      const body = data.subarray(1);
      if (channel === STDOUT) io.stdout.write(body);
      else if (channel === STDERR) io.stderr.write(body);
      else if (channel === STATUS) {
        try {
          exitCode = exitCodeOf(JSON.parse(body.toString("utf8")));
        } catch (error) {
          failure = error as Error;
        }
      }
    });
    ws.on("error", (error) => {
      cleanup();
      reject(error);
    });
    ws.on("close", () => {
      cleanup();
      if (failure) reject(failure);
      else resolve(exitCode ?? 0);
    });
  });
}
