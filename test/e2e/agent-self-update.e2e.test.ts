import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AgentBundle, type AgentSource, agentBundle, bundleOf } from "@berth/control-api/testing";
import { dismantleNodeNetwork } from "@berth/node-agent/network";
import { createDockerEngineRuntime } from "@berth/node-agent/runtime";
import { AGENT_FILE } from "@berth/protocol";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { socketPath } from "../integration/agent-support";
import { type Platform, startPlatform } from "../integration/harness";
import { containersOf, engine, hostPortBlock, type Proc, poll, start } from "./support";

/**
 * Issue #10's drain-free update: an agent installed with the real installer (no systemd here, so
 * its command runs in the foreground) runs a pod; the control plane starts serving another bundle;
 * the agent downloads it, checks it, puts it over its own file, exits 75, and its command starts
 * it again — as the same node, with the same container still running, never restarted, and still
 * ready (its readiness probe's result handed over). Bytes that do not match the announced checksum
 * replace nothing.
 */
const CONTAINER_HOST = `unix://${socketPath()}`;

let p: Platform;
let served: AgentBundle | undefined;
/** The bundle the control plane serves, swapped by the tests; the real one to begin with. */
const source: AgentSource = {
  async bundle() {
    served ??= await agentBundle();
    return served;
  },
  built: () => served,
};
let url: string;
let closeListener: () => Promise<void>;
let token: string;
let clusterId: string;
let dir: string;
let agentProc: Proc | undefined;
let nodeId = "";

const call = (method: string, path: string, body?: unknown) => p.api.call(method, path, { token, body });
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const node = async () =>
  (await call("GET", `/v1/clusters/${clusterId}/nodes`)).body.items.find(
    (n: { name: string }) => n.name === "updating",
  ) as { id: string; status: string; agentVersion: string } | undefined;
const installed = () => readFile(join(dir, "agent", AGENT_FILE));

beforeAll(async () => {
  // The production lease (10 s) and eviction (12 s): a restart well within them is what is tested,
  // not the tests' 3 s lease, which a loaded machine's restart may outlast.
  p = await startPlatform({
    api: { agent: source },
    timings: { nodeLeaseMs: 10_000, podEvictionMs: 12_000 },
  });
  ({ url, close: closeListener } = await p.api.listen());
  ({ token } = await p.api.tenant("self-update"));
  clusterId = await p.activeCluster(token, "c");
  dir = await mkdtemp(join(tmpdir(), "berth-self-update-"));
});

afterAll(async () => {
  if (agentProc && agentProc.child.exitCode === null) {
    agentProc.child.kill("SIGTERM");
    await agentProc.exited;
  }
  if (nodeId)
    for (const c of await containersOf(nodeId, { all: true }))
      await engine("DELETE", `/containers/${c.Id}?force=true`);
  if (clusterId && nodeId)
    await dismantleNodeNetwork(createDockerEngineRuntime({ socketPath: socketPath() }), {
      nodeId,
      clusterId,
    });
  await closeListener?.();
  await p?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The installed agent's output (its command's and its own log lines), shown when a test fails. */
const showAgentOutput = () => onTestFailed(() => console.log(agentProc?.output()));

describe("an installed node agent", () => {
  it("updates itself to the bundle its control plane serves, without touching its pods", async () => {
    showAgentOutput();
    const original = await source.bundle();
    const jt = await call("POST", `/v1/clusters/${clusterId}/join-tokens`);
    const script = join(dir, "install.sh");
    await writeFile(script, await fetch(`${url}/v1/agent/install.sh`).then((r) => r.text()));
    const ports = hostPortBlock(10);
    agentProc = start(
      "sh",
      [
        script,
        ...["--name", "updating", "--state-dir", join(dir, "state"), "--address", "127.0.0.1"],
        ...["--port-range", `${ports.min}-${ports.max}`],
      ],
      {
        BERTH_SERVER: url,
        BERTH_JOIN_TOKEN: jt.body.token,
        BERTH_AGENT_DIR: join(dir, "agent"),
        BERTH_NO_SYSTEMD: "1",
        CONTAINER_HOST,
        LOG_LEVEL: "debug",
      },
    );
    await agentProc.waitForOutput(/\(checksum verified\)/, 15_000);
    const joined = await poll(
      "the node joined",
      async () => {
        const n = await node();
        return n?.status === "ready" && n;
      },
      20_000,
    );
    nodeId = joined.id;
    // The installed bundle knows itself: the served version, named by its own bytes.
    expect(joined.agentVersion).toBe(original.version);

    await call("PUT", `/v1/clusters/${clusterId}/deployments/default/web`, {
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
                // Ready after 2 passes a second apart: an agent that forgot it across its restart
                // would report the pod unready for a second or more.
                readinessProbe: {
                  httpGet: { path: "/healthz", port: 8080 },
                  periodSeconds: 1,
                  successThreshold: 2,
                },
              },
            ],
          },
        },
      },
    });
    const pod = await poll(
      "the pod running",
      async () => {
        const [x] = (await call("GET", `/v1/clusters/${clusterId}/pods`)).body.items;
        return x?.phase === "Running" && x.ready && x;
      },
      30_000,
    );
    const [container] = await containersOf(nodeId);
    expect(container?.State).toBe("running");

    // The control plane now serves another build: the same agent, other bytes.
    const next = bundleOf(`${original.source}\n// the next build\n`);
    served = next;
    // What the engine and the API say while the agent updates and restarts.
    const seen = new Set<string>();
    const phases = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const c of await containersOf(nodeId)) seen.add(`${c.Id}:${c.State}`);
        for (const x of (await call("GET", `/v1/clusters/${clusterId}/pods`)).body.items)
          phases.add(`${x.phase}:${x.ready}:${x.restarts}`);
        phases.add(`node ${(await node())?.status}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    // Announced with the next heartbeat: within 30 s while the node channel holds the lease.
    await agentProc.waitForOutput(/agent updated \(checksum verified\)/, 50_000);
    await agentProc.waitForOutput(/berth: the agent updated itself; starting the new version/, 10_000);
    await poll("the new version reported", async () => (await node())?.agentVersion === next.version, 20_000);
    watching = false;
    await watcher;

    expect(sha256(await installed())).toBe(next.sha256);
    expect(await readdir(join(dir, "agent"))).toEqual(["berth-node-agent.mjs", "bin"]);
    expect((await node())?.id).toBe(nodeId);
    // Drain-free: the one container ran throughout and was never restarted.
    expect([...seen]).toEqual([`${container?.Id}:running`]);
    expect([...phases].sort()).toEqual(["Running:true:0", "node ready"]);
    const [after] = (await call("GET", `/v1/clusters/${clusterId}/pods`)).body.items;
    expect(after).toMatchObject({ id: pod.id, phase: "Running", ready: true, restarts: 0 });
    const [again] = await containersOf(nodeId);
    expect(again?.Id).toBe(container?.Id);
    expect(again?.Labels["berth.restart-count"]).toBe("0");
    const events = (await call("GET", `/v1/clusters/${clusterId}/events`)).body.items;
    expect(events.map((e: { reason: string }) => e.reason)).toContain("AgentVersionChanged");
  });

  it("keeps its file and version when the bytes served do not match the announced checksum", async () => {
    showAgentOutput();
    const current = served as AgentBundle;
    const announced = bundleOf(`${current.source}\n// a build after that\n`);
    // Announced: that build's version and checksum; served: other bytes under its name.
    served = { ...announced, source: `${announced.source}// tampered\n` };
    const m = await (agentProc as Proc).waitForOutput(
      /"checksum mismatch: got ([0-9a-f]{64}), want ([0-9a-f]{64})"/,
      50_000,
    );
    expect(m[2]).toBe(announced.sha256);
    expect(sha256(await installed())).toBe(current.sha256);
    expect(await readdir(join(dir, "agent"))).toEqual(["berth-node-agent.mjs", "bin"]);
    expect(agentProc?.child.exitCode).toBeNull();
    expect((await node())?.agentVersion).toBe(current.version);
    expect(agentProc?.output()).toMatch(/could not update the agent; it keeps running as it is/);
    // Asked to stop, the command passes the signal on and the agent stops cleanly.
    agentProc?.child.kill("SIGTERM");
    expect(await agentProc?.exited).toBe(0);
    expect((await containersOf(nodeId)).map((c) => c.State)).toEqual(["running"]);
  });
});
