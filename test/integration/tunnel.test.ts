import { generateKeyPairSync } from "node:crypto";
import { connect as h2connect } from "node:http2";
import { type ConnectionOptions, connect } from "node:tls";
import { systemRows } from "@berth/db/testing";
import { agentMetrics, createHealthApp } from "@berth/node-agent/health";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Agents,
  hostPortBlock,
  joinByApi,
  listening,
  metricValue,
  pinnedDeployment,
  startAgents,
} from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * The nodes' mutual-TLS tunnel with real containers: two agents of one cluster on this host
 * (distinct node names; they share the host's cluster network, so only the tunnel counters tell
 * the path), a client pod on node A calling a Service whose only endpoint is on node B — through
 * B's tunnel, each connection a stream of the one session A keeps to B. B's tunnel refuses a client without a certificate, one of another cluster's CA, and
 * a node of its own cluster asking for an address that is not one of B's pods.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
let p: Platform;
let agents: Agents;
let nodeA: Awaited<ReturnType<Agents["start"]>>;
let nodeB: Awaited<ReturnType<Agents["start"]>>;
const a = { token: "", clusterId: "" };
const b = { token: "", clusterId: "" };

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token: a.token } = await p.api.tenant("tun-a"));
  ({ token: b.token } = await p.api.tenant("tun-b"));
  a.clusterId = await p.activeCluster(a.token, "a");
  b.clusterId = await p.activeCluster(b.token, "b");
  const ja = await p.api.call("POST", `/v1/clusters/${a.clusterId}/join-tokens`, {
    token: a.token,
    body: { maxUses: 3 },
  });
  // Node A first, and alone until its proxy serves the Service (agents of one host share its addresses).
  nodeA = await agents.start("tun-a1", { joinToken: ja.body.token, portRange: hostPortBlock(20) });
  const svc = await p.api.call("POST", `/v1/clusters/${a.clusterId}/apply`, {
    token: a.token,
    body: [
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      },
    ],
  });
  expect(svc.status, svc.text).toBe(200);
  const clusterIP = (
    await p.api.call("GET", `/v1/clusters/${a.clusterId}/services/default/web`, { token: a.token })
  ).body.spec.clusterIP as string;
  await p.waitFor("tun-a1 serving the Service", () => listening(clusterIP, 80), 30_000);
  nodeB = await agents.start("tun-a2", { joinToken: ja.body.token, portRange: hostPortBlock(20) });
  const r = await p.api.call("POST", `/v1/clusters/${a.clusterId}/apply`, {
    token: a.token,
    body: [
      pinnedDeployment("web", "tun-a2", { ports: [{ name: "http", containerPort: 8080 }] }),
      pinnedDeployment("client", "tun-a1", { command: ["sleep", "3600"] }),
    ],
  });
  expect(r.status, r.text).toBe(200);
}, 120_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

const call = (method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${a.clusterId}/${path}`, { token: a.token, ...(body ? { body } : {}) });
const podOf = async (app: string): Promise<J> =>
  (await call("GET", `pods?namespace=default&labelSelector=app%3D${app}`)).body.items[0];
async function metric(agent: typeof nodeA, name: string): Promise<number> {
  const text = await (
    await createHealthApp(agent.agent, agents.runtime, agentMetrics(agent.agent)).request("/metrics")
  ).text();
  return metricValue(text, name);
}
async function joinApiNode(t: typeof a, name: string) {
  const j = await joinByApi(p, t, name);
  const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const c = await p.api.call("POST", "/v1/nodes/certificate", {
    token: j.credential,
    body: { publicKey: pair.publicKey.export({ type: "spki", format: "pem" }).toString(), tunnelPort: 9 },
  });
  expect(c.status, c.text).toBe(200);
  return {
    cert: c.body.certificate as string,
    key: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    ca: c.body.caBundle as string[],
  };
}
/**
 * Opens a session to a tunnel and a CONNECT stream to `target` (`ip:port`), sends `request`, and
 * says what came back: the status and the reply, or a refusal.
 */
function tryTunnel(
  port: number,
  opts: Partial<ConnectionOptions>,
  target: string,
  request = "",
): Promise<string> {
  return new Promise((done) => {
    let got = "";
    const session = h2connect(`https://127.0.0.1:${port}`, {
      createConnection: () =>
        connect({
          host: "127.0.0.1",
          port,
          minVersion: "TLSv1.3",
          ALPNProtocols: ["h2"],
          rejectUnauthorized: false,
          ...opts,
        }),
    });
    session.on("error", () => {});
    const s = session.request({ ":method": "CONNECT", ":authority": target }, { endStream: false });
    s.on("response", (h) => {
      got = `${h[":status"]} `;
    });
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
    });
    s.on("error", () => {});
    s.on("close", () => {
      session.destroy();
      done(got === "" || got.startsWith("403") ? "refused" : got);
    });
    s.end(request);
    setTimeout(() => s.destroy(), 3_000);
  });
}

describe("the nodes' mutual-TLS tunnel", () => {
  let web: J;
  let client: J;
  let tunnelPortB: number;

  it("carries a client pod's call to a Service whose only endpoint is on the other node", async () => {
    web = await p.waitFor(
      "the web pod ready on tun-a2",
      async () => {
        const x = await podOf("web");
        return x?.ready && x.nodeName === "tun-a2" && x.status.podIP ? x : undefined;
      },
      90_000,
    );
    client = await p.waitFor("the client pod on tun-a1", async () => {
      const x = await podOf("client");
      return x?.phase === "Running" && x.nodeName === "tun-a1" && x.status.podIP ? x : undefined;
    });
    const [row] = await systemRows(
      p.api.deps.db,
      sql`select tunnel_port from nodes where name = 'tun-a2' and cluster_id = ${a.clusterId}`,
    );
    tunnelPortB = Number(row?.tunnel_port);
    expect(tunnelPortB).toBeGreaterThan(0);
    const acceptedBefore = await metric(nodeB, "berth_agent_tunnel_accepted_total");
    const dialledBefore = await metric(nodeA, "berth_agent_tunnel_dialled_total");
    // The endpoint reaches tun-a1's view within a poll or two.
    const out = await p.waitFor(
      "a call through the Service",
      async () => {
        const r = await call("POST", `pods/default/${client.name}/exec`, {
          command: [
            "sh",
            "-c",
            "i=0; while [ $i -lt 10 ]; do wget -q -O- http://web/ | head -n1 || echo FAILED; i=$((i+1)); done",
          ],
        });
        return r.body.stdout.includes("Hello") && !r.body.stdout.includes("FAILED")
          ? (r.body.stdout as string)
          : undefined;
      },
      30_000,
    );
    expect(out.trim().split("\n")).toEqual(Array(10).fill(`Hello from Berth demo-web on ${web.name}`));
    const accepted = (await metric(nodeB, "berth_agent_tunnel_accepted_total")) - acceptedBefore;
    const dialled = (await metric(nodeA, "berth_agent_tunnel_dialled_total")) - dialledBefore;
    const sessions = await metric(nodeA, "berth_agent_tunnel_handshakes_total");
    const open = await metric(nodeA, "berth_agent_tunnel_sessions");
    console.log(
      `10 calls from tun-a1's pod to web on tun-a2: ${dialled} streams dialled by tun-a1, ${accepted} accepted by tun-a2, over ${sessions} session(s) opened in all (${open} open)`,
    );
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(dialled).toBeGreaterThanOrEqual(10);
    // Every call (wget makes a new connection each time) is a stream of the one session A keeps to B.
    expect(sessions).toBe(1);
    expect(open).toBe(1);
    expect(await metric(nodeA, "berth_agent_tunnel_sent_bytes_total")).toBeGreaterThan(0);
  });

  it("refuses a client without a certificate, and one of another cluster's CA", async () => {
    const refusedBefore = await metric(nodeB, "berth_agent_tunnel_refused_total");
    const target = `${web.status.podIP}:8080`;
    const get = "GET / HTTP/1.0\r\n\r\n";
    expect(await tryTunnel(tunnelPortB, {}, target, get)).toBe("refused");
    const other = await joinApiNode(b, "tun-b9");
    expect(await tryTunnel(tunnelPortB, { cert: other.cert, key: other.key }, target, get)).toBe("refused");
    expect(await metric(nodeB, "berth_agent_tunnel_refused_total")).toBeGreaterThanOrEqual(refusedBefore + 2);
  });

  it("lets a node of the cluster reach B's pod, and nothing else of B's host", async () => {
    const own = await joinApiNode(a, "tun-a3");
    await p.waitFor(
      "tun-a3 in B's view",
      async () => {
        const ok = await tryTunnel(
          tunnelPortB,
          { cert: own.cert, key: own.key, ca: own.ca },
          `${web.status.podIP}:8080`,
          "GET / HTTP/1.0\r\n\r\n",
        );
        return ok.startsWith("200 HTTP/1.") && ok.includes("Hello from Berth demo-web");
      },
      10_000,
    );
    // Not the host, not the metadata address, not the network's gateway, not a pod of another node.
    const gateway = String(web.status.podIP).replace(/\.\d+$/, ".1");
    for (const target of [
      "127.0.0.1:8080",
      "169.254.169.254:80",
      `${gateway}:8080`,
      `${client.status.podIP}:8080`,
    ])
      expect(await tryTunnel(tunnelPortB, { cert: own.cert, key: own.key, ca: own.ca }, target), target).toBe(
        "refused",
      );
    expect(nodeA.logs.concat(nodeB.logs).some((l) => l.includes("tunnel: refused a stream"))).toBe(true);
  });
});
