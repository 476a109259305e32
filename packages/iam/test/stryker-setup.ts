import fc from "fast-check";

// Mutation testing only (vitest.stryker.config.ts): one fixed seed, so that every mutant meets
// the same cases and a kill is reproducible. `npm test` keeps fast-check's random seeds.
fc.configureGlobal({ seed: 20_260_515 });
