import { mountHealth } from "@berth/core/health";
import { Hono } from "hono";
import type { Registry } from "prom-client";
import type { Agent } from "./agent";
import type { ContainerRuntime } from "./runtime";

/** Liveness; readiness = the container engine answers and the control plane heard from us recently; metrics. */
export function createHealthApp(agent: Agent, runtime: ContainerRuntime, metrics: Registry): Hono {
  const app = new Hono();
  mountHealth(app, {
    metrics,
    checks: {
      runtime: () => runtime.ping(),
      controlPlane: async () => {
        const s = agent.status();
        if (s.nodeId === null) throw new Error("not joined yet");
        if (s.lastHeartbeatAt === null || Date.now() - s.lastHeartbeatAt > 30_000)
          throw new Error(`no heartbeat answered for 30 s (${s.heartbeatFailures} failures)`);
      },
    },
  });
  return app;
}
