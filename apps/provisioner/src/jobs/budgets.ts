import { evaluateBudgets, pendingDeliveries } from "@berth/db";
import type { Deps } from "../deps";

/**
 * The budgets' evaluation (README, "Budgets and webhooks"): fires the alerts reached since the last
 * run — each with its event and webhook deliveries, in one transaction per tenant — then enqueues
 * every delivery still pending. A delivery whose job is waiting or delayed for a retry is the same
 * job (its id is the delivery's), so only one lost by a crash between the commit and the enqueue
 * is added again.
 */
export async function evaluateAllBudgets(
  deps: Pick<Deps, "db" | "queues" | "now" | "crashpoint" | "logger">,
) {
  const { deliveries: created, failures } = await evaluateBudgets(deps.db, deps.now(), {
    crashpoint: deps.crashpoint,
  });
  for (const f of failures)
    deps.logger.warn({ err: f.error, tenantId: f.tenantId }, "budgets not evaluated; the next run retries");
  deps.crashpoint("budgets.before-enqueue");
  const pending = await pendingDeliveries(deps.db);
  for (const [i, p] of pending.entries()) {
    await deps.queues.enqueue("webhook.deliver", p);
    if (i === 0) deps.crashpoint("budgets.after-first-enqueue");
  }
  return { deliveriesCreated: created.length, deliveriesEnqueued: pending.length, failed: failures.length };
}
