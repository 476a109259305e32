import { describe, expect, it } from "vitest";
import { absentRuntime, selectRuntime } from "./select";
import { isRuntimeError } from "./types";

const choice = {
  containerHost: "unix:///nonexistent.sock",
  userNamespace: "off" as const,
  pidsLimit: 64,
  nativeRoot: "/nonexistent",
  registryHostAliases: [],
  imageRewrites: [],
  registryAuth: async () => null,
};

describe("the runtime an agent is configured with", () => {
  it("engine is the Docker-compatible engine's; native without its shim fails every call saying why", async () => {
    const engine = selectRuntime({ ...choice, name: "engine" });
    expect(engine.name).not.toBe("native");
    const native = selectRuntime({ ...choice, name: "native" });
    expect(native.name).toBe("native");
    for (const call of [native.ping(), native.list({}), native.ensureImage("busybox"), native.stats("x")]) {
      const error = await call.catch((e: unknown) => e);
      expect(isRuntimeError(error, "UNAVAILABLE")).toBe(true);
      expect((error as Error).message).toBe(
        "native runtime unavailable: BERTH_SHIM_PATH names no berth-shim (see infra/guest/build.sh)",
      );
    }
  });

  it("an absent runtime has every method of the interface (callers may copy it)", () => {
    const copy = { ...absentRuntime("x", "why") };
    expect(typeof copy.list).toBe("function");
    expect(typeof copy.diskUsage).toBe("function");
  });
});
