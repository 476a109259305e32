import { mkdir, rmdir } from "node:fs/promises";
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

/**
 * Claims the lowest slot nobody holds (`<dir>/.slots/<n>`, made atomically) whose ports are all
 * free on the host. Returns null when every slot is taken.
 */
export async function claimSlot(dir: string, plan: PortPlan): Promise<number | null> {
  const slots = join(dir, ".slots");
  await mkdir(slots, { recursive: true });
  for (let n = 0; n < plan.slots; n++) {
    try {
      await mkdir(join(slots, String(n)));
    } catch {
      continue; // held by another VM
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
