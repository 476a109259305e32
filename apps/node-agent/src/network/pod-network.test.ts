import { randomBytes } from "node:crypto";
import { createLogger } from "@berth/core";
import type { NetworkView } from "@berth/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { testSettings } from "../env";
import { createDockerEngineRuntime } from "../runtime/docker-engine";
import { makePodNetwork } from "./pod-network";

/** The node's pod network on the range the control plane gave it; another range when the host holds that one. */
const runtime = createDockerEngineRuntime({ url: testSettings().containerHost });
const made: string[] = [];
afterAll(async () => {
  for (const name of made) await runtime.removeNetwork(name);
});

const view = (podCidr: string) => ({ podCidr }) as NetworkView;
/** A /24 of the pod range (chosen at random). */
const randomRange = () => `10.${32 + ((randomBytes(1)[0] ?? 0) % 32)}.${randomBytes(1)[0] ?? 0}.0/24`;
/** A random /24 of the pod range that no network of this host holds: one was made on it and removed. */
async function freeRange(probe: string, not: string[] = []): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const range = randomRange();
    if (not.includes(range)) continue;
    try {
      await runtime.ensureNetwork(probe, {}, range);
      await runtime.removeNetwork(probe);
      return range;
    } catch (error) {
      if (attempt >= 20 || !/already used|overlap/i.test((error as Error).message)) throw error;
    }
  }
}

describe("makePodNetwork", () => {
  it("makes the network on the node's range, and asks for another when the host holds it", async () => {
    const suffix = randomBytes(4).toString("hex");
    const squatter = `berth-test-squatter-${suffix}`;
    made.push(squatter);
    const held = await freeRange(squatter);
    const other = await freeRange(squatter, [held]);
    expect((await runtime.ensureNetwork(squatter, {}, held)).subnet).toBe(held);
    const identity = { nodeId: `node_${suffix}`, clusterId: `cl_${suffix}` };
    made.push(`berth-${identity.nodeId}`);
    const asked: string[] = [];
    const result = await makePodNetwork(
      { runtime, identity, logger: createLogger("test", "silent") },
      view(held),
      async (taken) => {
        asked.push(taken);
        return view(other);
      },
    );
    expect(asked).toEqual([held]);
    expect(result?.network).toMatchObject({ name: `berth-${identity.nodeId}`, subnet: other });
    expect(result?.view.podCidr).toBe(other);
  });
});
