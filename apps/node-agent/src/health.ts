import { createMetricsRegistry } from "@berth/core";
import { mountHealth } from "@berth/core/health";
import { Hono } from "hono";
import { Counter, Gauge, type Registry } from "prom-client";
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

/** The agent's own metrics: its pods, and its tunnel's connections and handshakes. */
export function agentMetrics(agent: Agent): Registry {
  const metrics = createMetricsRegistry("node-agent");
  new Gauge({
    name: "berth_agent_pods",
    help: "Pods assigned to this node",
    registers: [metrics],
    collect() {
      this.set(agent.status().pods);
    },
  });
  const counted = (
    name: string,
    help: string,
    read: (t: NonNullable<ReturnType<Agent["status"]>["tunnel"]>) => number,
  ) =>
    new Counter({
      name,
      help,
      registers: [metrics],
      collect() {
        const t = agent.status().tunnel;
        if (t) {
          this.reset();
          this.inc(read(t));
        }
      },
    });
  counted(
    "berth_agent_tunnel_accepted_total",
    "Connections from the cluster's other nodes piped to this node's pods through the mutual-TLS tunnel",
    (t) => t.accepted,
  );
  counted(
    "berth_agent_tunnel_refused_total",
    "Tunnel connections refused (no or an untrusted certificate, a peer not of the cluster, a target not ours)",
    (t) => t.refused,
  );
  counted(
    "berth_agent_tunnel_dialled_total",
    "Connections this node sent through other nodes' tunnels",
    (t) => t.dialled,
  );
  counted(
    "berth_agent_tunnel_pooled_total",
    "Of those, connections that took a spare one (its TLS handshake made ahead)",
    (t) => t.pooled,
  );
  counted(
    "berth_agent_tunnel_handshakes_total",
    "TLS handshakes made to other nodes' tunnels",
    (t) => t.handshakes,
  );
  counted(
    "berth_agent_tunnel_resumed_total",
    "Of those, handshakes that resumed a session (a ticket)",
    (t) => t.resumed,
  );
  counted(
    "berth_agent_tunnel_handshake_seconds_total",
    "Time those handshakes took (TCP connect and TLS), in all",
    (t) => t.handshakeMs / 1000,
  );
  return metrics;
}
