import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONTAINER_LABELS } from "@berth/protocol";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containersOf } from "../e2e/support";
import { type Agents, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";

/**
 * Workloads that run real applications (issue #7), end to end: manifests in kubectl's shape applied
 * over the API, the real provisioner's controllers, the real node agent running the pods in Podman,
 * and the containers looked into through the exec API.
 *
 * Covered elsewhere, not repeated here: a liveness failure restarting a container with back-off
 * (`CrashLoopBackOff`, `lastState.terminated`, restartCount) in agent-workloads.test.ts; logs
 * followed live (`…/log?follow=true`, lines arriving as written) in pod-streams.test.ts.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
const fixture = (name: string) => readFileSync(join(import.meta.dirname, "../fixtures", name), "utf8");
const WEB = fixture("web-with-config.yaml");
const JOB = fixture("batch-job.yaml");
const GREETING = "hello from the configmap";
const PASSWORD = "s3cr3t-w3b";
const REPLICAS = 4;
const MAX_UNAVAILABLE = 1;
const MAX_SURGE = 1;

let p: Platform;
let agents: Agents;
let token: string;
let clusterId: string;
let nodeId: string;
/** The test database's owner: its instrument, the history of the Deployment's conditions. */
let owner: postgres.Sql;

beforeAll(async () => {
  p = await startPlatform();
  agents = await startAgents(p);
  ({ token } = await p.api.tenant("real-apps"));
  clusterId = await p.activeCluster(token, "apps");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
  const { agent } = await agents.start("apps", { joinToken: jt.body.token, portRange: hostPortBlock(20) });
  nodeId = agent.status().nodeId ?? "";
  owner = postgres(p.api.database.migrationUrl, { max: 1, onnotice: () => {} });
  await owner.unsafe(CONDITION_HISTORY);
}, 120_000);
afterAll(async () => {
  await owner?.end({ timeout: 5 });
  await agents?.close();
  await p?.close();
});

const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  p.api.call(method, `/v1/clusters/${clusterId}/${path}`, {
    token,
    ...(body !== undefined ? { body } : {}),
    ...(headers ? { headers } : {}),
  });
const apply = (yaml: string) => call("POST", "apply", yaml, { "content-type": "application/yaml" });
const podsOf = async (selector: string): Promise<J[]> =>
  (await call("GET", `pods?namespace=default&labelSelector=${encodeURIComponent(selector)}`)).body.items;
const exec = async (pod: J, command: string[]) => {
  const r = await call("POST", `pods/default/${pod.name}/exec`, { command });
  expect(r.status, r.text).toBe(200);
  return r.body as { stdout: string; stderr: string; exitCode: number | null };
};
const deployment = async (): Promise<J> => (await call("GET", "deployments/default/web")).body;
const condition = (o: J, type: string) => (o.status.conditions as J[]).find((c) => c.type === type);
const hashOf = (pod: J): string => pod.metadata.labels["pod-template-hash"];
/**
 * Keeps every change of a Deployment's conditions, as written (a test's own instrument). The
 * Progressing=False condition is written in the pass that rolls back, and the next pass (at once:
 * the rollback is progress) replaces it, as Kubernetes' controller does after an undo, so it is on
 * the row for tens of milliseconds; polling the API would miss it now and then.
 */
const CONDITION_HISTORY = `
  create table test_deployment_conditions (
    id bigserial primary key, at timestamptz not null default clock_timestamp(), name text, conditions jsonb);
  create function test_record_conditions() returns trigger language plpgsql security definer as $$
  begin
    if new.conditions is distinct from old.conditions then
      insert into test_deployment_conditions (name, conditions) values (new.name, new.conditions);
    end if;
    return new;
  end $$;
  create trigger test_record_conditions after update on deployments
    for each row execute function test_record_conditions();`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `sample` every `everyMs` until stopped; returns how many samples it took. */
function sampler(everyMs: number, sample: () => Promise<void>) {
  let running = true;
  let samples = 0;
  const done = (async () => {
    while (running) {
      await sample();
      samples++;
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return samples;
    },
  };
}

/** The Deployment finished: every replica of the current template available, nothing else left. */
async function settled(): Promise<J | false> {
  const d = await deployment();
  const s = d.status;
  const done =
    s.observedGeneration === d.metadata.generation &&
    s.replicas === REPLICAS &&
    s.updatedReplicas === REPLICAS &&
    s.availableReplicas === REPLICAS &&
    condition(d, "Progressing")?.reason === "NewReplicaSetAvailable";
  return done && d;
}

describe("a web release configured from a ConfigMap and a Secret", () => {
  let goodHash = "";

  it("runs four ready replicas whose containers see the greeting and the password as env and as files", async () => {
    const applied = await apply(WEB);
    expect(applied.status, applied.text).toBe(200);
    expect(applied.body.items.map((i: J) => [i.kind, i.name, i.action])).toEqual([
      ["ConfigMap", "web-config", "created"],
      ["Secret", "web-secret", "created"],
      ["Deployment", "web", "created"],
    ]);
    const d = await p.waitFor("web rolled out", settled, 120_000);
    expect(d.spec).toMatchObject({
      progressDeadlineSeconds: 15,
      autoRollback: true,
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: MAX_SURGE, maxUnavailable: MAX_UNAVAILABLE },
      },
    });
    const pods = await podsOf("app=web");
    expect(pods).toHaveLength(REPLICAS);
    for (const pod of pods) {
      expect(pod).toMatchObject({ phase: "Running", ready: true, terminating: false, nodeId });
      expect(pod.status.containerStatuses[0]).toMatchObject({ name: "demo-web", ready: true, started: true });
      // Both probes are in the spec the node runs.
      expect(pod.spec.containers[0].readinessProbe.httpGet).toMatchObject({ path: "/index.html" });
      expect(pod.spec.containers[0].livenessProbe.httpGet).toMatchObject({ path: "/healthz", port: 8080 });
    }
    goodHash = hashOf(pods[0]);
    expect(pods.every((x) => hashOf(x) === goodHash)).toBe(true);

    const pod = pods[0];
    const env = await exec(pod, ["sh", "-c", "echo $GREETING"]);
    console.log(`exec sh -c 'echo $GREETING' in ${pod.name} → ${JSON.stringify(env.stdout)}`);
    expect(env).toMatchObject({ stdout: `${GREETING}\n`, stderr: "", exitCode: 0 });
    expect(await exec(pod, ["sh", "-c", 'test "$PASSWORD" = s3cr3t-w3b && echo same'])).toMatchObject({
      stdout: "same\n",
      exitCode: 0,
    });
    const files = await exec(pod, ["cat", "/etc/web-config/GREETING", "/etc/web-secret/password"]);
    expect(files).toMatchObject({ stdout: `${GREETING}${PASSWORD}`, exitCode: 0 });
    // The Secret's files are on a tmpfs, its ConfigMap's on disk; both read-only to the container.
    const mounts = await exec(pod, ["cat", "/proc/mounts"]);
    expect(mounts.stdout).toMatch(/^tmpfs \/etc\/web-secret tmpfs ro[,\s]/m);
    expect(mounts.stdout).toMatch(/ \/etc\/web-config \S+ ro[,\s]/m);
    // The application answers on its port, as its readiness probe saw it.
    const page = await fetch(`http://127.0.0.1:${pod.hostPort}/`).then((r) => r.text());
    expect(page).toContain("Hello from Berth demo-web");
    // The API shows references, never the Secret's value.
    const seen = [
      (await call("GET", `pods/default/${pod.name}`)).text,
      (await call("GET", "pods?namespace=default")).text,
      (await call("GET", "deployments/default/web")).text,
    ];
    for (const text of seen) expect(text).not.toContain(PASSWORD);
  }, 180_000);

  it("rolls a release that never becomes ready back by itself, never below replicas - maxUnavailable available", async () => {
    expect(goodHash).not.toBe("");
    const floor = REPLICAS - MAX_UNAVAILABLE;
    const badYaml = WEB.replace("path: /index.html", "path: /never-ready");
    expect(badYaml).not.toBe(WEB);
    const started = Date.now();
    const seen = {
      fewestAvailable: Number.POSITIVE_INFINITY,
      fewestAvailableStatus: Number.POSITIVE_INFINITY,
      mostPods: 0,
      mostBadPods: 0,
    };
    // The pods: how many of the good template are ready and not being removed.
    const pods = sampler(250, async () => {
      const list = await podsOf("app=web");
      const live = list.filter((x) => !x.terminating);
      const available = live.filter((x) => hashOf(x) === goodHash && x.ready).length;
      seen.fewestAvailable = Math.min(seen.fewestAvailable, available);
      seen.mostPods = Math.max(seen.mostPods, live.length);
      seen.mostBadPods = Math.max(seen.mostBadPods, live.filter((x) => hashOf(x) !== goodHash).length);
    });
    // The Deployment as the API shows it: its availableReplicas.
    const status = sampler(250, async () => {
      const d = await deployment();
      seen.fewestAvailableStatus = Math.min(seen.fewestAvailableStatus, d.status.availableReplicas);
    });
    const applied = await apply(badYaml);
    expect(applied.status, applied.text).toBe(200);
    expect(applied.body.items.map((i: J) => i.action)).toEqual(["unchanged", "unchanged", "configured"]);
    const warning = await p.waitFor(
      "RolledBack",
      async () =>
        (await call("GET", "events?namespace=default&involvedObject=Deployment/web")).body.items.find(
          (e: J) => e.reason === "RolledBack",
        ),
      60_000,
    );
    const rolledBackAt = Date.now() - started;
    const d = await p.waitFor(
      "all replicas of the good template ready again",
      async () => {
        const done = await settled();
        const list = (await podsOf("app=web")).filter((x) => !x.terminating);
        return (
          done && list.length === REPLICAS && list.every((x) => hashOf(x) === goodHash && x.ready) && done
        );
      },
      60_000,
    );
    const recoveredAt = Date.now() - started;
    const samples = (await pods.stop()) + (await status.stop());
    const changes = await owner<{ at: Date; conditions: J[] }[]>`
      select at, conditions from test_deployment_conditions where name = 'web' order by id`;
    const timedOut = changes.filter(
      (h) => h.conditions.find((c) => c.type === "Progressing")?.reason === "ProgressDeadlineExceeded",
    );
    const deadlineAt = (timedOut[0]?.at.getTime() ?? Number.NaN) - started;
    const deadlineCondition = timedOut[0]?.conditions.find((c) => c.type === "Progressing");
    const after = changes[changes.indexOf(timedOut.at(-1) as (typeof changes)[number]) + 1];
    const deadlineFor = (after?.at.getTime() ?? Number.NaN) - (timedOut[0]?.at.getTime() ?? Number.NaN);

    console.log(
      `bad release (replicas ${REPLICAS}, maxSurge ${MAX_SURGE}, maxUnavailable ${MAX_UNAVAILABLE}, progressDeadlineSeconds 15): ` +
        `fewest available old pods ${seen.fewestAvailable} (floor ${floor}; status.availableReplicas at least ${seen.fewestAvailableStatus}), ` +
        `at most ${seen.mostPods} pods (${seen.mostBadPods} of the bad release); ` +
        `Progressing=False ProgressDeadlineExceeded at ${deadlineAt} ms (for ${deadlineFor} ms), RolledBack event by ${rolledBackAt} ms, ` +
        `all ${REPLICAS} replicas of the good template ready again at ${recoveredAt} ms (${samples} samples)`,
    );
    expect(seen.fewestAvailable).toBeGreaterThanOrEqual(floor);
    expect(seen.fewestAvailableStatus).toBeGreaterThanOrEqual(floor);
    expect(seen.mostBadPods).toBeGreaterThanOrEqual(1); // the bad release did start its pods
    expect(seen.mostPods).toBeLessThanOrEqual(REPLICAS + MAX_SURGE);
    expect(timedOut.length).toBeGreaterThanOrEqual(1);
    expect(deadlineCondition).toMatchObject({
      status: "False",
      reason: "ProgressDeadlineExceeded",
      message: expect.stringMatching(/^ReplicaSet "web-[0-9a-f]{10}" has timed out progressing\.$/),
    });
    expect(deadlineAt).toBeGreaterThanOrEqual(15_000);
    expect(warning).toMatchObject({ type: "Warning", involvedObject: { kind: "Deployment", name: "web" } });
    expect(warning.message).toMatch(
      new RegExp(
        `^Rolled back deployment "web" to revision 1 \\(replica set web-${goodHash}\\): revision 2 .* did not progress within 15 s$`,
      ),
    );

    // The good template is back, as the newest revision; the bad one is history.
    expect(d.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe("/index.html");
    expect(d.metadata.annotations["deployment.kubernetes.io/revision"]).toBe("3");
    const history = (await call("GET", "deployments/default/web/revisions")).body;
    expect(history.current).toBe(3);
    expect(history.items.map((r: J) => [r.revision, r.replicaSet])).toEqual([
      [3, `web-${goodHash}`],
      [2, expect.not.stringMatching(goodHash)],
    ]);
    expect(history.items[1].template.spec.containers[0].readinessProbe.httpGet.path).toBe("/never-ready");
    // The bad release's pods said why they never became ready.
    const badSet = history.items[1].replicaSet as string;
    const unhealthy = (await call("GET", "events?namespace=default")).body.items.filter(
      (e: J) => e.reason === "Unhealthy" && e.involvedObject.name.startsWith(`${badSet}-`),
    );
    // (A first check may come before the server listens: connection refused.)
    expect(unhealthy.map((e: J) => e.message)).toContain(
      "Readiness probe failed: HTTP probe failed with statuscode: 404",
    );
    // No good pod was restarted by its liveness probe meanwhile.
    expect((await podsOf("app=web")).map((x) => x.restarts)).toEqual(Array(REPLICAS).fill(0));
  }, 150_000);
});

describe("a Job of five completions, two at a time", () => {
  it("completes with one pod failed on purpose and replaced, never more than two at once", async () => {
    const started = Date.now();
    const applied = await apply(JOB);
    expect(applied.status, applied.text).toBe(200);
    const seen = { active: 0, statusActive: 0, runningContainers: 0 };
    const sample = sampler(250, async () => {
      const list = await podsOf("job-name=batch");
      const ids = new Set(list.map((x) => x.id));
      seen.active = Math.max(
        seen.active,
        list.filter((x) => x.phase !== "Succeeded" && x.phase !== "Failed").length,
      );
      const job = (await call("GET", "jobs/default/batch")).body;
      seen.statusActive = Math.max(seen.statusActive, job.status.active ?? 0);
      const running = (await containersOf(nodeId)).filter(
        (c) =>
          ids.has(c.Labels[CONTAINER_LABELS.pod] ?? "") &&
          c.State === "running" &&
          c.Labels[CONTAINER_LABELS.kind] !== "sandbox",
      );
      seen.runningContainers = Math.max(seen.runningContainers, running.length);
    });

    // Exactly one pod fails: the first one running finds /tmp/fail when its sleep is over.
    const first = await p.waitFor(
      "a running pod of the Job",
      async () => (await podsOf("job-name=batch")).find((x) => x.phase === "Running"),
      60_000,
    );
    const touchedAt = Date.now();
    expect(await exec(first, ["touch", "/tmp/fail"])).toMatchObject({ exitCode: 0, stderr: "" });
    const touchTook = Date.now() - touchedAt;
    const job = await p.waitFor(
      "the Job complete",
      async () => {
        const j = (await call("GET", "jobs/default/batch")).body;
        return (j.status.conditions ?? []).some((c: J) => c.type === "Complete" && c.status === "True") && j;
      },
      120_000,
    );
    const took = Date.now() - started;
    await sample.stop();

    const pods = await podsOf("job-name=batch");
    const phases = pods.map((x) => x.phase).sort();
    console.log(
      `Job batch (completions 5, parallelism 2): Complete after ${took} ms ` +
        `(startTime → completionTime ${Date.parse(job.status.completionTime) - Date.parse(job.status.startTime)} ms); ` +
        `succeeded ${job.status.succeeded}, failed ${job.status.failed}; at most ${seen.active} active pods, ` +
        `${seen.statusActive} in status.active, ${seen.runningContainers} running containers; ` +
        `touch /tmp/fail by exec took ${touchTook} ms`,
    );
    expect(job.status).toMatchObject({ succeeded: 5, failed: 1 });
    expect(job.status.active ?? 0).toBe(0);
    expect(job.status.conditions.find((c: J) => c.type === "Complete")).toMatchObject({
      status: "True",
      reason: "CompletionsReached",
    });
    expect(phases).toEqual(["Failed", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded"]);
    const failed = pods.find((x) => x.phase === "Failed");
    expect(failed.name).toBe(first.name);
    expect(failed.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 1,
      reason: "Error",
    });
    expect(seen.active).toBe(2);
    expect(seen.statusActive).toBeLessThanOrEqual(2);
    expect(seen.runningContainers).toBeLessThanOrEqual(2);
    expect(seen.runningContainers).toBeGreaterThanOrEqual(1);
  }, 180_000);
});
