import { readdir, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Every user-data process starts with this variable set to its instance id. A process that
 * leaves the instance's process group (a daemon calling setsid) still carries it, so a
 * terminate, a crash and `stop()` find it too.
 */
export const INSTANCE_ID_ENV = "EC2_EMULATOR_INSTANCE_ID";

interface Proc {
  pid: number;
  pgrp: number;
}

/**
 * The live processes of one instance: those in its process group, or carrying its marker.
 * Zombies do not count: they are already dead, only not yet reaped by whoever adopted them.
 * Reads /proc (Linux, which every Berth machine is); elsewhere it falls back to the group alone.
 */
export async function instanceProcesses(pgid: number | undefined, instanceId: string): Promise<Proc[]> {
  let names: string[];
  try {
    names = await readdir("/proc");
  } catch {
    return groupAlive(pgid) && pgid !== undefined ? [{ pid: pgid, pgrp: pgid }] : [];
  }
  const marker = Buffer.from(`${INSTANCE_ID_ENV}=${instanceId}\0`);
  const found = await Promise.all(
    names.filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid).map((n) => inspect(n, pgid, marker)),
  );
  return found.filter((p): p is Proc => p !== undefined);
}

async function inspect(name: string, pgid: number | undefined, marker: Buffer): Promise<Proc | undefined> {
  try {
    const stat = await readFile(`/proc/${name}/stat`, "utf8");
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ")".
    const [state, , pgrpField] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (state === "Z" || state === "X") return undefined;
    const proc = { pid: Number(name), pgrp: Number(pgrpField) };
    if (pgid !== undefined && proc.pgrp === pgid) return proc;
    const environ = await readFile(`/proc/${name}/environ`);
    const at = environ.indexOf(marker);
    return at === 0 || (at > 0 && environ[at - 1] === 0) ? proc : undefined;
  } catch {
    return undefined; // exited meanwhile, or not ours to read
  }
}

function groupAlive(pgid: number | undefined): boolean {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pgid: number | undefined, procs: Proc[], sig: NodeJS.Signals): void {
  const targets = new Set<number>();
  for (const p of procs) targets.add(p.pgrp === pgid ? -p.pgrp : p.pid);
  for (const target of targets) {
    try {
      process.kill(target, sig);
    } catch {
      // already gone
    }
  }
}

/**
 * Ends an instance's process tree: SIGTERM to everything, SIGKILL to what is left after
 * `graceMs` (0: SIGKILL at once, as a power cut). Resolves once no live process is left.
 */
export async function killTree(pgid: number | undefined, instanceId: string, graceMs: number): Promise<void> {
  let procs = await instanceProcesses(pgid, instanceId);
  if (procs.length === 0) return;
  if (graceMs > 0) {
    signal(pgid, procs, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
      procs = await instanceProcesses(pgid, instanceId);
      if (procs.length === 0) return;
    }
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    signal(pgid, procs, "SIGKILL");
    await sleep(attempt === 0 ? 5 : 50);
    procs = await instanceProcesses(pgid, instanceId);
    if (procs.length === 0) return;
  }
  throw new Error(`${instanceId}: processes ${procs.map((p) => p.pid).join(", ")} survived SIGKILL`);
}
