import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, hostPortBlock, pinnedDeployment, SLEEPER, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * Pods reach pods of other nodes at their addresses, without a Service: two node agents of one
 * cluster, each with its own pod network on its own range (as on two machines — here on one host,
 * where the two bridges are as far apart as two machines: nothing routes between them but the
 * nodes' mutual-TLS tunnel). A client pod on n1 calls web pods on n2 by `status.podIP`; a port the
 * pod does not declare is not reachable from n1 (it is from n2); NetworkPolicy closes and reopens it.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;

let p: Platform;
let agents: Agents;
let n2: Awaited<ReturnType<Agents["start"]>>["agent"];
const t = { token: "", clusterId: "" };

const call = (method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${t.clusterId}/${path}`, { token: t.token, ...(body ? { body } : {}) });

async function runningPod(app: string): Promise<J> {
  return p.waitFor(
    `${app} running`,
    async () => {
      const [pod] = (await call("GET", `pods?namespace=default&labelSelector=app%3D${app}`)).body.items;
      return pod?.ready && pod.status.podIP ? pod : undefined;
    },
    120_000,
  );
}

/** One HTTP call from a pod: "ok" or "blocked" (refused, reset or timed out within 3 s). */
async function reach(from: J, url: string): Promise<"ok" | "blocked"> {
  const r = await call("POST", `pods/${from.namespace}/${from.name}/exec`, {
    command: [
      "sh",
      "-c",
      `timeout 3 wget -q -O- ${url} 2>/dev/null | head -n1 | grep -q Hello && echo ok || echo blocked`,
    ],
  });
  expect(r.status, r.text).toBe(200);
  return r.body.stdout.trim();
}

const http = { ports: [{ name: "http", containerPort: 8080 }] };
let client: J;
let neighbour: J;
let web: J;
let hidden: J;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token: t.token } = await p.api.tenant("podnet"));
  t.clusterId = await p.activeCluster(t.token, "podnet");
  for (const name of ["n1", "n2"]) {
    const join = await p.api.call("POST", `/v1/clusters/${t.clusterId}/join-tokens`, { token: t.token });
    const started = await agents.start(name, { joinToken: join.body.token, portRange: hostPortBlock(20) });
    if (name === "n2") n2 = started.agent;
  }
  const r = await call("POST", "apply", [
    pinnedDeployment("client", "n1", SLEEPER),
    pinnedDeployment("neighbour", "n2", SLEEPER),
    pinnedDeployment("web", "n2", http),
    // The same server, its port not declared.
    pinnedDeployment("hidden", "n2"),
  ]);
  expect(r.status, r.text).toBe(200);
  [client, neighbour, web, hidden] = await Promise.all(
    ["client", "neighbour", "web", "hidden"].map(runningPod),
  );
}, 240_000);

afterAll(async () => {
  await agents?.close();
  await p?.close();
});

describe("pod addresses across nodes", () => {
  it("gives each node a range of its own, and each pod an address of its node's range", async () => {
    const nodes = (await call("GET", "nodes")).body.items as J[];
    expect(nodes).toHaveLength(2);
    const [c, w] = [client.status.podIP as string, web.status.podIP as string];
    expect(c).toMatch(/^10\.(3[2-9]|[45]\d|6[0-3])\.\d+\.\d+$/);
    // Different nodes, different /24s.
    expect(c.split(".").slice(0, 3).join(".")).not.toBe(w.split(".").slice(0, 3).join("."));
    expect(web.status.podIP.split(".").slice(0, 3)).toEqual(neighbour.status.podIP.split(".").slice(0, 3));
  });

  it("a pod reaches a pod of another node at its address and declared port, through the nodes' tunnel", async () => {
    const before = n2.status().tunnel?.accepted ?? 0;
    for (let i = 0; i < 3; i++) expect(await reach(client, `http://${web.status.podIP}:8080/`)).toBe("ok");
    expect(n2.status().tunnel?.accepted ?? 0).toBeGreaterThan(before);
  });

  it("a port the pod does not declare is reachable from its own node only", async () => {
    expect(await reach(neighbour, `http://${hidden.status.podIP}:8080/`)).toBe("ok");
    expect(await reach(client, `http://${hidden.status.podIP}:8080/`)).toBe("blocked");
  });

  it("NetworkPolicy closes the cross-node call and reopens it for one label", async () => {
    const policy = (spec: Record<string, unknown>) => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "web-ingress" },
      spec: { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"], ...spec },
    });
    expect((await call("POST", "apply", [policy({})])).status).toBe(200);
    const url = `http://${web.status.podIP}:8080/`;
    await p.waitFor(
      "the deny-all to take effect",
      async () => (await reach(client, url)) === "blocked",
      20_000,
    );
    const allow = policy({ ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }] }] });
    expect((await call("POST", "apply", [allow])).status).toBe(200);
    await p.waitFor("the allow to take effect", async () => (await reach(client, url)) === "ok", 20_000);
    expect(await reach(neighbour, url)).toBe("blocked");
  });
});
