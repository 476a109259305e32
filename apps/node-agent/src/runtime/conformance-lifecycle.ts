/**
 * The lifecycle's edges in the conformance suite: stop after the grace period, force removal,
 * missing containers, name conflicts, absent images, listing by labels, stats. Called by
 * `runtimeConformanceSuite` with its context.
 */
import { expect, it } from "vitest";
import { expectRuntimeError, ids, waitForState } from "./conformance-helpers";
import type { SuiteContext } from "./conformance-node";

const T = 30_000;

export function lifecycleEdgeTests(c: SuiteContext): void {
  const { spec, create, run, sh } = c;
  const runLabels = { "berth.test.conformance-run": c.runId };

  it(
    "stop ends a process that ignores SIGTERM after the timeout, and is idempotent",
    async () => {
      const rt = c.rt();
      const id = await run(spec("stop", { command: ["/bin/sleep", "300"] })); // PID 1 ignores SIGTERM
      const started = Date.now();
      await rt.stop(id, 1);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await rt.inspect(id))?.state).toBe("exited");
      await rt.stop(id, 1);
      const never = await create(spec("stop-created"));
      await rt.stop(never, 1);
      expect((await rt.inspect(never))?.state).toBe("created");
    },
    T,
  );

  it(
    "remove force-removes a running container and is idempotent",
    async () => {
      const rt = c.rt();
      const id = await run(spec("remove"));
      await rt.remove(id);
      expect(await rt.inspect(id)).toBeNull();
      await rt.remove(id);
      await rt.stop(id, 1); // stopping what is gone is fine too
    },
    T,
  );

  it(
    "inspect and stats of a missing container are null; start and logs fail with NOT_FOUND",
    async () => {
      const rt = c.rt();
      const missing = `berth-conf-${c.runId}-missing`;
      expect(await rt.inspect(missing)).toBeNull();
      expect(await rt.stats(missing)).toBeNull();
      await expectRuntimeError(rt.start(missing), "NOT_FOUND");
      await expectRuntimeError(rt.logs(missing, { tail: 10 }), "NOT_FOUND");
    },
    T,
  );

  it(
    "create with a name already taken fails with CONFLICT",
    async () => {
      const rt = c.rt();
      const s = spec("dup");
      await create(s);
      await expectRuntimeError(rt.create(s), "CONFLICT");
    },
    T,
  );

  it(
    "create from an absent image fails with IMAGE_NOT_FOUND",
    async () => {
      const rt = c.rt();
      await expectRuntimeError(
        rt.create(spec("no-image", { image: `localhost/berth/absent-${c.runId}:v1` })),
        "IMAGE_NOT_FOUND",
      );
    },
    T,
  );

  it(
    "list returns containers in every state carrying all the given labels, and no others",
    async () => {
      const rt = c.rt();
      const a1 = await create(spec("list-a", { labels: { "berth.test.group": "a" } }));
      const a2 = await run(sh("list-a", "exit 0", { labels: { "berth.test.group": "a" } }));
      const b = await create(spec("list-b", { labels: { "berth.test.group": "b" } }));
      await waitForState(rt, a2, "exited");

      const listed = await rt.list({ ...runLabels, "berth.test.group": "a" });
      expect(ids(listed)).toEqual([a1, a2].sort());
      expect(listed.map((c) => c.state).sort()).toEqual(["created", "exited"]);
      expect(ids(await rt.list({ ...runLabels, "berth.test.group": "b" }))).toEqual([b]);
      expect(await rt.list({ ...runLabels, "berth.test.group": "c" })).toEqual([]);
    },
    T,
  );

  it(
    "stats of a running container report memory in use and cumulative CPU time",
    async () => {
      const rt = c.rt();
      const id = await run(spec("stats"));
      const stats = await rt.stats(id);
      expect(stats?.memoryBytes).toBeGreaterThan(0);
      expect(stats?.cpuNanos).toBeGreaterThanOrEqual(0);
      await rt.stop(id, 1);
      expect(await rt.stats(id)).toBeNull();
    },
    T,
  );
}
