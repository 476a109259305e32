import { defineConfig } from "vitest/config";

/**
 * Vitest for Stryker (`npm run mutate`): this package's tests only, without the repository
 * config's Postgres global setup (@berth/iam does no I/O). Property tests run at most
 * IAM_PROPERTY_RUNS_MAX cases each, from a fixed seed: Stryker runs the covering tests once per
 * mutant.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/stryker-setup.ts"],
    env: { IAM_PROPERTY_RUNS_MAX: "1000" },
    testTimeout: 30_000,
  },
});
