/**
 * Test support: a pod supervisor of a node of its own against the real engine (no control plane:
 * assignments are handed in), pods of the conformance image, and polling of its reports.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@berth/core";
import {
  type Assignment,
  type AssignmentInput,
  assignmentSchema,
  CONTAINER_LABELS,
  type PodEvent,
  type PodReport,
} from "@berth/protocol";
import { testSettings } from "../env";
import type { ContainerRuntime } from "../runtime";
import { CONFORMANCE_IMAGE, ensureConformanceImage } from "../runtime/conformance-image";
import { createDockerEngineRuntime } from "../runtime/docker-engine";
import { createEngineClient } from "../runtime/engine-http";
import { PodSupervisor } from "../supervisor";
import { isSandbox } from "./sandbox";

export const url = testSettings().containerHost;
export const runtime = createDockerEngineRuntime({ url });
export const USER_IMAGE = `${CONFORMANCE_IMAGE}-user`;

export interface Node {
  supervisor: PodSupervisor;
  nodeId: string;
  podsDir: string;
  /** Every event the supervisor reported, in order. */
  events: PodEvent[];
  close(): Promise<void>;
}

/**
 * `same`: the node of an agent before this one (its id and pods directory), as a restarted agent
 * has; `through`: the runtime the supervisor uses (the real one by default).
 */
export async function startNode(
  name: string,
  same?: Pick<Node, "nodeId" | "podsDir">,
  through: ContainerRuntime = runtime,
): Promise<Node> {
  const engine = createEngineClient({ url });
  await ensureConformanceImage(engine);
  await ensureConformanceImage(engine, { image: USER_IMAGE, user: "1234:2345" });
  const nodeId = same?.nodeId ?? `node_${name}${randomBytes(4).toString("hex")}`;
  const podsDir = same?.podsDir ?? (await mkdtemp(join(tmpdir(), `berth-${name}-`)));
  const events: PodEvent[] = [];
  const supervisor: PodSupervisor = new PodSupervisor(
    through,
    { nodeId, clusterId: "cl_test", installationId: `inst${randomBytes(6).toString("hex")}` },
    {
      publishAddress: "127.0.0.1",
      stopTimeoutSeconds: 1,
      concurrency: 4,
      podsDir,
      logger: createLogger("node-agent", testSettings().agentLogLevel),
      onChange: () => events.push(...supervisor.takeEvents()),
    },
  );
  // The engine's changes are noticed by looking, as the session does every 2 s.
  const looking = setInterval(() => void supervisor.observe().catch(() => {}), 500);
  return {
    supervisor,
    nodeId,
    podsDir,
    events,
    async close() {
      clearInterval(looking);
      await supervisor.stop();
      // Sandboxes last: the engine keeps one while a container joined to it exists.
      const left = await runtime.list({ [CONTAINER_LABELS.node]: nodeId });
      for (const c of left.sort((x, y) => Number(isSandbox(x)) - Number(isSandbox(y))))
        await runtime.remove(c.id);
      await rm(podsDir, { recursive: true, force: true });
    },
  };
}

export const b64 = (s: string) => Buffer.from(s).toString("base64");

export function container(extra: Record<string, unknown> = {}) {
  return {
    name: "main",
    image: CONFORMANCE_IMAGE,
    env: [],
    ports: [],
    resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2 },
    limits: { cpuMillis: 200, memoryBytes: 64 * 1024 ** 2 },
    ...extra,
  };
}

/** A shell script as the container's command. */
export const sh = (script: string) => ({ command: ["/bin/sh", "-c", script] });

/** Serves /tmp/www (with a healthz file) on 8080, as a non-root user may. */
export const WEB = sh("mkdir -p /tmp/www && echo ok > /tmp/www/healthz && exec httpd -f -p 8080 -h /tmp/www");

export function pod(name: string, extra: Partial<AssignmentInput> = {}): Assignment {
  return assignmentSchema.parse({
    podId: `pod_${name.replace(/-/g, "")}${randomBytes(3).toString("hex")}`,
    name,
    namespace: "default",
    action: "run",
    hostPorts: [],
    containers: [container()],
    terminationGracePeriodSeconds: 2,
    ...extra,
  });
}

export function reportOf(node: Node, podId: string): PodReport | undefined {
  return node.supervisor.report().find((r) => r.podId === podId);
}

/** Polls `probe` until it gives something truthy. */
export async function until<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The current instance of the pod's container `name`, from the engine. */
export async function instance(node: Node, podId: string, name = "main") {
  const list = await runtime.list({ [CONTAINER_LABELS.node]: node.nodeId, [CONTAINER_LABELS.pod]: podId });
  return list
    .filter((c) => c.labels[CONTAINER_LABELS.container] === name)
    .sort(
      (a, b) =>
        Number(b.labels[CONTAINER_LABELS.restartCount]) - Number(a.labels[CONTAINER_LABELS.restartCount]),
    )[0];
}

export async function execIn(node: Node, podId: string, script: string, name = "main"): Promise<string> {
  const c = await instance(node, podId, name);
  if (!c) throw new Error(`no container ${name} in ${podId}`);
  return (await runtime.execCommand(c.id, ["/bin/sh", "-c", script], { timeoutMs: 10_000 })).output;
}
