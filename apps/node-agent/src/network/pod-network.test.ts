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
/** A /24 of the pod range nobody is likely to hold (chosen at random). */
const randomRange = () => `10.${32 + ((randomBytes(1)[0] ?? 0) % 32)}.${randomBytes(1)[0] ?? 0}.0/24`;

describe("makePodNetwork", () => {
  it("makes the network on the node's range, and asks for another when the host holds it", async () => {
    const held = randomRange();
    let other = randomRange();
    while (other === held) other = randomRange();
    const suffix = randomBytes(4).toString("hex");
    const squatter = `berth-test-squatter-${suffix}`;
    made.push(squatter);
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
