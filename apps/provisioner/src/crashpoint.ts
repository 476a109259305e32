/**
 * Crash injection for the "kill -9 at every step" tests: `BERTH_CRASH_AT=<point>` kills this
 * process (SIGKILL: no cleanup, no graceful stop) the first time the point is reached. Unset, it
 * does nothing. The points are listed so a test can visit every one: CRASH_POINTS in the life of
 * clusters and machines (test/e2e/crash.e2e.test.ts), CRONJOB_CRASH_POINTS in a CronJob's fire
 * (test/e2e/cronjob-crash.e2e.test.ts).
 */
export const CRASH_POINTS = [
  "provision.before-commit",
  "provision.after-commit",
  "machines.after-insert",
  "machines.before-launch",
  "machines.after-launch",
  "delete.after-mark",
  "machines.after-terminate",
  "delete.before-finalize",
] as const;

/** A CronJob's fire: its Job and status written but not committed; committed but the fire not acknowledged. */
export const CRONJOB_CRASH_POINTS = ["cronjob.before-commit", "cronjob.after-commit"] as const;

/** A rollup batch: its hours' rollups replaced but not committed (test/e2e/usage-crash.e2e.test.ts). */
export const ROLLUP_CRASH_POINTS = ["rollup.before-commit"] as const;

/**
 * The budgets' evaluation (test/e2e/budgets-crash.e2e.test.ts): an alert inserted but not its
 * event and deliveries; all written, not committed; committed, nothing enqueued; one enqueued.
 */
export const BUDGET_CRASH_POINTS = [
  "budgets.after-alert",
  "budgets.before-commit",
  "budgets.before-enqueue",
  "budgets.after-first-enqueue",
] as const;

/**
 * A Deployment's image pins (test/e2e/pins-crash.e2e.test.ts): tags resolved, nothing recorded; the
 * record written, not committed; committed, its revision not made yet.
 */
export const PIN_CRASH_POINTS = ["pins.resolved", "pins.before-commit", "pins.recorded"] as const;

export function crashpointFrom(target: string | undefined): (name: string) => void {
  if (!target) return () => {};
  return (name) => {
    if (name === target) process.kill(process.pid, "SIGKILL");
  };
}
