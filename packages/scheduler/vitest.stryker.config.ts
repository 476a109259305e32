import { defineConfig } from "vitest/config";

/**
 * Vitest for Stryker (`npm run mutate`): this package's tests only, without the repository
 * config's Postgres global setup (@berth/scheduler does no I/O), and without the purity test,
 * which reads the source text (Stryker's instrumented copy reads `globalThis`). Property tests run
 * at most SCHEDULER_PROPERTY_RUNS_MAX cases each, from a fixed seed: Stryker runs the covering
 * tests once per mutant.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/purity.test.ts"],
    setupFiles: ["test/stryker-setup.ts"],
    env: { SCHEDULER_PROPERTY_RUNS_MAX: "50" },
    testTimeout: 30_000,
  },
});
