import { describe, expect, it } from "vitest";
import { parseConfig } from "./env";

const base = ["--server", "http://127.0.0.1:8080", "--name", "n1"];

describe("the agent's options", () => {
  it("take extended resources and a zone from flags or the environment", () => {
    const fromFlags = parseConfig(
      [...base, "--extended-resources", "berth.dev/gpu=2, example.com/fpga=1", "--zone", "rack-7"],
      {},
    );
    expect(fromFlags).toMatchObject({
      extendedResources: { "berth.dev/gpu": 2, "example.com/fpga": 1 },
      zone: "rack-7",
    });
    const fromEnv = parseConfig(base, {
      BERTH_EXTENDED_RESOURCES: "nvidia.com/gpu=4",
      BERTH_NODE_ZONE: "eu-1a",
    });
    expect(fromEnv).toMatchObject({ extendedResources: { "nvidia.com/gpu": 4 }, zone: "eu-1a" });
    expect(parseConfig(base, {})).toMatchObject({ extendedResources: {} });
  });

  it.each([
    ["berth.dev/gpu", "NAME=COUNT"],
    ["berth.dev/gpu=1.5", "NAME=COUNT"],
    ["gpu=1", "extended resource name"],
    ["kubernetes.io/gpu=1", "extended resource name"],
  ])("refuse --extended-resources %s, naming the option", (value, message) => {
    expect(() => parseConfig([...base, "--extended-resources", value], {})).toThrow(
      new RegExp(`--extended-resources: .*${message}`),
    );
  });

  it("update themselves unless --no-self-update or BERTH_SELF_UPDATE=off says not to", () => {
    expect(parseConfig(base, {})).toMatchObject({ selfUpdate: true });
    expect(parseConfig([...base, "--no-self-update"], {})).toMatchObject({ selfUpdate: false });
    expect(parseConfig(base, { BERTH_SELF_UPDATE: "off" })).toMatchObject({ selfUpdate: false });
    expect(() => parseConfig(base, { BERTH_SELF_UPDATE: "no" })).toThrow(
      /--self-update: BERTH_SELF_UPDATE is on or off/,
    );
  });

  it("choose the runtime and where pods' host ports are bound, from flags or the environment", () => {
    expect(parseConfig(base, {})).toMatchObject({
      runtime: "engine",
      address: "127.0.0.1",
      publishAddress: "127.0.0.1",
    });
    expect(parseConfig([...base, "--address", "10.1.2.3"], {})).toMatchObject({ publishAddress: "10.1.2.3" });
    expect(parseConfig(base, { BERTH_RUNTIME: "native", BERTH_PUBLISH_ADDRESS: "0.0.0.0" })).toMatchObject({
      runtime: "native",
      address: "127.0.0.1",
      publishAddress: "0.0.0.0",
    });
    expect(() => parseConfig([...base, "--runtime", "podman"], {})).toThrow(/--runtime: /);
  });
});
