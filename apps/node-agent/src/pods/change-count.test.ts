import { describe, expect, it } from "vitest";
import { createHollowRuntime } from "../runtime/hollow";
import { countingChanges } from "./change-count";

describe("countingChanges", () => {
  it("counts the calls that change containers, and only those, passing every call through", async () => {
    const { runtime, changes } = countingChanges(createHollowRuntime());
    const id = await runtime.create({
      name: "counted",
      image: "localhost/berth/pause:latest",
      env: {},
      labels: { k: "v" },
      ports: [],
      resources: {},
    });
    expect(changes()).toBe(1);
    await runtime.list({ k: "v" });
    await runtime.inspect(id);
    expect(changes()).toBe(1);
    await runtime.start(id);
    expect((await runtime.inspect(id))?.state).toBe("running");
    await runtime.kill(id, "SIGKILL");
    await runtime.remove(id);
    expect(changes()).toBe(4);
    expect(await runtime.list({ k: "v" })).toEqual([]);
    expect(runtime.name).toBe("hollow");
  });
});
