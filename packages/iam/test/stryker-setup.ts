import fc from "fast-check";
import { afterAll, inject } from "vitest";

/**
 * Mutation testing only (`vitest.stryker.config.ts`), never under `npm test`.
 *
 * One fixed seed, so that every mutant meets the same cases and a kill is reproducible;
 * `npm test` keeps fast-check's random seeds.
 */
fc.configureGlobal({ seed: 20_260_515 });

/**
 * Coverage per test file instead of per test. Stryker runs, for each mutant, only the tests
 * that executed its code in the initial run. The evaluator memoises (compiled globs and
 * documents, the last date and address read), so the test that would kill a mutant often reads
 * what an earlier test of the same file compiled, never runs the mutated line, and is skipped:
 * a false survivor. Crediting every test of a file with what any of them executed makes each
 * mutant meet every test of every file that reaches it. Files do not share memos (vitest
 * isolates them), so this is enough. Relies on the vitest runner's coverage record,
 * `globalThis[globalNamespace].mutantCoverage.perTest[testId][mutantId]`.
 */
declare module "vitest" {
  interface ProvidedContext {
    globalNamespace: string;
    mode: string;
  }
}

type Coverage = Record<string, Record<string, number>>;

if (inject("mode") === "dry-run") {
  // Vitest 4.1 reads a hook's first parameter as a fixture pattern: it must be a destructuring one.
  // biome-ignore lint/correctness/noEmptyPattern: see above
  afterAll(({}, file) => {
    const ns: unknown = Reflect.get(globalThis, inject("globalNamespace"));
    const perTest: Coverage | undefined = (ns as { mutantCoverage?: { perTest?: Coverage } } | undefined)
      ?.mutantCoverage?.perTest;
    if (perTest === undefined || !("filepath" in file)) return;
    const prefix = `${file.filepath}#`;
    const ids = Object.keys(perTest).filter((id) => id.startsWith(prefix));
    // Hits are summed, not merged: Stryker derives each mutant's hit limit (its infinite-loop
    // guard) from them, and a count lower than the real one reports false timeouts.
    const union: Record<string, number> = {};
    for (const id of ids) {
      for (const [mutant, hits] of Object.entries(perTest[id] ?? {}))
        union[mutant] = (union[mutant] ?? 0) + hits;
    }
    for (const id of ids) perTest[id] = { ...union };
  });
}
