import { readFile } from "node:fs/promises";
import { newId } from "@berth/core";
import { type Db, objects, podRequests, pods, withSystem } from "@berth/db";
import { systemRows } from "@berth/db/testing";
import { normalisePodTemplate } from "@berth/kube";
import { CONTAINER_LABELS } from "@berth/protocol";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containersOf } from "../e2e/support";
import { type Agents, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * Health, lifecycle and configuration of pods through the whole platform: the control plane
 * assigns, the real node agent runs real containers, and what the node reports lands on the pod's
 * row (phase, readiness, statuses, conditions) and as events on the Pod.
 */
let p: Platform;
let agents: Agents;
let token: string;
let tenantId: string;
let clusterId: string;
let nodeId: string;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token, tenantId } = await p.api.tenant("workloads"));
  clusterId = await p.activeCluster(token, "health");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const { agent } = await agents.start("health", { joinToken: jt.body.token, portRange: hostPortBlock(20) });
  nodeId = agent.status().nodeId ?? "";
}, 120_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

type Row = typeof pods.$inferSelect;
const db = (): Db => p.api.deps.db;
const rows = (where: ReturnType<typeof sql>) =>
  withSystem(db(), (tx) => tx.select().from(pods).where(where)) as Promise<Row[]>;
const podsOfDeployment = (name: string) =>
  rows(
    sql`${pods.clusterId} = ${clusterId} and ${pods.name} like ${`${name}-%`} and ${pods.deletionRequestedAt} is null`,
  );
const deploy = (name: string, spec: object, replicas = 1) =>
  p.api.call("PUT", `/v1/clusters/${clusterId}/deployments/default/${name}`, {
    token,
    body: { spec: { replicas, template: { spec } } },
  });
const podEvents = async (podId: string) =>
  (await systemRows(
    db(),
    sql`select reason, type, message, namespace, object_uid, source from events where object_uid = ${podId} order by created_at`,
  )) as {
    reason: string;
    type: string;
    message: string;
    namespace: string;
    object_uid: string;
    source: string;
  }[];
const web = (extra: object = {}) => ({
  name: "web",
  image: "localhost/berth/demo-web:latest",
  ports: [{ containerPort: 8080 }],
  resources: { requests: { cpu: "10m", memory: "16Mi" } },
  ...extra,
});
const runtime = () => agents.runtime;
async function current(podId: string) {
  // The pod's container, not its sandbox (the holder of its network namespace).
  const list = (await containersOf(nodeId)).filter(
    (c) => c.Labels[CONTAINER_LABELS.pod] === podId && c.Labels[CONTAINER_LABELS.kind] !== "sandbox",
  );
  return list.sort(
    (a, b) =>
      Number(b.Labels[CONTAINER_LABELS.restartCount]) - Number(a.Labels[CONTAINER_LABELS.restartCount]),
  )[0];
}
/** The file's text, or `false` when the exec ran out of time (it may take seconds to start on a loaded node). */
async function cat(podId: string, path: string): Promise<string | false> {
  const r = await runtime().execCommand((await current(podId))?.Id ?? "", ["/bin/cat", path], {
    timeoutMs: 15_000,
  });
  return !r.timedOut && r.output;
}

async function putConfigMap(name: string, data: Record<string, string>): Promise<void> {
  await withSystem(db(), async (tx) => {
    const [existing] = await tx
      .select()
      .from(objects)
      .where(
        sql`${objects.clusterId} = ${clusterId} and ${objects.kind} = 'ConfigMap' and ${objects.name} = ${name}`,
      );
    if (existing) await tx.update(objects).set({ spec: { data } }).where(eq(objects.id, existing.id));
    else
      await tx.insert(objects).values({
        id: `cm_${newId("pod").slice(4)}`,
        tenantId,
        clusterId,
        kind: "ConfigMap",
        namespace: "default",
        name,
        spec: { data },
      });
  });
}

describe("readiness, configuration and events on the platform", () => {
  it("a pod is Ready only once its readiness probe passes; statuses, conditions and events are stored", async () => {
    await putConfigMap("greeting", { greeting: "hello" });
    const put = await deploy("web", {
      containers: [
        web({
          readinessProbe: {
            httpGet: { path: "/healthz", port: 8080 },
            initialDelaySeconds: 3,
            periodSeconds: 1,
          },
          volumeMounts: [{ name: "config", mountPath: "/etc/config" }],
        }),
      ],
      volumes: [{ name: "config", configMap: { name: "greeting" } }],
    });
    expect(put.status, put.text).toBeLessThan(300);
    const running = await p.waitFor(
      "Running",
      async () => (await podsOfDeployment("web")).find((x) => x.phase === "Running"),
      60_000,
    );
    expect(running.ready).toBe(false); // running, but its probe waits 3 s
    const ready = await p.waitFor(
      "ready",
      async () => (await rows(eq(pods.id, running.id))).find((x) => x.ready),
      30_000,
    );
    const gated = (ready.readyAt?.getTime() ?? 0) - (ready.startedAt?.getTime() ?? 0);
    expect(gated).toBeGreaterThanOrEqual(2_500);
    expect(ready.containerStatuses).toMatchObject([
      {
        name: "web",
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: {} },
        image: "localhost/berth/demo-web:latest",
      },
    ]);
    expect(ready.conditions.map((c) => [c.type, c.status])).toEqual([
      ["PodScheduled", "True"],
      ["Initialized", "True"],
      ["ContainersReady", "True"],
      ["Ready", "True"],
    ]);
    const events = await p.waitFor("Started event", async () => {
      const list = await podEvents(running.id);
      return list.some((e) => e.reason === "Started") && list;
    });
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(["Pulled", "Created", "Started"]));
    expect(events[0]).toMatchObject({ namespace: "default", object_uid: running.id, source: "health" });
    expect(await p.waitFor("the mounted greeting", () => cat(running.id, "/etc/config/greeting"))).toBe(
      "hello",
    );
  }, 120_000);

  it("a changed ConfigMap reaches the mounted file within 60 s, without a restart", async () => {
    const [pod] = await podsOfDeployment("web");
    const before = await current(pod?.id ?? "");
    const changed = Date.now();
    await putConfigMap("greeting", { greeting: "bonjour" });
    await p.waitFor(
      "new greeting",
      async () => (await cat(pod?.id ?? "", "/etc/config/greeting")) === "bonjour",
      60_000,
    );
    const took = Date.now() - changed;
    console.log(`ConfigMap change → file in the container: ${took} ms`);
    expect(took).toBeLessThan(60_000);
    expect((await current(pod?.id ?? ""))?.Id).toBe(before?.Id);
    expect((await rows(eq(pods.id, pod?.id ?? "")))[0]).toMatchObject({ restarts: 0, ready: true });
  }, 90_000);

  it("a liveness failure restarts the container with back-off, visible on the pod", async () => {
    await deploy("flaky", {
      terminationGracePeriodSeconds: 1,
      containers: [
        web({
          livenessProbe: { exec: { command: ["cat", "/tmp/alive"] }, periodSeconds: 1, failureThreshold: 1 },
        }),
      ],
    });
    const looping = await p.waitFor(
      "CrashLoopBackOff",
      async () => (await podsOfDeployment("flaky")).find((x) => x.reason === "CrashLoopBackOff"),
      60_000,
    );
    expect(looping).toMatchObject({ phase: "Running", ready: false });
    expect(looping.restarts).toBeGreaterThanOrEqual(1);
    expect(looping.containerStatuses[0]).toMatchObject({
      state: { waiting: { reason: "CrashLoopBackOff" } },
      // demo-web exits 0 on SIGTERM: the killed run completed.
      lastState: { terminated: { exitCode: 0, reason: "Completed" } },
    });
    expect(looping.containerStatuses[0]?.state.waiting?.message).toMatch(
      /^back-off \d+s restarting failed container=web pod=flaky-/,
    );
    const reasons = (await podEvents(looping.id)).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["Unhealthy", "Killing", "BackOff"]));
    await p.api.call("DELETE", `/v1/clusters/${clusterId}/deployments/default/flaky`, { token });
  }, 90_000);
});

describe("pods that finish", () => {
  /** A pod bound to the node directly, as a Job's would be. */
  async function runOnce(name: string, script: string): Promise<string> {
    const template = {
      ...normalisePodTemplate(
        {
          spec: {
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 1,
            containers: [
              { name: "task", image: "localhost/berth/demo-web:latest", command: ["/bin/sh", "-c", script] },
            ],
          },
        },
        { at: "spec.template", replicas: 1 },
      ),
      rollout: { maxSurge: 0, maxUnavailable: 0 },
    };
    const id = newId("pod");
    const requests = podRequests(template);
    await withSystem(db(), (tx) =>
      tx.insert(pods).values({
        id,
        tenantId,
        clusterId,
        ownerKind: "Job",
        namespace: "default",
        name,
        templateHash: "once",
        template,
        cpuMillis: requests.cpuMillis,
        memoryBytes: requests.memoryBytes,
        nodeId,
        scheduledAt: new Date(),
      }),
    );
    return id;
  }

  it("restartPolicy Never: exit 0 is Succeeded, exit 1 Failed; meters close, the exited containers stay until the pod is deleted", async () => {
    const ok = await runOnce("once-ok", "echo done");
    const bad = await runOnce("once-bad", "exit 1");
    const [succeeded] = await p.waitFor(
      "Succeeded",
      async () => {
        const r = await rows(eq(pods.id, ok));
        return r[0]?.phase === "Succeeded" && r;
      },
      60_000,
    );
    const [failed] = await p.waitFor(
      "Failed",
      async () => {
        const r = await rows(eq(pods.id, bad));
        return r[0]?.phase === "Failed" && r;
      },
      60_000,
    );
    expect(succeeded).toMatchObject({ reason: "Completed", ready: false, restarts: 0 });
    expect(succeeded?.containerStatuses[0]?.state.terminated).toMatchObject({
      exitCode: 0,
      reason: "Completed",
    });
    expect(succeeded?.conditions.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "PodCompleted",
    });
    expect(failed).toMatchObject({ reason: "Error" });
    expect(failed?.containerStatuses[0]?.state.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    const open = await systemRows(
      db(),
      sql`select 1 from meter_intervals where subject_id in (${ok}, ${bad}) and ended_at is null`,
    );
    expect(open).toEqual([]);
    // Still there, exited, for their logs; gone once the pods are deleted.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await current(ok))?.State).toBe("exited");
    await withSystem(db(), (tx) =>
      tx.update(pods).set({ deletionRequestedAt: new Date() }).where(sql`${pods.id} in (${ok}, ${bad})`),
    );
    await p.waitFor(
      "rows gone",
      async () => (await rows(sql`${pods.id} in (${ok}, ${bad})`)).length === 0,
      30_000,
    );
    expect(await current(ok)).toBeUndefined();
  }, 120_000);
});

describe("a fork bomb", () => {
  it("is held by its pids limit: the node and the other pods stay healthy", async () => {
    await deploy("bomb", {
      // sh as PID 1 ignores SIGTERM: without this the delete below waits out the default 30 s.
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "bomb",
          image: "localhost/berth/demo-web:latest",
          command: ["/bin/sh", "-c", "f() { f | f & }; f; sleep 300"],
          resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
        },
      ],
    });
    const bomb = await p.waitFor(
      "bomb running",
      async () => (await podsOfDeployment("bomb")).find((x) => x.phase === "Running"),
      60_000,
    );
    const [webPod] = await podsOfDeployment("web");
    const seen = { nodeStatuses: new Set<string>(), webReady: new Set<boolean>(), pids: 0 };
    const started = Date.now();
    // Long enough for several heartbeats (every 2 s) and node leases to be renewed, or to lapse.
    while (Date.now() - started < 12_000) {
      const nodes = await p.api.call("GET", `/v1/clusters/${clusterId}/nodes`, { token });
      for (const n of nodes.body.items) seen.nodeStatuses.add(n.status);
      seen.webReady.add((await rows(eq(pods.id, webPod?.id ?? "")))[0]?.ready ?? false);
      const id = (await current(bomb.id))?.Id;
      const pids = await readFile(
        `/sys/fs/cgroup/pids/libpod_parent/libpod-${id}/pids.current`,
        "utf8",
      ).catch(() => "0");
      seen.pids = Math.max(seen.pids, Number(pids));
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(
      `fork bomb for 12 s: at most ${seen.pids} processes in its container; node statuses seen: ${[...seen.nodeStatuses].join(", ")}; web ready: ${[...seen.webReady].join(", ")}`,
    );
    expect([...seen.nodeStatuses]).toEqual(["ready"]);
    expect([...seen.webReady]).toEqual([true]);
    expect(seen.pids).toBeGreaterThan(100);
    expect(seen.pids).toBeLessThanOrEqual(512);
    const webPage = await fetch(`http://127.0.0.1:${webPod?.hostPorts[0]}/`).then((r) => r.text());
    expect(webPage).toContain("Hello from Berth demo-web");
    await p.api.call("DELETE", `/v1/clusters/${clusterId}/deployments/default/bomb`, { token });
    await p.waitFor("bomb gone", async () => (await current(bomb.id)) === undefined, 60_000);
  }, 150_000);
});
