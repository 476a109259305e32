import { CONTAINER_LABELS } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import { createHollowRuntime } from "../runtime/hollow";
import { newRecord } from "./context";
import { FRESH_LOOK_MS, PodLooks } from "./looks";

const spec = (pod: string) => ({
  name: `c-${pod}`,
  image: "localhost/berth/pause:latest",
  env: {},
  labels: { [CONTAINER_LABELS.node]: "n1", [CONTAINER_LABELS.pod]: pod },
  ports: [],
  resources: {},
});

describe("PodLooks", () => {
  it("lets a look stand in until the agent changes the pod, work runs outside its steps, or it ages", async () => {
    let now = 1_000;
    const looks = new PodLooks(createHollowRuntime(), "n1", () => now);
    const rec = newRecord("p1");
    expect(looks.fresh(rec)).toBe(false);
    await looks.look(rec);
    expect(rec.containers).toEqual([]);
    expect(looks.fresh(rec)).toBe(true);

    // A change through the step's runtime (and only a change) makes it stale, until the next look.
    const runtime = looks.changing(rec);
    await runtime.list({});
    expect(looks.fresh(rec)).toBe(true);
    const id = await runtime.create(spec("p1"));
    expect(looks.fresh(rec)).toBe(false);
    await looks.look(rec);
    expect(rec.containers.map((c) => c.id)).toEqual([id]);
    expect(looks.fresh(rec)).toBe(true);
    await runtime.start(id);
    expect(looks.fresh(rec)).toBe(false);
    await looks.look(rec);
    expect(rec.containers[0]?.state).toBe("running");

    looks.working(rec, 1);
    await looks.look(rec);
    expect(looks.fresh(rec)).toBe(false);
    looks.working(rec, -1);
    await looks.look(rec);
    expect(looks.fresh(rec)).toBe(true);
    now += FRESH_LOOK_MS;
    expect(looks.fresh(rec)).toBe(false);
  });

  it("marks a change stale from its start to its end: a look begun meanwhile does not stand in", async () => {
    const engine = createHollowRuntime();
    let release = () => {};
    const looks = new PodLooks(
      new Proxy(engine, {
        get: (t, k, r) =>
          k === "create"
            ? async (s: Parameters<typeof engine.create>[0]) => {
                await new Promise<void>((ok) => (release = ok));
                return t.create(s);
              }
            : Reflect.get(t, k, r),
      }),
      "n1",
      () => 0,
    );
    const rec = newRecord("p2");
    const creating = looks.changing(rec).create(spec("p2"));
    await looks.look(rec); // while the create is in flight
    expect(looks.fresh(rec)).toBe(false);
    release();
    await creating;
    expect(looks.fresh(rec)).toBe(false);
    await looks.look(rec);
    expect(rec.containers).toHaveLength(1);
    expect(looks.fresh(rec)).toBe(true);
  });

  it("keeps the newer of two looks, whichever answers last; a new pod is known to have nothing", async () => {
    const looks = new PodLooks(createHollowRuntime(), "n1", () => 0);
    const rec = newRecord("p3");
    const older = looks.mark();
    await looks.look(rec);
    const seen = rec.containers;
    expect(looks.take(rec, older, [])).toBe(false);
    expect(rec.containers).toBe(seen);
    expect(looks.take(rec, looks.mark(), [])).toBe(true);

    const fresh = newRecord("p4");
    looks.known(fresh);
    expect(looks.fresh(fresh)).toBe(true);
    expect(fresh.containers).toEqual([]);
  });
});
