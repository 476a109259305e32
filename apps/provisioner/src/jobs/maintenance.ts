import { rotatePlatformKey } from "@berth/db";
import type { Deps } from "../deps";
import { sweepOrphans } from "./orphans";

/**
 * Account-wide housekeeping, once a minute (its own job scheduler, so once across all replicas):
 * terminate orphaned instances, and rotate the platform's token signing key when it is old.
 */
export async function maintenance(deps: Deps): Promise<{ orphansTerminated: number; keyRotated: boolean }> {
  const orphans = await sweepOrphans(deps);
  const key = await rotatePlatformKey(deps.db, deps.master, {
    now: deps.now(),
    maxAgeMs: deps.signingKeyMaxAgeMs,
    // Rotated keys keep verifying for longer than any access token lives.
    tokenTtlMs: 3_600_000,
  });
  return { orphansTerminated: orphans.terminated, keyRotated: key.rotated };
}
