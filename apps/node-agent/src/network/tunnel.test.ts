import { createServer } from "node:net";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Tunnel } from "./tunnel";

describe("the tunnel's listener", () => {
  it("listens on a free port when its port is taken (agents sharing a host), and reports that one", async () => {
    const holder = createServer();
    await new Promise<void>((ok) => holder.listen({ host: "127.0.0.1", port: 0 }, ok));
    const taken = (holder.address() as { port: number }).port;
    const reported: number[] = [];
    const tunnel = new Tunnel({
      clusterId: "cl_a",
      nodeId: "nd_a",
      address: "127.0.0.1",
      port: taken,
      // No control plane here: the request is what is checked, its failure only retried later.
      requestCertificate: async (_key, port) => {
        reported.push(port);
        throw new Error("no control plane in this test");
      },
      isLocalPod: () => false,
      logger: pino({ level: "silent" }),
    });
    try {
      await tunnel.start();
      expect(reported).toHaveLength(1);
      expect(reported[0]).toBeGreaterThan(0);
      expect(reported[0]).not.toBe(taken);
    } finally {
      tunnel.stop();
      holder.close();
    }
  });
});
