import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import { createEc2Emulator, type Ec2Emulator, type Ec2EmulatorOptions } from "../src/index";

export interface Harness {
  emulator: Ec2Emulator;
  ec2: EC2Client;
  workDir: string;
  /** Stops the emulator and removes its work dir; safe to call twice. */
  close(): Promise<void>;
}

/** A fresh emulator in its own temp dir, with the real SDK pointed at it. */
export async function startEmulator(options: Partial<Ec2EmulatorOptions> = {}): Promise<Harness> {
  const workDir = await mkdtemp(join(tmpdir(), "ec2-emulator-"));
  const emulator = await createEc2Emulator({ pendingMs: 50, shuttingDownMs: 50, ...options, workDir });
  const ec2 = new EC2Client({
    endpoint: emulator.url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  return {
    emulator,
    ec2,
    workDir,
    async close() {
      ec2.destroy();
      await emulator.stop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

export const base64 = (text: string) => Buffer.from(text).toString("base64");

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True while the process exists and is not a zombie (a zombie is dead, only not yet reaped). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Reads a file an instance's script writes, once it exists and is complete (ends with a newline). */
export async function readWhenWritten(path: string): Promise<string> {
  return waitFor(`${path} to be written`, () => {
    try {
      const text = readFileSync(path, "utf8");
      return text.endsWith("\n") ? text.trim() : undefined;
    } catch {
      return undefined;
    }
  });
}
