import { PassThrough, Readable } from "node:stream";
import type { CliEnv } from "../src/env";
import { run } from "../src/program";

/** Runs one command line in this process with captured stdout and stderr (and `stdin` as its input). */
export async function runCli(
  argv: string[],
  env: CliEnv,
  stdin = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const capture = () => {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (d: Buffer) => {
      text += d.toString("utf8");
    });
    return { stream, text: () => text };
  };
  const out = capture();
  const err = capture();
  const code = await run(argv, env, {
    stdout: out.stream,
    stderr: err.stream,
    stdin: Readable.from([stdin]),
  });
  return { code, stdout: out.text(), stderr: err.text() };
}
