/**
 * How many cases a property test runs. `npm test` runs the number asked for. The mutation-testing
 * config (`vitest.stryker.config.ts`) sets `IAM_PROPERTY_RUNS_MAX`, because Stryker re-runs the
 * covering tests once per mutant and 100,000 cases per mutant would take hours; it also fixes
 * fast-check's seed (`test/stryker-setup.ts`), so a mutant is killed or not, never by luck.
 */
export function propertyRuns(wanted: number): number {
  const max = Number(process.env.IAM_PROPERTY_RUNS_MAX);
  return Number.isInteger(max) && max > 0 ? Math.min(wanted, max) : wanted;
}
