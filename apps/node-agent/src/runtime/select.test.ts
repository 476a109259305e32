import { describe, expect, it } from "vitest";
import { absentRuntime, selectRuntime } from "./select";
import { isRuntimeError } from "./types";

describe("the runtime an agent is configured with", () => {
  it("engine is the Docker-compatible engine's; native, absent from this build, fails every call saying why", async () => {
    const engine = selectRuntime({
      name: "engine",
      containerHost: "unix:///nonexistent.sock",
      userNamespace: "off",
      pidsLimit: 64,
    });
    expect(engine.name).not.toBe("native");
    const native = selectRuntime({ name: "native", containerHost: "", userNamespace: "off", pidsLimit: 64 });
    expect(native.name).toBe("native");
    for (const call of [native.ping(), native.list({}), native.ensureImage("busybox"), native.stats("x")]) {
      const error = await call.catch((e: unknown) => e);
      expect(isRuntimeError(error, "UNAVAILABLE")).toBe(true);
      expect((error as Error).message).toBe(
        "native runtime unavailable: the native runtime is not part of this agent build",
      );
    }
  });

  it("an absent runtime has every method of the interface (callers may copy it)", () => {
    const copy = { ...absentRuntime("x", "why") };
    expect(typeof copy.list).toBe("function");
    expect(typeof copy.diskUsage).toBe("function");
  });
});
