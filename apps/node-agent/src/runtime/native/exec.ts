/**
 * Processes run in a running container through `berth-shim exec` (it enters the container's
 * namespaces and cgroups, takes its user, capabilities and seccomp filter): attached sessions
 * with stdin and a terminal, and commands run to completion with a deadline.
 */
import { spawn } from "node:child_process";
import type { Writable } from "node:stream";
import type { ExecResult, ExecSession, ExecSpec, OutputChunk } from "../types";

export interface ExecTarget {
  shimPath: string;
  /** The container's directory (its shim `config`). */
  dir: string;
  /** Host pid of the container's first process. */
  pid: number;
}

const DEFAULT_OUTPUT_BYTES = 10 * 1024;

function shimArgs(t: ExecTarget, argv: readonly string[], extra: string[]): string[] {
  return ["exec", t.dir, String(t.pid), ...extra, "--", ...argv];
}

/** Runs argv to its end (stdout and stderr as one stream, in order) or its deadline. */
export function execCommand(
  t: ExecTarget,
  argv: readonly string[],
  opts: { timeoutMs: number; maxOutputBytes?: number },
): Promise<ExecResult> {
  const max = opts.maxOutputBytes ?? DEFAULT_OUTPUT_BYTES;
  return new Promise((resolve, reject) => {
    const child = spawn(t.shimPath, shimArgs(t, argv, ["-m"]), { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let shimErr = "";
    child.stdout.on("data", (b: Buffer) => {
      if (size >= max) return;
      const piece = b.subarray(0, max - size);
      out.push(piece);
      size += piece.length;
    });
    child.stderr.on("data", (b: Buffer) => {
      shimErr += b.toString("utf8");
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM"); // the shim kills the command's process group
    }, opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const output = Buffer.concat(out).toString("utf8");
      if (timedOut) resolve({ exitCode: null, output, timedOut: true });
      else if (code === null) reject(new Error(`exec ended by ${signal}`));
      else if (code === 126 && shimErr.startsWith("berth-shim:")) reject(new Error(shimErr.trim()));
      else resolve({ exitCode: code, output, timedOut: false });
    });
  });
}

/** An attached process: its output as chunks, stdin, a terminal's size, its exit code. */
export function execSession(t: ExecTarget, spec: ExecSpec): ExecSession {
  const size = spec.size ?? { width: 80, height: 24 };
  const extra = spec.tty ? ["-t", String(size.height), String(size.width)] : [];
  const child = spawn(t.shimPath, shimArgs(t, spec.command, extra), {
    stdio: [spec.stdin ? "pipe" : "ignore", "pipe", "pipe", spec.tty ? "pipe" : "ignore"],
  });
  const queue: OutputChunk[] = [];
  let ended = false;
  let notify: (() => void) | null = null;
  const push = (c: OutputChunk | null) => {
    if (c) queue.push(c);
    else ended = true;
    notify?.();
  };
  let open = 2;
  const done = () => {
    if (--open === 0) push(null);
  };
  child.stdout?.on("data", (b: Buffer) => push({ stream: "stdout", data: b }));
  child.stderr?.on("data", (b: Buffer) => push({ stream: spec.tty ? "stdout" : "stderr", data: b }));
  child.stdout?.on("end", done);
  child.stderr?.on("end", done);
  const exit = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : 15)));
  });
  exit.catch(() => {});
  const stdin = child.stdin;
  const control = child.stdio[3] as Writable | null | undefined;
  async function* output(): AsyncGenerator<OutputChunk> {
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (ended) return;
      await new Promise<void>((r) => {
        notify = r;
      });
      notify = null;
    }
  }
  return {
    output: output(),
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        if (!stdin) return reject(new Error("stdin is not attached"));
        stdin.write(data, (err) => (err ? reject(err) : resolve()));
      }),
    closeStdin: () => {
      stdin?.end();
    },
    resize: async ({ width, height }) => {
      control?.write(`${height} ${width}\n`);
    },
    exitCode: () => exit,
    close: () => {
      stdin?.destroy();
      control?.destroy();
      if (child.exitCode === null) child.kill("SIGTERM");
    },
  };
}
