import { cliEnv } from "./env";
import { run } from "./program";

/** The process: the real streams and environment, the exit code of the command. */
export async function main(): Promise<void> {
  process.exitCode = await run(process.argv.slice(2), cliEnv(), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  });
}
