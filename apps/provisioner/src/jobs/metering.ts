import {
  deriveEgressEvents,
  deriveOverRequestEvents,
  deriveUsageEvents,
  finalizeInvoices,
  rollupDirtyHours,
} from "@berth/db";
import type { Deps } from "../deps";

/**
 * The metering jobs (each on its own job scheduler): derive usage events from meter intervals for
 * the hours that have closed, roll dirty hours up, finalise due invoices. All three are idempotent
 * and leave nothing half-done when killed: each of their transactions commits whole or not at all.
 */
export async function deriveUsage(
  deps: Deps,
): Promise<{ inserted: number; overRequest: number; egress: number }> {
  const { inserted } = await deriveUsageEvents(deps.db, deps.now());
  // After the request events of the same hours: usage over requests is measured against them.
  const over = await deriveOverRequestEvents(deps.db, deps.now());
  // Bytes the ingress gateway served, per Ingress and settled hour.
  const egress = await deriveEgressEvents(deps.db, deps.now());
  return { inserted, overRequest: over?.inserted ?? 0, egress: egress.inserted };
}

/** Batches of hours, one transaction each, until none is dirty or the run has used its time. */
export async function rollupUsage(
  deps: Pick<Deps, "db" | "crashpoint">,
  budgetMs = 10_000,
): Promise<{ hours: number }> {
  const started = Date.now();
  let hours = 0;
  for (;;) {
    const n = await rollupDirtyHours(deps.db, {
      batch: 50,
      beforeCommit: () => deps.crashpoint("rollup.before-commit"),
    });
    hours += n;
    if (n === 0 || Date.now() - started > budgetMs) return { hours };
  }
}

export async function finalizeDueInvoices(deps: Deps): Promise<{ finalized: number }> {
  const ids = await finalizeInvoices(deps.db, deps.now());
  for (const id of ids) deps.logger.info({ invoiceId: id }, "invoice finalised");
  return { finalized: ids.length };
}
