import { eraseClosedTenants, rotatePlatformKey } from "@berth/db";
import type { Deps } from "../deps";
import { sweepOrphans } from "./orphans";

/**
 * Account-wide housekeeping, once a minute (its own job scheduler, so once across all replicas):
 * terminate orphaned instances, rotate the platform's token signing key when it is old, and erase
 * closed tenants whose retention has passed.
 */
export async function maintenance(
  deps: Deps,
): Promise<{ orphansTerminated: number; keyRotated: boolean; tenantsErased: number }> {
  const orphans = await sweepOrphans(deps);
  const key = await rotatePlatformKey(deps.db, deps.master, {
    now: deps.now(),
    maxAgeMs: deps.signingKeyMaxAgeMs,
    // Rotated keys keep verifying for longer than any access token lives.
    tokenTtlMs: 3_600_000,
  });
  const erased = await eraseClosedTenants(deps.db, deps.now());
  for (const tenantId of erased) deps.logger.info({ tenantId }, "closed tenant erased after its retention");
  return { orphansTerminated: orphans.terminated, keyRotated: key.rotated, tenantsErased: erased.length };
}
