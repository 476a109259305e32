import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  WEB,
} from "./test-support";

/** Health and lifecycle of pods on a node, against real containers (kubelet's behaviour is the spec). */
let node: Node;
beforeAll(async () => {
  node = await startNode("life");
}, 60_000);
afterAll(async () => {
  await node?.close();
}, 60_000);

const httpProbe = (extra: object = {}) => ({
  httpGet: { path: "/healthz", port: 8080 },
  periodSeconds: 1,
  failureThreshold: 1,
  ...extra,
});

describe("probes", () => {
  it("a pod is ready only while its readiness probe passes, and failures are Unhealthy events", async () => {
    const p = pod("ready", { containers: [container({ ...WEB, readinessProbe: httpProbe() })] });
    node.supervisor.setAssignments([p]);
    const first = await until("ready", () => reportOf(node, p.podId)?.ready && reportOf(node, p.podId));
    expect(first).toMatchObject({
      phase: "Running",
      state: "running",
      containers: [{ ready: true, started: true }],
    });

    await execIn(node, p.podId, "rm /tmp/www/healthz");
    const failedAt = Date.now();
    await until("not ready", () => reportOf(node, p.podId)?.ready === false, 5_000);
    expect(Date.now() - failedAt).toBeLessThan(2_500); // within a period (1 s) and a check
    expect(reportOf(node, p.podId)).toMatchObject({
      phase: "Running",
      containers: [{ ready: false, started: true }],
    });
    expect(node.events).toContainEqual(
      expect.objectContaining({
        podId: p.podId,
        type: "Warning",
        reason: "Unhealthy",
        message: "Readiness probe failed: HTTP probe failed with statuscode: 404",
      }),
    );
    await execIn(node, p.podId, "echo ok > /tmp/www/healthz");
    await until("ready again", () => reportOf(node, p.podId)?.ready);
    expect((await instance(node, p.podId))?.labels["berth.restart-count"]).toBe("0");
  }, 60_000);

  it("a failed liveness probe restarts the container (Killing), then backs off: CrashLoopBackOff, restartCount, lastState", async () => {
    const p = pod("live", {
      containers: [
        container({
          ...sh("sleep 300"),
          livenessProbe: {
            exec: { command: ["/bin/sh", "-c", "exit 1"] },
            periodSeconds: 1,
            failureThreshold: 1,
          },
        }),
      ],
      terminationGracePeriodSeconds: 1,
    });
    node.supervisor.setAssignments([p]);
    const looping = await until(
      "CrashLoopBackOff",
      () => {
        const r = reportOf(node, p.podId);
        return r?.containers?.[0]?.state.waiting?.reason === "CrashLoopBackOff" && r;
      },
      40_000,
    );
    const status = looping.containers?.[0];
    expect(looping).toMatchObject({ phase: "Running", reason: "CrashLoopBackOff", ready: false });
    expect(status?.restartCount).toBe(1);
    expect(status?.state.waiting?.message).toBe(
      `back-off 10s restarting failed container=main pod=live_default(${p.podId})`,
    );
    // Killed by SIGKILL after the grace period (sleep ignores SIGTERM as PID 1).
    expect(status?.lastState.terminated).toMatchObject({ exitCode: 137, reason: "Error", signal: 9 });
    const reasons = node.events.filter((e) => e.podId === p.podId).map((e) => `${e.reason}: ${e.message}`);
    expect(reasons).toContain("Killing: Container main failed liveness probe, will be restarted");
    expect(reasons).toContain("Unhealthy: Liveness probe failed:");
    expect(reasons).toContain(
      `BackOff: Back-off restarting failed container main in pod live_default(${p.podId})`,
    );
    expect(reasons.filter((r) => r.startsWith("Started:"))).toHaveLength(2);
    // After the back-off it runs again, as a new instance.
    await until(
      "restarted twice",
      () => reportOf(node, p.podId)?.containers?.[0]?.restartCount === 2,
      20_000,
    );
    node.supervisor.setAssignments([]);
  }, 90_000);
});

describe("postStart", () => {
  it("the container counts as being created while its postStart hook runs; a failed hook kills it and it restarts", async () => {
    const p = pod("poststart", {
      terminationGracePeriodSeconds: 1,
      containers: [
        container({
          ...sh("sleep 300"),
          lifecycle: { postStart: { exec: { command: ["/bin/sh", "-c", "sleep 2; echo broken; exit 1"] } } },
        }),
      ],
    });
    node.supervisor.setAssignments([p]);
    const creating = await until("running under its hook", async () => {
      const c = await instance(node, p.podId);
      return c?.state === "running" && reportOf(node, p.podId);
    });
    expect(creating?.containers?.[0]?.state.waiting?.reason).toBe("ContainerCreating");
    await until(
      "restarted",
      () => (reportOf(node, p.podId)?.containers?.[0]?.restartCount ?? 0) >= 1,
      30_000,
    );
    const events = node.events.filter((e) => e.podId === p.podId).map((e) => `${e.reason}: ${e.message}`);
    expect(events).toContain(
      `FailedPostStartHook: Exec lifecycle hook ([/bin/sh -c sleep 2; echo broken; exit 1]) for Container "main" in Pod "poststart_default(${p.podId})" failed - error: command '/bin/sh -c sleep 2; echo broken; exit 1' exited with 1, message: "broken\\n"`,
    );
    expect(events).toContain("Killing: FailedPostStartHook");
    node.supervisor.setAssignments([]);
  }, 60_000);
});

describe("how containers end", () => {
  it("reports a container killed at its memory limit as OOMKilled, and a Never pod that failed as Failed", async () => {
    const p = pod("oom", {
      restartPolicy: "Never",
      containers: [
        container({
          ...sh("x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo done"),
          limits: { cpuMillis: 200, memoryBytes: 16 * 1024 ** 2 },
        }),
      ],
    });
    node.supervisor.setAssignments([p]);
    const r = await until(
      "Failed",
      () => reportOf(node, p.podId)?.phase === "Failed" && reportOf(node, p.podId),
    );
    expect(r).toMatchObject({ state: "exited", reason: "OOMKilled", ready: false });
    expect(r.containers?.[0]?.state.terminated).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
  }, 60_000);

  it("restartPolicy Never: exit 0 is Succeeded (Completed), exit 1 Failed (Error); nothing restarts", async () => {
    const ok = pod("never-ok", { restartPolicy: "Never", containers: [container(sh("exit 0"))] });
    const bad = pod("never-bad", { restartPolicy: "Never", containers: [container(sh("exit 1"))] });
    node.supervisor.setAssignments([ok, bad]);
    await until(
      "both ended",
      () => reportOf(node, ok.podId)?.phase === "Succeeded" && reportOf(node, bad.podId)?.phase === "Failed",
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(reportOf(node, ok.podId)).toMatchObject({ phase: "Succeeded", reason: "Completed", restarts: 0 });
    expect(reportOf(node, bad.podId)).toMatchObject({ phase: "Failed", reason: "Error", restarts: 0 });
    expect(reportOf(node, bad.podId)?.containers?.[0]?.state.terminated).toMatchObject({
      exitCode: 1,
      reason: "Error",
    });
  }, 60_000);

  it("restartPolicy OnFailure restarts what failed and not what succeeded", async () => {
    const p = pod("onfail", {
      restartPolicy: "OnFailure",
      volumes: [{ name: "state", type: "emptyDir" }],
      // Fails the first time, succeeds the second.
      containers: [
        container({
          ...sh("if [ -f /state/ran ]; then exit 0; fi; touch /state/ran; exit 2"),
          volumeMounts: [{ name: "state", mountPath: "/state" }],
        }),
      ],
    });
    node.supervisor.setAssignments([p]);
    const r = await until(
      "Succeeded",
      () => reportOf(node, p.podId)?.phase === "Succeeded" && reportOf(node, p.podId),
    );
    expect(r.restarts).toBe(1);
    expect(r.containers?.[0]).toMatchObject({
      restartCount: 1,
      state: { terminated: { exitCode: 0, reason: "Completed" } },
      lastState: { terminated: { exitCode: 2, reason: "Error" } },
    });
  }, 60_000);

  it("stops gracefully: preStop first, then SIGTERM, then SIGKILL when the grace period (hook included) is over", async ({
    annotate,
  }) => {
    const p = pod("grace", {
      terminationGracePeriodSeconds: 6,
      volumes: [{ name: "marks", type: "emptyDir" }],
      containers: [
        container({
          ...sh("trap 'touch /marks/term' TERM; while true; do sleep 0.2; done"),
          volumeMounts: [{ name: "marks", mountPath: "/marks" }],
          lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "touch /marks/prestop; sleep 3"] } } },
        }),
      ],
    });
    node.supervisor.setAssignments([p]);
    await until("running", () => reportOf(node, p.podId)?.phase === "Running");
    const id = (await instance(node, p.podId))?.id ?? "";
    const marks = join(node.podsDir, p.podId, "volumes", "marks");
    const seen: Record<string, number> = {};
    const t0 = Date.now();
    node.supervisor.setAssignments([{ ...p, terminal: true }]); // stop what runs, keep the container
    await until(
      "killed",
      async () => {
        for (const f of ["prestop", "term"])
          if (!seen[f] && (await stat(join(marks, f)).catch(() => null))) seen[f] = Date.now() - t0;
        return (await runtime.inspect(id))?.state === "exited";
      },
      20_000,
    );
    const info = await runtime.inspect(id);
    const killedAfter = Date.parse(info?.finishedAt ?? "") - t0;
    await annotate(
      `graceful stop: preStop at ${seen.prestop} ms, SIGTERM at ${seen.term} ms, SIGKILL at ${killedAfter} ms (grace 6 s, hook 3 s)`,
    );
    expect(seen.prestop).toBeLessThan(1_500);
    expect(seen.term).toBeGreaterThanOrEqual(2_900);
    expect(seen.term).toBeLessThan(4_500);
    expect(info?.exitCode).toBe(137);
    expect(killedAfter).toBeGreaterThanOrEqual(5_800);
    expect(killedAfter).toBeLessThan(8_000);
    expect(node.events.filter((e) => e.podId === p.podId).map((e) => e.reason)).toContain("Killing");
    expect(await readFile(join(marks, "term"), "utf8")).toBe("");
  }, 60_000);
});
