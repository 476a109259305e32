import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, demoManifest, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * Clients of a Service see no error while its pods are replaced: a client pod calls `http://web`
 * in a loop (new connection each time, as `wget` does) through a rolling update of the 3-replica
 * web Deployment spread over two nodes, and through the deletion of one of its pods. Terminating
 * pods leave the rotation on every node before they are stopped (the agent drains them).
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;

let p: Platform;
let agents: Agents;
const t = { token: "", clusterId: "" };

const call = (method: string, path: string, body?: unknown) =>
  p.api.call(method, `/v1/clusters/${t.clusterId}/${path}`, { token: t.token, ...(body ? { body } : {}) });
async function apply(docs: unknown[]) {
  const r = await call("POST", "apply", docs);
  expect(r.status, r.text).toBe(200);
}
const podsOf = async (app: string): Promise<J[]> =>
  (await call("GET", `pods?namespace=default&labelSelector=app%3D${app}`)).body.items;
async function exec(pod: J, script: string) {
  const r = await call("POST", `pods/default/${pod.name}/exec`, { command: ["sh", "-c", script] });
  expect(r.status, r.text).toBe(200);
  return r.body as { stdout: string; stderr: string; exitCode: number | null };
}

const service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
};
const web = (message: string) =>
  demoManifest("web", {
    replicas: 3,
    pod: { terminationGracePeriodSeconds: 10 },
    container: {
      env: [{ name: "MESSAGE", value: message }],
      ports: [{ name: "http", containerPort: 8080 }],
      readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
    },
  });
/**
 * Calls `http://web` every 100 ms, one line per call in /tmp/calls: `OK` with its start and end,
 * or `FAIL` with them, wget's error and what the cluster DNS says of `web` right after.
 */
const client = demoManifest("client", {
  container: {
    command: [
      "sh",
      "-c",
      "while true; do s=$(date +%T); if wget -q -O /dev/null http://web/ 2>/tmp/err; then echo OK $s $(date +%T); else echo FAIL $s $(date +%T) $(cat /tmp/err) $(nslookup web 2>&1 | tr '\\n' ' '); fi >> /tmp/calls; sleep 0.1; done",
    ],
  },
});

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token: t.token } = await p.api.tenant("rollout-net"));
  t.clusterId = await p.activeCluster(t.token, "r");
  const join = await p.api.call("POST", `/v1/clusters/${t.clusterId}/join-tokens`, {
    token: t.token,
    body: { maxUses: 2 },
  });
  await agents.start("r1", { joinToken: join.body.token, portRange: hostPortBlock(20) });
  await agents.start("r2", { joinToken: join.body.token, portRange: hostPortBlock(20) });
  await apply([service, web("v1")]);
}, 120_000);
afterAll(async () => {
  await agents?.close();
  await p?.close();
});

/** Three ready web pods, none of them one of `old`. */
const readyWeb = (old: readonly J[] = []) =>
  p.waitFor(
    "3 ready web pods, all new",
    async () => {
      const list = await podsOf("web");
      const fresh = list.every((x) => !old.some((o) => o.name === x.name));
      return list.length === 3 && fresh && list.every((x) => x.ready) && list;
    },
    120_000,
  );

async function calls(pod: J): Promise<{ ok: number; failed: string[] }> {
  const lines = (await exec(pod, "cat /tmp/calls 2>/dev/null || true")).stdout.trim().split("\n");
  return {
    ok: lines.filter((l) => l.startsWith("OK")).length,
    failed: lines.filter((l) => l.startsWith("FAIL")),
  };
}

describe("a Service's clients while its pods are replaced", () => {
  it("see no failed request through a rolling update and a pod's deletion", async () => {
    const before = await readyWeb();
    expect(new Set(before.map((x: J) => x.nodeName)).size).toBe(2);
    await apply([client]);
    const [clientPod] = await p.waitFor(
      "the client calling",
      async () => {
        const list = await podsOf("client");
        return list[0]?.phase === "Running" && (await calls(list[0])).ok >= 10 ? list : undefined;
      },
      60_000,
    );

    await apply([service, web("v2")]);
    // Every old pod is gone: each one was drained and stopped while the client kept calling.
    const after = await readyWeb(before);
    const rolled = await calls(clientPod);

    const victim = after[0];
    const del = await call("DELETE", `pods/default/${victim.name}`);
    expect(del.status, del.text).toBe(200);
    await p.waitFor(
      "the deleted pod replaced",
      async () => {
        const list = await podsOf("web");
        return list.length === 3 && list.every((x: J) => x.ready && x.name !== victim.name);
      },
      60_000,
    );
    // Calls of the last seconds too: the deleted pod's container stops after it leaves the rotation.
    await new Promise((r) => setTimeout(r, 3_000));
    const end = await calls(clientPod);
    console.log(
      `service clients through a rolling update: ${rolled.ok} calls, ${rolled.failed.length} failed; ` +
        `through a pod deletion: ${end.ok - rolled.ok} more calls, ${end.failed.length - rolled.failed.length} failed`,
    );
    expect(end.failed).toEqual([]);
    expect(end.ok - rolled.ok).toBeGreaterThan(10);
  }, 300_000);
});
