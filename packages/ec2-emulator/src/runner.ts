import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { INSTANCE_ID_ENV } from "./process-tree";

export interface PreparedUserData {
  /** The user-data file, or undefined when the instance has none. */
  file: string | undefined;
  /** True when the user data is a script (`#!…`) the instance executes at boot. */
  executable: boolean;
}

/**
 * Creates `<dir>` and writes the user data into `<dir>/user-data`: mode 0700 when it is a
 * script (`#!` first), 0600 otherwise (cloud-config and other formats are kept, not run).
 */
export function prepareInstanceDir(dir: string, userData: Buffer | undefined): PreparedUserData {
  mkdirSync(dir, { recursive: true });
  if (userData === undefined) return { file: undefined, executable: false };
  const executable = userData.subarray(0, 2).toString("latin1") === "#!";
  const file = join(dir, "user-data");
  writeFileSync(file, userData, { mode: executable ? 0o700 : 0o600 });
  return { file, executable };
}

export interface ScriptEvents {
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
  onError(error: Error): void;
}

/**
 * Runs a user-data script the way a machine's boot would: no arguments, the instance dir as
 * working directory, stdout and stderr appended to `<dir>/console.log`, in a session and process
 * group of its own (so the whole tree can be signalled), with the instance id in its environment.
 * Returns the pid, which is also the process group id (undefined if it could not be spawned).
 */
export function runScript(
  file: string,
  dir: string,
  instanceId: string,
  env: Record<string, string | undefined>,
  events: ScriptEvents,
): number | undefined {
  const log = openSync(join(dir, "console.log"), "a");
  try {
    const child = spawn(file, [], {
      cwd: dir,
      env: { ...env, [INSTANCE_ID_ENV]: instanceId },
      detached: true,
      stdio: ["ignore", log, log],
    });
    child.on("exit", (code, signal) => events.onExit(code, signal));
    child.on("error", (error) => events.onError(error));
    return child.pid;
  } finally {
    closeSync(log);
  }
}
