import { type LoopContext, withTx } from "./loop";

/**
 * Runs one object's step in a savepoint of the pass's transaction (drizzle nests `transaction` as
 * a SAVEPOINT): when it fails, only its own changes roll back, `onFailure` records why (in the
 * pass's transaction, after the rollback), and the pass goes on with the other objects. Returns
 * null for a step that failed.
 */
export async function isolated<T>(
  ctx: LoopContext,
  step: (inner: LoopContext) => Promise<T>,
  onFailure: (error: unknown) => Promise<void>,
): Promise<T | null> {
  try {
    return await ctx.tx.transaction((savepoint) => step(withTx(ctx, savepoint)));
  } catch (error) {
    await onFailure(error);
    return null;
  }
}
