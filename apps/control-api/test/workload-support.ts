import { encryptSecret, generateSigningKey, newId } from "@berth/core";
import { clusters, deployments, nodes, type PodTemplate, pods, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import type { TestApi } from "../src/testing";

/** A tenant with an active cluster (no provisioner runs in these tests: it is made active directly). */
export async function tenantWithCluster(api: TestApi, name: string) {
  const t = await api.tenant(name);
  const c = await api.call("POST", "/v1/clusters", { token: t.token, body: { name: "c" } });
  if (c.status !== 202) throw new Error(c.text);
  await withSystem(api.deps.db, (tx) =>
    tx.update(clusters).set({ status: "active" }).where(eq(clusters.id, c.body.id)),
  );
  return { ...t, clusterId: c.body.id as string };
}

/**
 * A tenant with an active cluster and one node joined to it (its credential). No provisioner runs
 * in these tests: the cluster's signing key is made here, as the provisioner would.
 */
export async function tenantWithNode(api: TestApi, name: string) {
  const t = await tenantWithCluster(api, name);
  const key = await generateSigningKey();
  await withSystem(api.deps.db, (tx) =>
    tx
      .update(clusters)
      .set({
        signingKeyEnc: encryptSecret(api.deps.master, key.privatePkcs8, `cluster-key:${t.clusterId}`),
        signingPublicJwk: JSON.stringify(key.publicJwk),
        signingKid: key.kid,
      })
      .where(eq(clusters.id, t.clusterId)),
  );
  const jt = await api.call("POST", `/v1/clusters/${t.clusterId}/join-tokens`, { token: t.token, body: {} });
  const joined = await api.call("POST", "/v1/nodes/join", {
    body: {
      joinToken: jt.body.token,
      name: `${name}-node`,
      capacity: { cpuMillis: 2000, memoryBytes: 4 * 1024 ** 3, pods: 10 },
      portRange: { min: 30000, max: 30010 },
      address: "127.0.0.1",
    },
  });
  if (joined.status !== 201) throw new Error(joined.text);
  return { ...t, nodeId: joined.body.nodeId as string, credential: joined.body.credential as string };
}

/** A Deployment "web" of two replicas applied through the API (no provisioner runs: no pods): its id and stored template. */
export async function webDeployment(
  api: TestApi,
  t: { token: string; clusterId: string },
): Promise<{ deploymentId: string; template: PodTemplate }> {
  const applied = await api.call("PUT", `/v1/clusters/${t.clusterId}/deployments/default/web`, {
    token: t.token,
    body: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "localhost/berth/demo-web:latest" }] },
        },
      },
    },
  });
  if (applied.status !== 200) throw new Error(applied.text);
  const [d] = await withSystem(api.deps.db, (tx) =>
    tx.select().from(deployments).where(eq(deployments.clusterId, t.clusterId)),
  );
  if (!d) throw new Error("the Deployment was not stored");
  return { deploymentId: d.id, template: d.template as PodTemplate };
}

/** Another user of the tenant with one managed or own policy attached; returns its token. */
export async function userWith(api: TestApi, adminToken: string, policy: string | object): Promise<string> {
  const email = `u-${newId("user").slice(-8)}@example.test`;
  const password = "a long enough password";
  const u = await api.call("POST", "/v1/users", { token: adminToken, body: { email, password } });
  let policyId = policy as string;
  if (typeof policy !== "string") {
    const p = await api.call("POST", "/v1/policies", {
      token: adminToken,
      body: { name: `P${newId("policy").slice(-8)}`, document: policy },
    });
    policyId = p.body.id;
  }
  await api.call("POST", `/v1/policies/${policyId}/attachments`, {
    token: adminToken,
    body: { principalId: u.body.id },
  });
  const t = await api.call("POST", "/v1/auth/token", { body: { email, password } });
  return t.body.accessToken;
}

/** A node of the cluster (straight into the database: no agent runs here). */
export async function addNode(api: TestApi, tenantId: string, clusterId: string): Promise<string> {
  const id = newId("node");
  await withSystem(api.deps.db, (tx) =>
    tx.insert(nodes).values({
      id,
      tenantId,
      clusterId,
      name: `n-${id.slice(-6)}`,
      address: "10.0.0.7",
      status: "ready",
      cpuMillis: 4000,
      memoryBytes: 8 * 1024 ** 3,
      maxPods: 50,
      portMin: 30000,
      portMax: 30100,
      lastHeartbeatAt: new Date(),
    } as typeof nodes.$inferInsert),
  );
  return id;
}

/** A pod as the control loop would make it, owned by a deployment or job. */
export async function addPod(
  api: TestApi,
  p: {
    tenantId: string;
    clusterId: string;
    namespace: string;
    name: string;
    template: PodTemplate;
    owner: { kind: "Deployment" | "Job"; id: string };
    nodeId?: string;
    labels?: Record<string, string>;
  },
): Promise<string> {
  const id = newId("pod");
  await withSystem(api.deps.db, (tx) =>
    tx.insert(pods).values({
      id,
      tenantId: p.tenantId,
      clusterId: p.clusterId,
      namespace: p.namespace,
      name: p.name,
      deploymentId: p.owner.kind === "Deployment" ? p.owner.id : null,
      ownerKind: p.owner.kind,
      ownerId: p.owner.id,
      labels: p.labels ?? {},
      templateHash: "h",
      template: p.template,
      cpuMillis: 100,
      memoryBytes: 1024,
      nodeId: p.nodeId ?? null,
      phase: p.nodeId ? "Running" : "Pending",
    }),
  );
  return id;
}
