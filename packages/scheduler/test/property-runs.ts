/**
 * How many cases a property test runs. `npm test` runs the number asked for. The mutation-testing
 * config (`vitest.stryker.config.ts`) sets `SCHEDULER_PROPERTY_RUNS_MAX`, because Stryker re-runs
 * the covering tests once per mutant; it also fixes fast-check's seed (`test/stryker-setup.ts`).
 */
export function propertyRuns(wanted: number): number {
  const max = Number(process.env.SCHEDULER_PROPERTY_RUNS_MAX);
  return Number.isInteger(max) && max > 0 ? Math.min(wanted, max) : wanted;
}
