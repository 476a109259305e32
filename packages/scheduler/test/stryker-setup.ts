import fc from "fast-check";

/**
 * Mutation testing only (`vitest.stryker.config.ts`), never under `npm test`: one fixed seed, so
 * that every mutant meets the same cases and a kill is reproducible. `npm test` keeps fast-check's
 * random seeds (the property tests that pass their own `seed` keep it under both).
 */
fc.configureGlobal({ seed: 20_261_203 });
