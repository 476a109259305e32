import { mkdir, rmdir, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";

/** Each VM forwards a range of host ports: slot n is `base + n*size … base + (n+1)*size - 1`. */
export interface PortPlan {
  base: number;
  size: number;
  slots: number;
}

export function portsOf(plan: PortPlan, slot: number): { min: number; max: number } {
  const min = plan.base + slot * plan.size;
  return { min, max: min + plan.size - 1 };
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A claim no VM recorded within this long was left by a launch that died half-way: it is free again. */
const STALE_CLAIM_MS = 120_000;

/**
 * Claims the lowest slot nobody holds (`<dir>/.slots/<n>`, made atomically) whose ports are all
 * free on the host. `held`: the slots VMs have recorded. Returns null when every slot is taken.
 */
export async function claimSlot(
  dir: string,
  plan: PortPlan,
  held: ReadonlySet<number>,
): Promise<number | null> {
  const slots = join(dir, ".slots");
  await mkdir(slots, { recursive: true });
  for (let n = 0; n < plan.slots; n++) {
    const claim = join(slots, String(n));
    try {
      await mkdir(claim);
    } catch {
      const age = await stat(claim).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (held.has(n) || age < STALE_CLAIM_MS) continue; // another VM's, or one being launched
      await rmdir(claim).catch(() => {});
      try {
        await mkdir(claim);
      } catch {
        continue;
      }
    }
    const { min, max } = portsOf(plan, n);
    let ok = true;
    for (let p = min; p <= max && ok; p++) ok = await free(p);
    if (ok) return n;
    await rmdir(join(slots, String(n))).catch(() => {});
  }
  return null;
}

export async function releaseSlot(dir: string, slot: number): Promise<void> {
  await rmdir(join(dir, ".slots", String(slot))).catch(() => {});
}
