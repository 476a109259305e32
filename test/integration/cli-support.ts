import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundle } from "@berth/sdk/packaging";
import { expect } from "vitest";

const ENTRY = fileURLToPath(new URL("../../packages/cli/src/bin.ts", import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real `berth`, run as a user runs it: a child process with its own config file. It is the one
 * bundled module `npm run pack -w @berth/cli` ships, built into `binDir` (bin/berth.js,
 * the repository's bin, compiles the TypeScript on every start: about 2 s of CPU a command, against
 * 0.4 s for the bundle).
 */
export async function cliRunner(configPath: string, binDir: string) {
  const bin = join(binDir, "berth.mjs");
  await bundle({ entry: ENTRY, outfile: bin, banner: "#!/usr/bin/env node", platform: "node" });
  /** Starts `berth …` and collects what it prints; `done` settles when it exits. */
  const start = (args: string[], stdin = "") => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, BERTH_CONFIG: configPath, NO_COLOR: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const run: CliRun = { code: null, stdout: "", stderr: "" };
    child.stdout.on("data", (d: Buffer) => {
      run.stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      run.stderr += d.toString("utf8");
    });
    const done = new Promise<CliRun>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve({ ...run, code }));
    });
    child.stdin.end(stdin);
    return { child, output: () => run.stdout, done };
  };
  const berth = (args: string[], stdin = ""): Promise<CliRun> => start(args, stdin).done;
  /** A run that must succeed; its output otherwise shows in the failure. */
  const ok = async (args: string[], stdin = ""): Promise<CliRun> => {
    const r = await berth(args, stdin);
    expect(r.code, `berth ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  };
  return { berth, ok, start };
}
