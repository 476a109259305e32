import { createMetricsRegistry } from "@berth/core";
import { mountHealth } from "@berth/core/health";
import { Hono } from "hono";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Agent } from "./agent";
import type { TunnelStats } from "./network/tunnel-session";
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
  const counted = (name: string, help: string, read: (t: TunnelStats) => number) =>
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
    "Streams from the cluster's other nodes connected to this node's pods through the mutual-TLS tunnel",
    (t) => t.accepted,
  );
  counted(
    "berth_agent_tunnel_refused_total",
    "Tunnel handshakes, sessions and streams refused (no or an untrusted certificate, a peer not a live node of the cluster, a target not ours)",
    (t) => t.refused,
  );
  counted(
    "berth_agent_tunnel_dialled_total",
    "Streams (proxied connections) this node opened to other nodes' tunnels",
    (t) => t.dialled,
  );
  counted(
    "berth_agent_tunnel_handshakes_total",
    "Tunnel sessions this node opened to other nodes (a TCP connection and a TLS 1.3 handshake each)",
    (t) => t.handshakes,
  );
  counted(
    "berth_agent_tunnel_handshake_seconds_total",
    "Time those sessions took to open (TCP connect, TLS and HTTP/2 preface), in all",
    (t) => t.handshakeMs / 1000,
  );
  counted(
    "berth_agent_tunnel_sent_bytes_total",
    "Bytes sent on tunnel sessions, both ways (TLS records)",
    (t) => t.sentBytes,
  );
  counted(
    "berth_agent_tunnel_received_bytes_total",
    "Bytes received on tunnel sessions, both ways (TLS records)",
    (t) => t.receivedBytes,
  );
  const directions = (name: string, help: string, read: (t: TunnelStats) => [number, number]) =>
    new Gauge({
      name,
      help,
      labelNames: ["direction"],
      registers: [metrics],
      collect() {
        const t = agent.status().tunnel;
        if (!t) return;
        const [out, inbound] = read(t);
        this.set({ direction: "out" }, out);
        this.set({ direction: "in" }, inbound);
      },
    });
  directions(
    "berth_agent_tunnel_sessions",
    "Tunnel sessions open now: opened by this node to peers (out), by peers to this node (in)",
    (t) => [t.sessionsOut, t.sessionsIn],
  );
  directions(
    "berth_agent_tunnel_streams",
    "Tunnel streams (proxied connections) open now: to peers (out), from peers (in)",
    (t) => [t.streamsOut, t.streamsIn],
  );
  return metrics;
}
