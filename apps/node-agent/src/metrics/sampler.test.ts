import { createServer } from "node:net";
import { createLogger } from "@berth/core";
import { CONTAINER_LABELS, type MetricsBatch, metricsBatchSchema } from "@berth/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testSettings } from "../env";
import { localPodmanSocket } from "../runtime/conformance-helpers";
import { CONFORMANCE_IMAGE, ensureConformanceImage } from "../runtime/conformance-image";
import { createDockerEngineRuntime } from "../runtime/docker-engine";
import { createEngineClient } from "../runtime/engine-http";
import type { ContainerSpec } from "../runtime/types";
import { readHostCounters } from "./host-stats";
import { MetricsSampler } from "./sampler";

/** The sampler against the real engine: containers that burn CPU, one that idles, a control plane that fails once. */
const settings = testSettings();
const url = settings.containerHost || `unix://${localPodmanSocket()}`;
const image = settings.conformanceImage || CONFORMANCE_IMAGE;
const rt = createDockerEngineRuntime({ url });
const nodeId = `node_sampler${process.pid}`;
const created: string[] = [];

async function run(
  podId: string,
  name: string,
  script: string,
  extra: Partial<ContainerSpec> = {},
): Promise<string> {
  const id = await rt.create({
    ...extra,
    name: `berth-sampler-${process.pid}-${podId}-${name}`,
    image,
    command: ["/bin/sh", "-c", script],
    env: {},
    ports: [],
    resources: { nanoCpus: 300_000_000 },
    labels: {
      [CONTAINER_LABELS.node]: nodeId,
      [CONTAINER_LABELS.pod]: podId,
      [CONTAINER_LABELS.container]: name,
      ...extra.labels,
    },
  });
  created.push(id);
  await rt.start(id);
  return id;
}

beforeAll(async () => {
  if (!settings.conformanceImage) await ensureConformanceImage(createEngineClient({ url }), { image });
  await run("pod_busy", "a", "while :; do :; done");
  await run("pod_busy", "b", "while :; do :; done");
  await run("pod_idle", "a", "sleep 600");
}, 60_000);
afterAll(async () => {
  for (const id of created) await rt.remove(id).catch(() => {});
});

describe("the metrics sampler", () => {
  it("sends each pod's usage since the previous sample, its containers summed, and the node's, resending what failed", async () => {
    const sent: MetricsBatch[] = [];
    let failNext = true;
    const clock = { now: Date.now() };
    const sampler = new MetricsSampler({
      runtime: rt,
      nodeId,
      host: () => readHostCounters(),
      restarts: () => new Map([["pod_busy", 2]]),
      send: async (batch) => {
        if (failNext) {
          failNext = false;
          throw new Error("control plane unreachable");
        }
        sent.push(metricsBatchSchema.parse(batch));
        return { accepted: batch.pods.length + batch.node.length };
      },
      now: () => clock.now,
      logger: createLogger("node-agent", "silent"),
    });
    // The first round only takes the baselines.
    await sampler.tick();
    expect(sent).toEqual([]);
    expect(sampler.buffered).toBe(0);
    await new Promise((r) => setTimeout(r, 2_000));
    clock.now += 2_000;
    await expect(sampler.tick()).rejects.toThrow("unreachable");
    // Kept for the next round: two pods and the node.
    expect(sampler.buffered).toBe(3);
    await new Promise((r) => setTimeout(r, 1_000));
    clock.now += 1_000;
    await sampler.tick();
    expect(sampler.buffered).toBe(0);
    const pods = sent.flatMap((b) => b.pods);
    expect(pods.map((p) => `${p.podId}/${p.windowMs}`).sort()).toEqual([
      "pod_busy/1000",
      "pod_busy/2000",
      "pod_idle/1000",
      "pod_idle/2000",
    ]);
    const busy = pods.filter((p) => p.podId === "pod_busy");
    // Two loops capped at 300m each: about 600m, never more than the caps allow (with slack for timing).
    for (const p of busy) {
      const millicores = p.cpuNanos / p.windowMs / 1000;
      expect(millicores).toBeGreaterThan(200);
      expect(millicores).toBeLessThan(900);
      expect(p.restarts).toBe(2);
      expect(p.memoryBytes).toBeGreaterThan(0);
    }
    const idle = pods.filter((p) => p.podId === "pod_idle");
    for (const p of idle) expect(p.cpuNanos / p.windowMs / 1000).toBeLessThan(20);
    expect(sent.flatMap((b) => b.node).map((n) => n.windowMs)).toEqual([2_000, 1_000]);
  }, 60_000);

  it("counts a pod's network traffic once: its containers share the sandbox's interface", async () => {
    let received = 0;
    const sink = createServer((sock) => sock.on("data", (d) => (received += d.length)));
    await new Promise<void>((r) => sink.listen(0, "0.0.0.0", r));
    const port = (sink.address() as { port: number }).port;
    try {
      const sandbox = await run("pod_net", "POD", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done", {
        labels: { [CONTAINER_LABELS.kind]: "sandbox" },
      });
      const sender = await run(
        "pod_net",
        "a",
        "while [ ! -e /tmp/go ]; do sleep 0.2; done; " +
          `head -c 300000 /dev/zero | nc $(ip route | awk '/default/ {print $3}') ${port}; sleep 600`,
        { sandboxId: sandbox },
      );
      await run("pod_net", "b", "sleep 600", { sandboxId: sandbox });
      const sent: MetricsBatch[] = [];
      const clock = { now: Date.now() };
      const sampler = new MetricsSampler({
        runtime: rt,
        nodeId,
        host: () => readHostCounters(),
        restarts: () => new Map(),
        send: async (batch) => {
          sent.push(batch);
          return { accepted: batch.pods.length + batch.node.length };
        },
        now: () => clock.now,
        logger: createLogger("node-agent", "silent"),
      });
      await sampler.tick();
      await rt.execCommand(sender, ["/bin/touch", "/tmp/go"], { timeoutMs: 5_000 });
      const deadline = Date.now() + 20_000;
      while (received < 300_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(received).toBe(300_000);
      clock.now += 1_000;
      await sampler.tick();
      const [pod] = sent.flatMap((b) => b.pods).filter((x) => x.podId === "pod_net");
      // Three containers report the same interface: counted once, not three times. (Both ways
      // together: Podman 4.3 counts them from the host's end of the pair, rx and tx swapped.)
      const bytes = (pod?.rxBytes ?? 0) + (pod?.txBytes ?? 0);
      expect(bytes).toBeGreaterThanOrEqual(300_000);
      expect(bytes).toBeLessThan(450_000);
    } finally {
      await new Promise((r) => sink.close(r));
      // Joined containers first: the engine keeps the sandbox while they exist.
      for (const id of created.splice(-3).reverse()) await rt.remove(id).catch(() => {});
    }
  }, 60_000);
});
