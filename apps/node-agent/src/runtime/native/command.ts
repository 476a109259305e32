/** Runs a host tool (`ip`, `iptables`, the shim) with an argv, never a shell string. */
import { spawn } from "node:child_process";

export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Resolves with stdout when the tool exits 0; else rejects with its stderr. */
export function command(
  file: string,
  args: readonly string[],
  input?: string,
  timeoutMs = 30_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new CommandError(`${file}: ${e.message}`, null, ""));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8").trim();
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new CommandError(`${file} ${args.join(" ")}: ${stderr || `exit ${code}`}`, code, stderr));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
