import { decryptSecret, encryptSecret, generateSigningKey, type MasterKey, TOKEN_ALG } from "@berth/core";
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import { type Db, withSystem } from "./client";
import { signingKeys } from "./schema";

export interface PlatformKeys {
  /** The key that signs new tokens. */
  active: { kid: string; privatePkcs8: string };
  /** Public JWKs of every key that still verifies (active and verifying), newest first. */
  publicJwks: Record<string, unknown>[];
}

const context = (kid: string) => `signing-key:${kid}`;

/**
 * The platform's token signing keys. The first call on an empty database creates one (under an
 * advisory lock, so replicas agree on a single key).
 */
export async function loadPlatformKeys(db: Db, master: MasterKey): Promise<PlatformKeys> {
  return withSystem(db, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('berth:platform-signing-key'))`);
    let rows = await tx
      .select()
      .from(signingKeys)
      .where(inArray(signingKeys.status, ["active", "verifying"]));
    if (!rows.some((r) => r.status === "active")) {
      const key = await generateSigningKey();
      await tx.insert(signingKeys).values({
        kid: key.kid,
        alg: TOKEN_ALG,
        publicJwk: JSON.stringify(key.publicJwk),
        privateKeyEnc: encryptSecret(master, key.privatePkcs8, context(key.kid)),
      });
      rows = await tx
        .select()
        .from(signingKeys)
        .where(inArray(signingKeys.status, ["active", "verifying"]));
    }
    rows.sort((a, b) => +b.createdAt - +a.createdAt);
    const active = rows.find((r) => r.status === "active");
    if (!active) throw new Error("no active signing key");
    return {
      active: {
        kid: active.kid,
        privatePkcs8: decryptSecret(master, active.privateKeyEnc, context(active.kid)),
      },
      publicJwks: rows.map((r) => JSON.parse(r.publicJwk) as Record<string, unknown>),
    };
  });
}

/**
 * Rotates the platform signing key: a new key signs from now on; the previous one keeps verifying
 * the tokens it signed until they have expired (`tokenTtlMs` after the rotation), then retires.
 * Rotation happens when the active key is older than `maxAgeMs` (or at once with `force`).
 */
export async function rotatePlatformKey(
  db: Db,
  master: MasterKey,
  opts: { now: Date; maxAgeMs: number; tokenTtlMs: number; force?: boolean },
): Promise<{ rotated: boolean; retired: number }> {
  const key = await generateSigningKey();
  return withSystem(db, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('berth:platform-signing-key'))`);
    // A key stops verifying once every token it signed has expired (one minute of clock skew).
    const retiredRows = await tx
      .update(signingKeys)
      .set({ status: "retired" })
      .where(
        and(
          eq(signingKeys.status, "verifying"),
          lt(signingKeys.rotatedAt, new Date(opts.now.getTime() - opts.tokenTtlMs - 60_000)),
        ),
      )
      .returning({ kid: signingKeys.kid });
    const [active] = await tx.select().from(signingKeys).where(eq(signingKeys.status, "active"));
    const due = !active || opts.force || opts.now.getTime() - active.createdAt.getTime() >= opts.maxAgeMs;
    if (!due) return { rotated: false, retired: retiredRows.length };
    if (active)
      await tx
        .update(signingKeys)
        .set({ status: "verifying", rotatedAt: opts.now })
        .where(eq(signingKeys.kid, active.kid));
    await tx.insert(signingKeys).values({
      kid: key.kid,
      alg: TOKEN_ALG,
      publicJwk: JSON.stringify(key.publicJwk),
      privateKeyEnc: encryptSecret(master, key.privatePkcs8, context(key.kid)),
      createdAt: opts.now,
    });
    return { rotated: true, retired: retiredRows.length };
  });
}
