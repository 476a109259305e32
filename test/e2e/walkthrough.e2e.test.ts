import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@berth/db/testing";
import { createClient } from "@berth/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containersOf, engine, freePort, hostPortBlock, type Proc, poll, start } from "./support";

/**
 * The README's walkthrough, done for real: `npm run up` (infra/up.sh) starts the control API and the
 * provisioner as processes against real Postgres and Redis, a node agent process joins and runs
 * pods as Podman containers, and the test talks to it all over HTTP only. Steps as in issue #2.
 */
let db: TestDatabase;
let up: Proc;
let agent: Proc | undefined;
let url: string;
let stateDir: string;
const prefix = `e2e-${randomBytes(4).toString("hex")}`;
const ports = hostPortBlock(40);
const s: { token: string; clusterId: string; nodeId: string } = { token: "", clusterId: "", nodeId: "" };

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(s.token ? { authorization: `Bearer ${s.token}` } : {}),
      ...(body !== undefined && typeof body !== "string" ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked by the assertions
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

const manifestYaml = (replicas: number, memory = "64Mi") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: web
          image: localhost/berth/demo-web:latest
          env:
            - name: MESSAGE
              value: deployed by the e2e test
          ports:
            - containerPort: 8080
          resources:
            requests:
              cpu: 250m
              memory: ${memory}
`;

beforeAll(async () => {
  db = await createTestDatabase();
  const port = await freePort();
  const provisionerPort = await freePort();
  stateDir = await mkdtemp(join(tmpdir(), "berth-agent-"));
  up = start("bash", ["infra/up.sh"], {
    PORT: String(port),
    PROVISIONER_PORT: String(provisionerPort),
    DATABASE_URL: db.url,
    DATABASE_SYSTEM_URL: db.systemUrl,
    DATABASE_MIGRATION_URL: db.migrationUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: "warn",
  });
  // Step 1: it prints the API URL and the next command.
  const m = await up.waitForOutput(/Berth is up: (http:\/\/\S+)/, 180_000);
  url = m[1] ?? "";
  await up.waitForOutput(/curl -s -X POST \S+\/v1\/signup/, 5_000);
});

afterAll(async () => {
  if (agent && agent.child.exitCode === null) {
    agent.child.kill("SIGKILL");
    await agent.exited;
  }
  if (s.nodeId)
    for (const c of await containersOf(s.nodeId)) await engine("DELETE", `/containers/${c.Id}?force=true`);
  if (up && up.child.exitCode === null) {
    up.child.kill("SIGTERM");
    await up.exited;
  }
  await rm(stateDir, { recursive: true, force: true });
  await db?.drop();
});

describe("from sign-up to a running container, billed", () => {
  it("1. npm run up answers on the printed URL", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await api("GET", "/readyz")).json).toMatchObject({ status: "ready" });
  });

  it("2-3. signs up, gets an EdDSA token whose key is published", async () => {
    const email = `e2e-${prefix}@example.test`;
    const su = await api("POST", "/v1/signup", {
      tenantName: prefix,
      email,
      password: "correct horse battery",
    });
    expect(su.status).toBe(201);
    const tok = await api("POST", "/v1/auth/token", { email, password: "correct horse battery" });
    expect(tok.status).toBe(200);
    expect(tok.json.tokenType).toBe("Bearer");
    s.token = tok.json.accessToken;
    const kid = JSON.parse(Buffer.from(s.token.split(".")[0] ?? "", "base64url").toString()).kid;
    expect(
      (await api("GET", "/.well-known/jwks.json")).json.keys.some((k: { kid: string }) => k.kid === kid),
    ).toBe(true);
  });

  it("4. creates a cluster that the provisioner brings to active", async () => {
    const c = await api("POST", "/v1/clusters", { name: "prod" });
    expect(c.status).toBe(202);
    expect(c.json.status).toBe("provisioning");
    s.clusterId = c.json.id;
    await poll(
      "cluster active",
      async () => (await api("GET", `/v1/clusters/${s.clusterId}`)).json.status === "active",
      30_000,
    );
    expect((await api("GET", "/v1/clusters")).json.items.map((x: { id: string }) => x.id)).toContain(
      s.clusterId,
    );
  });

  it("5. a node agent joins with a join token and becomes ready", async () => {
    const jt = await api("POST", `/v1/clusters/${s.clusterId}/join-tokens`);
    expect(jt.status).toBe(201);
    agent = start(
      "npm",
      [
        "run",
        "node-agent",
        "--",
        "--server",
        url,
        "--join-token",
        jt.json.token,
        "--name",
        "e2e-node",
        "--state-dir",
        stateDir,
        "--port-range",
        `${ports.min}-${ports.max}`,
        "--cpu",
        "2000",
        "--memory",
        String(2 * 1024 ** 3),
      ],
      { LOG_LEVEL: "info" },
    );
    const node = await poll(
      "node ready",
      async () =>
        (await api("GET", `/v1/clusters/${s.clusterId}/nodes`)).json.items.find(
          (n: { status: string }) => n.status === "ready",
        ),
      60_000,
    );
    expect(node).toMatchObject({ name: "e2e-node", capacity: { cpuMillis: 2000, pods: 110 } });
    s.nodeId = node.id;
  });

  it("6. a YAML deployment runs as real containers with its limits and a published port", async () => {
    const put = await api("PUT", `/v1/clusters/${s.clusterId}/deployments/default/web`, manifestYaml(2), {
      "content-type": "application/yaml",
    });
    expect(put.status).toBe(200);
    await poll(
      "2 ready replicas",
      async () =>
        (await api("GET", `/v1/clusters/${s.clusterId}/deployments/default/web`)).json.status
          .readyReplicas === 2,
      90_000,
    );
    const pods = (await api("GET", `/v1/clusters/${s.clusterId}/pods`)).json.items;
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p).toMatchObject({
        namespace: "default",
        nodeName: "e2e-node",
        phase: "Running",
        restarts: 0,
        reason: null,
      });
      expect(p.hostPort).toBeGreaterThanOrEqual(ports.min);
      const page = await (await fetch(`http://127.0.0.1:${p.hostPort}/`)).text();
      expect(page).toContain(p.name);
      expect(page).toContain("deployed by the e2e test");
    }
    const containers = await containersOf(s.nodeId);
    expect(containers).toHaveLength(2);
    const inspect = (await engine("GET", `/containers/${containers[0]?.Id}/json`)).body as {
      HostConfig: { Memory: number; NanoCpus: number; Privileged: boolean };
    };
    expect(inspect.HostConfig).toMatchObject({
      Memory: 64 * 1024 * 1024,
      NanoCpus: 250_000_000,
      Privileged: false,
    });
  });

  it("6b. a pod that fits nowhere stays Pending with the scheduler's reason", async () => {
    const big = manifestYaml(1, "64Gi").replace("name: web\nspec", "name: huge\nspec");
    expect(
      (
        await api("PUT", `/v1/clusters/${s.clusterId}/deployments/default/huge`, big, {
          "content-type": "application/yaml",
        })
      ).status,
    ).toBe(200);
    const pod = await poll("unschedulable pod", async () =>
      (await api("GET", `/v1/clusters/${s.clusterId}/pods`)).json.items.find(
        (p: { name: string; reason: string }) => p.name.startsWith("huge-") && p.reason === "Unschedulable",
      ),
    );
    expect(pod.phase).toBe("Pending");
    expect(pod.message).toMatch(/0\/1 nodes are available: 1 Insufficient memory/);
    expect((await api("DELETE", `/v1/clusters/${s.clusterId}/deployments/default/huge`)).status).toBe(202);
    await poll("the unschedulable pod is gone", async () =>
      (await api("GET", `/v1/clusters/${s.clusterId}/pods`)).json.items.every(
        (p: { name: string }) => !p.name.startsWith("huge-"),
      ),
    );
  });

  it("9. the typed tRPC client sees what REST sees", async () => {
    const client = createClient({ url, token: s.token });
    const clusters = await client.clusters.list.query({});
    expect(clusters.items.map((c) => c.id)).toContain(s.clusterId);
    const viaTrpc = await client.pods.list.query({ clusterId: s.clusterId });
    const viaRest = (await api("GET", `/v1/clusters/${s.clusterId}/pods`)).json;
    expect(viaTrpc.items.map((p) => p.id).sort()).toEqual(
      viaRest.items.map((p: { id: string }) => p.id).sort(),
    );
    const dep = await client.deployments.get.query({
      clusterId: s.clusterId,
      namespace: "default",
      name: "web",
    });
    expect(dep.status.readyReplicas).toBe(2);
  });

  it("7a. a container killed by hand is restarted and its restarts go up", async () => {
    const [victim] = (await api("GET", `/v1/clusters/${s.clusterId}/pods`)).json.items.filter(
      (p: { name: string }) => p.name.startsWith("web-"),
    );
    const [container] = (await containersOf(s.nodeId)).filter((c) => c.Labels["berth.pod"] === victim.id);
    expect((await engine("POST", `/containers/${container?.Id}/kill?signal=KILL`)).status).toBe(204);
    const after = await poll("restart counted", async () => {
      const p = (await api("GET", `/v1/clusters/${s.clusterId}/pods`)).json.items.find(
        (x: { id: string }) => x.id === victim.id,
      );
      return p?.restarts >= 1 && p.phase === "Running" && p.ready && p;
    });
    expect(after.restarts).toBe(1);
    const page = await (await fetch(`http://127.0.0.1:${after.hostPort}/`)).text();
    expect(page).toContain(victim.name);
  });

  it("8. usage has real, exactly priced lines for the cluster, the node and the pods (JSON and CSV)", async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 120_000).toISOString();
    // Pods start within a second or two: give the cheapest meter (memory, $0.000001235 per
    // GiB-second) the few seconds it needs to be worth a micro-dollar.
    const r = await poll(
      "every line worth at least a micro-dollar",
      async () => {
        const u = await api("GET", `/v1/usage?from=${from}&to=${to}`);
        const lines = u.json.lines.filter((l: { clusterId: string }) => l.clusterId === s.clusterId);
        return lines.length === 4 && lines.every((l: { amount: string }) => Number(l.amount) > 0) && u;
      },
      60_000,
    );
    expect(r.status).toBe(200);
    expect(r.json.currency).toBe("USD");
    const mine = r.json.lines.filter((l: { clusterId: string }) => l.clusterId === s.clusterId);
    expect(mine.map((l: { meter: string }) => l.meter).sort()).toEqual([
      "cluster_hours",
      "node_hours",
      "pod_memory_gib_seconds",
      "pod_vcpu_seconds",
    ]);
    for (const l of mine) {
      expect(l.amount).toMatch(/^\d+\.\d{6}$/);
      expect(Number(l.amount)).toBeGreaterThan(0);
      expect(Number(l.quantity)).toBeGreaterThan(0);
    }
    const micro = (x: string) => BigInt(x.replace(".", ""));
    expect(micro(r.json.total)).toBe(
      r.json.lines.reduce((t: bigint, l: { amount: string }) => t + micro(l.amount), 0n),
    );
    const csv = await api("GET", `/v1/usage?from=${from}&to=${to}&format=csv`);
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    expect(csv.text.split("\n")[0]).toBe("meter,clusterId,quantity,unit,unitPrice,amount,currency");
    expect(csv.text).toContain(`pod_vcpu_seconds,${s.clusterId},`);
  });

  it("7b. deleting the deployment removes its containers", async () => {
    expect((await api("DELETE", `/v1/clusters/${s.clusterId}/deployments/default/web`)).status).toBe(202);
    await poll("containers gone", async () => (await containersOf(s.nodeId)).length === 0, 60_000);
    await poll(
      "pods gone",
      async () => (await api("GET", `/v1/clusters/${s.clusterId}/pods`)).json.items.length === 0,
    );
  });

  it("7c. deleting the cluster stops its pods, tells the agent to leave, and ends deleted", async () => {
    await api("PUT", `/v1/clusters/${s.clusterId}/deployments/default/web`, manifestYaml(1), {
      "content-type": "application/yaml",
    });
    await poll(
      "1 ready replica",
      async () =>
        (await api("GET", `/v1/clusters/${s.clusterId}/deployments/default/web`)).json.status
          .readyReplicas === 1,
      60_000,
    );
    const del = await api("DELETE", `/v1/clusters/${s.clusterId}`);
    expect(del.status).toBe(202);
    await poll(
      "cluster deleted",
      async () => (await api("GET", `/v1/clusters/${s.clusterId}`)).json.status === "deleted",
      60_000,
    );
    expect(await agent?.exited).toBe(0);
    expect(agent?.output()).toMatch(/left the cluster/);
    expect(await containersOf(s.nodeId)).toEqual([]);
    const events = (await api("GET", `/v1/clusters/${s.clusterId}/events?limit=500`)).json.items.map(
      (e: { reason: string }) => e.reason,
    );
    expect(events).toEqual(
      expect.arrayContaining([
        "Provisioning",
        "Active",
        "Joined",
        "Scheduled",
        "Deleting",
        "Left",
        "Deleted",
      ]),
    );
  });

  it("1b. Ctrl-C stops everything npm run up started, cleanly", async () => {
    up.child.kill("SIGINT");
    expect(await up.exited).toBe(0);
    expect(up.output()).toMatch(/stopped/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
