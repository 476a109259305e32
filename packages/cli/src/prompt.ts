import { CliError, UsageError } from "./errors";
import type { Io } from "./runtime";

/** Everything on stdin (`--password-stdin`, `-f -`), as text. */
export async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Asks on the terminal; `hidden` echoes nothing (a password). Only on a terminal: a script gives
 * the value as a flag or on stdin (`--password-stdin`).
 */
export async function ask(
  io: Io,
  question: string,
  opts: { hidden?: boolean; flag: string },
): Promise<string> {
  const stdin = io.stdin;
  if (!stdin.isTTY || !stdin.setRawMode)
    throw new UsageError(
      `${question.replace(/: $/, "")} needed: give ${opts.flag} (stdin is not a terminal)`,
    );
  io.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      const onData = (data: Buffer | string) => {
        for (const ch of data.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            io.stderr.write("\n");
            return resolve(value);
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            io.stderr.write("\n");
            return reject(new CliError("interrupted", 130));
          }
          if (ch === "\u007f" || ch === "\b") {
            if (value.length > 0) {
              value = value.slice(0, -1);
              if (!opts.hidden) io.stderr.write("\b \b");
            }
            continue;
          }
          value += ch;
          if (!opts.hidden) io.stderr.write(ch);
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
