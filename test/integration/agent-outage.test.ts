import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@berth/core";
import { type Agent, createAgent } from "@berth/node-agent/agent";
import { createControlPlane } from "@berth/node-agent/api";
import { createDockerEngineRuntime } from "@berth/node-agent/runtime";
import { AGENT_RELEASE } from "@berth/protocol";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containersOf, engine, hostPortBlock, ROOT } from "../e2e/support";
import { type Platform, startPlatform } from "./harness";

/** The node agent against the real control plane and real containers: joining patiently, and outliving an outage. */
let p: Platform;
let token: string;
let clusterId: string;
let agent: Agent;
let stateDir: string;
let nodeId = "";
let port = 0;
let server: ReturnType<typeof serve>;

function listen(): Promise<void> {
  server = serve({ fetch: p.api.app.fetch, port, hostname: "127.0.0.1" });
  return new Promise((ok) => server.once("listening", () => ok()));
}
/** The control plane goes away: no new connections, and the open ones (the agent's watch) are cut. */
const close = () =>
  new Promise<void>((ok) => {
    server.close(() => ok());
    (server as unknown as { closeAllConnections(): void }).closeAllConnections();
  });

beforeAll(async () => {
  p = await startPlatform();
  await listen();
  port = (server.address() as AddressInfo).port;
  stateDir = await mkdtemp(join(tmpdir(), "berth-agent-outage-"));
  ({ token } = await p.api.tenant("outage"));
});
afterAll(async () => {
  await agent?.stop();
  if (nodeId)
    for (const c of await containersOf(nodeId, { all: true }))
      await engine("DELETE", `/containers/${c.Id}?force=true`);
  await close().catch(() => {});
  await p.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe("the node agent", () => {
  it("keeps trying to join while the control plane cannot be reached, then joins", async () => {
    // The machine boots before the control plane answers: the first join attempts cannot connect.
    const c = await p.api.call("POST", "/v1/clusters", { token, body: { name: "c" } });
    clusterId = c.body.id;
    await p.waitFor(
      "active",
      async () => (await p.api.call("GET", `/v1/clusters/${clusterId}`, { token })).body.status === "active",
    );
    const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
    const url = `http://127.0.0.1:${port}`;
    const socket = (process.env.CONTAINER_HOST ?? `unix://${ROOT}/.data/podman/podman.sock`).replace(
      /^unix:\/\//,
      "",
    );
    await close(); // the control plane is unreachable when the machine boots
    agent = createAgent(
      {
        server: url,
        joinToken: jt.body.token,
        stateDir,
        join: {
          name: "patient",
          capacity: { cpuMillis: 2000, memoryBytes: 2 * 1024 ** 3, pods: 10 },
          portRange: hostPortBlock(10),
          address: "127.0.0.1",
          labels: {},
          agentVersion: `${AGENT_RELEASE}+test`,
        },
        publishAddress: "127.0.0.1",
        stopTimeoutSeconds: 2,
      },
      {
        runtime: createDockerEngineRuntime({ socketPath: socket }),
        controlPlane: (server) => createControlPlane(server, { timeoutMs: 3000 }),
        logger: createLogger("node-agent", process.env.AGENT_LOG_LEVEL ?? "silent"),
      },
    );
    const starting = agent.start();
    await new Promise((r) => setTimeout(r, 1500));
    await listen();
    await starting;
    nodeId = agent.status().nodeId ?? "";
    expect(nodeId).toMatch(/^node_/);
  });

  it("keeps its pods running, and restarting, while the control plane is down", async () => {
    await p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
      token,
      body: {
        spec: {
          replicas: 1,
          template: {
            spec: {
              containers: [
                {
                  name: "web",
                  image: "localhost/berth/demo-web:latest",
                  ports: [{ containerPort: 8080 }],
                  resources: { requests: { cpu: "100m", memory: "32Mi" } },
                },
              ],
            },
          },
        },
      },
    });
    await p.waitFor(
      "ready",
      async () =>
        (await p.api.call("GET", `/v1/clusters/${clusterId}/deployments/default/web`, { token })).body.status
          .readyReplicas === 1,
      60_000,
    );
    const [container] = await containersOf(nodeId);
    await close();
    await engine("POST", `/containers/${container?.Id}/kill?signal=KILL`);
    await p.waitFor(
      "restarted without the control plane",
      // A restart is a new container from the image (kubelet's way); the killed one stays, exited.
      async () => (await containersOf(nodeId)).some((c) => c.State === "running" && c.Id !== container?.Id),
      30_000,
    );
    expect(agent.status().syncFailures).toBeGreaterThan(0);
    await listen();
    await p.waitFor(
      "restart reported once the control plane is back",
      async () => {
        const pods = (await p.api.call("GET", `/v1/clusters/${clusterId}/pods`, { token })).body.items;
        return pods[0]?.restarts === 1 && pods[0]?.ready;
      },
      30_000,
    );
  });
});
