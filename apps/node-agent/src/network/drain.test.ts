import type { NetworkView } from "@berth/protocol";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EndpointDrain } from "./drain";

const view = (podIds: string[]): NetworkView => ({
  version: podIds.join(","),
  serviceCidr: "100.64.0.0/24",
  dnsAddress: "100.64.0.10",
  clusterDomain: "cluster.local",
  services: [
    {
      namespace: "default",
      name: "web",
      clusterIP: "100.64.0.1",
      sessionAffinity: "None",
      affinityTimeoutSeconds: 0,
      ports: [
        {
          name: "http",
          port: 80,
          protocol: "TCP",
          endpoints: podIds.map((podId, i) => ({
            podId,
            ip: `10.89.0.${i + 2}`,
            port: 8080,
            nodeName: "n1",
          })),
        },
      ],
    },
  ],
});

describe("draining a deleted pod", () => {
  it("holds an endpoint (or one that just left the endpoints) out of the rotation for the drain time", async () => {
    const drains = new EndpointDrain({ drainMs: 60, logger: pino({ level: "silent" }) });
    drains.note(view(["a", "b"]));
    const held = drains.drain("a", 10_000);
    expect(drains.isDraining("a")).toBe(true);
    expect(drains.isDraining("b")).toBe(false);
    expect(await held).toBe(60);
    expect(drains.isDraining("a")).toBe(false);
    // Deleted: the control plane left it out of the view before its node stops it.
    drains.note(view(["a"]));
    expect(await drains.drain("b", 10_000)).toBe(60);
  });

  it("does not hold a pod that serves no Service, nor longer than the grace period allows", async () => {
    const drains = new EndpointDrain({ drainMs: 60, logger: pino({ level: "silent" }) });
    drains.note(view(["a"]));
    expect(await drains.drain("job-pod", 10_000)).toBe(0);
    expect(await drains.drain("a", 0)).toBe(0);
    expect(await drains.drain("a", 25)).toBe(25);
  });
});
