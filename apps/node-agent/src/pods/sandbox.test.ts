import { createServer } from "node:net";
import { CONTAINER_LABELS } from "@berth/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerRuntime } from "../runtime";
import { freePort, httpGet } from "../runtime/conformance-helpers";
import { createEngineClient } from "../runtime/engine-http";
import { SANDBOX_CONTAINER, SANDBOX_IMAGE } from "./sandbox";
import {
  container,
  execIn,
  instance,
  type Node,
  pod,
  reportOf,
  runtime,
  sh,
  startNode,
  until,
  url,
  WEB,
} from "./test-support";

/** One network namespace per pod, held by its sandbox, against real containers (kubelet's behaviour is the spec). */
let node: Node;
beforeAll(async () => {
  node = await startNode("sandbox");
}, 60_000);
afterAll(async () => {
  await node?.close();
}, 60_000);

const sandboxOf = (n: Node, podId: string) => instance(n, podId, SANDBOX_CONTAINER);
const podContainers = (n: Node, podId: string) =>
  runtime.list({ [CONTAINER_LABELS.node]: n.nodeId, [CONTAINER_LABELS.pod]: podId });
const ids = async (n: Node, podId: string) => (await podContainers(n, podId)).map((c) => c.id).sort();

/** A server on 8080 (published on `hostPort`) and a sidecar that calls it on localhost. */
const twoContainers = (name: string, hostPort = 0) =>
  pod(name, {
    hostPorts: hostPort ? [hostPort] : [],
    containers: [
      container({ name: "web", ...WEB, ports: [{ containerPort: 8080, protocol: "TCP" }] }),
      container({
        name: "client",
        ...sh(
          "while :; do wget -qO- http://localhost:8080/healthz >/dev/null 2>&1 && echo reached; sleep 0.3; done",
        ),
      }),
    ],
  });

describe("the pod's sandbox", () => {
  it("holds the pod's namespace: a sidecar reaches the server on localhost, and the pod IP stays when the server is killed and restarted", async () => {
    const hostPort = await freePort();
    const p = twoContainers("shared", hostPort);
    node.supervisor.setAssignments([p]);
    const first = await until("running", () => {
      const r = reportOf(node, p.podId);
      return r?.phase === "Running" && r.containers?.every((c) => c.ready) && r.podIP ? r : null;
    });
    const sandbox = await sandboxOf(node, p.podId);
    expect(sandbox).toMatchObject({ image: SANDBOX_IMAGE, state: "running", sandboxId: null });
    expect(first.podIP).toBe(sandbox?.ipAddress);
    const web = await instance(node, p.podId, "web");
    expect(web).toMatchObject({ sandboxId: sandbox?.id, ipAddress: first.podIP });
    // The sidecar reaches the server on localhost; both have the pod's name as hostname.
    await until("the client reached the server", async () => {
      const client = await instance(node, p.podId, "client");
      return client && (await runtime.logs(client.id, { tail: 5 })).includes("reached");
    });
    expect((await execIn(node, p.podId, "hostname", "client")).trim()).toBe("shared");
    // The server's port, published on the node by the sandbox.
    expect(sandbox?.ports.map((x) => x.hostPort)).toEqual([hostPort]);
    expect(await httpGet(`http://127.0.0.1:${hostPort}/healthz`)).toBe("ok\n");

    await runtime.kill(web?.id ?? "", "KILL");
    const restarted = await until("web restarted", async () => {
      const c = await instance(node, p.podId, "web");
      return c?.labels[CONTAINER_LABELS.restartCount] === "1" && c.state === "running" && c;
    });
    expect(restarted.ipAddress).toBe(first.podIP);
    expect((await execIn(node, p.podId, "wget -qO- http://localhost:8080/healthz", "client")).trim()).toBe(
      "ok",
    );
    expect(reportOf(node, p.podId)?.podIP).toBe(first.podIP);
    expect((await sandboxOf(node, p.podId))?.id).toBe(sandbox?.id);
    expect(node.events.filter((e) => e.podId === p.podId && e.reason === "SandboxChanged")).toEqual([]);
  }, 60_000);

  it("runs unprivileged, on a read-only root, without capabilities, with a tiny memory limit", async () => {
    const p = pod("hardened");
    node.supervisor.setAssignments([p]);
    const sandbox = await until("a sandbox", async () => {
      const s = await sandboxOf(node, p.podId);
      return s?.state === "running" && s;
    });
    const res = await createEngineClient({ url }).request({
      method: "GET",
      path: `/containers/${sandbox.id}/json`,
    });
    const config = JSON.parse(res.body.toString("utf8"));
    expect(config.Config.User).toBe("65534:65534");
    expect(config.Config.Hostname).toBe("hardened");
    expect(config.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      Privileged: false,
      Memory: 16 * 1024 * 1024,
    });
    expect(config.HostConfig.CapDrop.length).toBeGreaterThan(0);
    expect(config.HostConfig.CapAdd ?? []).toEqual([]);
  }, 30_000);

  it("a sandbox that cannot be made (its host port is taken) leaves the pod ContainerCreating with FailedCreatePodSandBox, until it can", async () => {
    const hostPort = await freePort();
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(hostPort, "127.0.0.1", r));
    const p = twoContainers("blocked", hostPort);
    try {
      node.supervisor.setAssignments([p]);
      const waiting = await until("waiting", () => {
        const r = reportOf(node, p.podId);
        return r?.reason === "ContainerCreating" && r.message?.includes("sandbox") ? r : null;
      });
      expect(waiting).toMatchObject({
        phase: "Pending",
        message: `Failed to create pod sandbox: host port ${hostPort} is in use on the node`,
      });
      expect(node.events).toContainEqual(
        expect.objectContaining({ podId: p.podId, type: "Warning", reason: "FailedCreatePodSandBox" }),
      );
      // And stays so between attempts (the pod's later steps, waiting to try again, keep saying why).
      await new Promise((r) => setTimeout(r, 1_000));
      expect(reportOf(node, p.podId)).toMatchObject({
        reason: "ContainerCreating",
        message: waiting.message,
      });
    } finally {
      await new Promise((r) => holder.close(r));
    }
    // A sandbox and two containers made on an engine other test files load too: minutes, at worst.
    await until("running once the port is free", () => reportOf(node, p.podId)?.phase === "Running", 90_000);
  }, 150_000);

  it("a sandbox that dies: SandboxChanged, the containers stop and start again in a new one, init containers first", async () => {
    const p = pod("changed", {
      initContainers: [container({ name: "init", ...sh("echo init done") })],
      containers: [container({ name: "web", ...WEB })],
    });
    node.supervisor.setAssignments([p]);
    const first = await until("running", () => {
      const r = reportOf(node, p.podId);
      return r?.phase === "Running" && r.podIP ? r : null;
    });
    const old = await sandboxOf(node, p.podId);
    await runtime.kill(old?.id ?? "", "KILL");
    const again = await until("running in a new sandbox", async () => {
      const s = await sandboxOf(node, p.podId);
      const web = await instance(node, p.podId, "web");
      const r = reportOf(node, p.podId);
      return (
        s?.id !== old?.id &&
        s?.state === "running" &&
        web?.sandboxId === s.id &&
        web.state === "running" &&
        r?.phase === "Running" &&
        r.podIP === s.ipAddress && { s, web, r }
      );
    });
    expect(again.s.labels[CONTAINER_LABELS.restartCount]).toBe("1");
    expect(again.web.labels[CONTAINER_LABELS.restartCount]).toBe("1");
    const init = await instance(node, p.podId, "init");
    expect(init).toMatchObject({ sandboxId: again.s.id, state: "exited", exitCode: 0 });
    expect(init?.labels[CONTAINER_LABELS.restartCount]).toBe("1");
    expect(node.events).toContainEqual(
      expect.objectContaining({
        podId: p.podId,
        type: "Normal",
        reason: "SandboxChanged",
        message: "Pod sandbox changed, it will be killed and re-created.",
      }),
    );
    expect(first.podIP).toBeTruthy();
  }, 60_000);

  it("an agent that starts again adopts the running sandbox and restarts nothing; deleting the pod removes its containers, then its sandbox", async () => {
    const before = await startNode("adopt");
    const p = twoContainers("adopted");
    before.supervisor.setAssignments([p]);
    const r = await until("running", () => {
      const x = reportOf(before, p.podId);
      return x?.phase === "Running" && x.podIP ? x : null;
    });
    const running = await ids(before, p.podId);
    expect(running).toHaveLength(3);
    await before.supervisor.stop();

    const after = await startNode("adopt", before);
    try {
      after.supervisor.setAssignments([p]);
      await after.supervisor.observe();
      const again = await until("reported", () => {
        const x = reportOf(after, p.podId);
        return x?.phase === "Running" && x;
      });
      await after.supervisor.idle();
      expect(again.podIP).toBe(r.podIP);
      expect(await ids(after, p.podId)).toEqual(running);
      expect(after.events.filter((e) => e.reason === "Created" || e.reason === "SandboxChanged")).toEqual([]);

      after.supervisor.setAssignments([]);
      await until("gone", async () => (await podContainers(after, p.podId)).length === 0);
    } finally {
      await after.close();
      await before.close();
    }
  }, 90_000);

  it("an agent that starts again and looks at its pods before its assignments arrive stops none of them", async () => {
    const before = await startNode("early");
    const p = twoContainers("early");
    before.supervisor.setAssignments([p]);
    await until("running", () => reportOf(before, p.podId)?.phase === "Running");
    const running = await ids(before, p.podId);
    await before.supervisor.stop();

    // The restarted agent's first look at the pod is slow (a loaded engine); its assignments
    // arrive while that look is still under way.
    let release: () => void = () => {};
    const slow = new Promise<void>((r) => (release = r));
    const held: ContainerRuntime = {
      ...runtime,
      async list(filter) {
        if (filter?.[CONTAINER_LABELS.pod]) await slow;
        return runtime.list(filter);
      },
    };
    const after = await startNode("early", before, held);
    try {
      // The look finds the pod's containers and sets it to work, which waits on its own look.
      await after.supervisor.observe();
      after.supervisor.setAssignments([p]);
      release();
      await after.supervisor.idle();
      await until("reported running", () => reportOf(after, p.podId)?.phase === "Running");
      expect(await ids(after, p.podId)).toEqual(running);
      expect(after.events.filter((e) => e.reason === "Killing" || e.reason === "Created")).toEqual([]);
    } finally {
      await after.close();
      await before.close();
    }
  }, 90_000);

  it("leaves a pod started before sandboxes running as it is: no sandbox, nothing restarted, its container's address", async () => {
    const n = await startNode("legacy");
    try {
      const p = pod("legacy", { containers: [container({ ...WEB })] });
      // What an agent of the version before made: the container on a network of its own.
      const id = await runtime.create({
        name: `berth-${p.podId}-main`,
        image: p.containers[0]?.image ?? "",
        command: WEB.command,
        env: {},
        labels: {
          [CONTAINER_LABELS.node]: n.nodeId,
          [CONTAINER_LABELS.pod]: p.podId,
          [CONTAINER_LABELS.container]: "main",
          [CONTAINER_LABELS.restartCount]: "0",
          [CONTAINER_LABELS.kind]: "app",
        },
        ports: [],
        resources: {},
      });
      await runtime.start(id);
      n.supervisor.setAssignments([p]);
      await n.supervisor.observe();
      const r = await until("running", () => {
        const x = reportOf(n, p.podId);
        return x?.phase === "Running" && x.podIP ? x : null;
      });
      await n.supervisor.idle();
      expect(await ids(n, p.podId)).toEqual([id]);
      expect(r.podIP).toBe((await runtime.inspect(id))?.ipAddress);
    } finally {
      await n.close();
    }
  }, 60_000);

  it("removes a sandbox nobody assigned, and remakes one left created by an agent that died before starting it", async () => {
    const n = await startNode("orphan");
    try {
      const p = pod("remade");
      const labels = (podId: string) => ({
        [CONTAINER_LABELS.node]: n.nodeId,
        [CONTAINER_LABELS.pod]: podId,
        [CONTAINER_LABELS.container]: SANDBOX_CONTAINER,
        [CONTAINER_LABELS.restartCount]: "0",
        [CONTAINER_LABELS.kind]: "sandbox",
      });
      const orphan = await runtime.create({
        name: `berth-pod_orphan${n.nodeId}-sandbox`,
        image: SANDBOX_IMAGE,
        env: {},
        labels: labels(`pod_orphan${n.nodeId.slice(-6)}`),
        ports: [],
        resources: {},
      });
      await runtime.start(orphan);
      // Created, never started: the name the agent gives the pod's first sandbox.
      const stale = await runtime.create({
        name: `berth-${p.podId}-sandbox`,
        image: SANDBOX_IMAGE,
        env: {},
        labels: labels(p.podId),
        ports: [],
        resources: {},
      });
      n.supervisor.setAssignments([p]);
      await n.supervisor.observe();
      await until("orphan gone", async () => (await runtime.inspect(orphan)) === null);
      const s = await until("the pod's sandbox", async () => {
        const c = await sandboxOf(n, p.podId);
        return c?.state === "running" && c;
      });
      expect(s.id).not.toBe(stale);
      expect(await runtime.inspect(stale)).toBeNull();
      await until("running", () => reportOf(n, p.podId)?.phase === "Running");
    } finally {
      await n.close();
    }
  }, 60_000);
});
