import { readFile, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountsUnder } from "../volumes/mounts";
import {
  b64,
  container,
  execIn,
  instance,
  type Node,
  pod,
  reportOf,
  sh,
  startNode,
  USER_IMAGE,
  until,
} from "./test-support";

/** What a pod gets before its containers run: init containers, volumes, users and groups, images. */
let node: Node;
beforeAll(async () => {
  node = await startNode("setup");
}, 60_000);
afterAll(async () => {
  await node?.close();
}, 60_000);

const work = { volumes: [{ name: "work", type: "emptyDir" as const }] };
const mountWork = { volumeMounts: [{ name: "work", mountPath: "/work" }] };

describe("init containers", () => {
  it("run in order, each to completion, before the containers (PodInitializing meanwhile)", async () => {
    const p = pod("init-order", {
      ...work,
      initContainers: [
        container({ name: "first", ...sh("sleep 1; echo first >> /work/order"), ...mountWork }),
        container({ name: "second", ...sh("echo second >> /work/order"), ...mountWork }),
      ],
      containers: [container({ ...sh("echo main >> /work/order; sleep 300"), ...mountWork })],
    });
    node.supervisor.setAssignments([p]);
    const initializing = await until(
      "initializing",
      () => reportOf(node, p.podId)?.reason === "PodInitializing" && reportOf(node, p.podId),
    );
    expect(initializing).toMatchObject({
      phase: "Pending",
      containers: [{ state: { waiting: { reason: "PodInitializing" } } }],
    });
    const r = await until(
      "running",
      () => reportOf(node, p.podId)?.phase === "Running" && reportOf(node, p.podId),
    );
    // Running means main has started, not that its first line has run: wait for its write.
    const order = join(node.podsDir, p.podId, "volumes", "work", "order");
    const written = await until("main's line", async () => {
      const text = await readFile(order, "utf8");
      return text.split("\n").length > 3 && text;
    });
    expect(written).toBe("first\nsecond\nmain\n");
    expect(r.initContainers?.map((s) => [s.name, s.state.terminated?.reason])).toEqual([
      ["first", "Completed"],
      ["second", "Completed"],
    ]);
    node.supervisor.setAssignments([]);
  }, 60_000);

  it("a failing one fails the pod under restartPolicy Never (Init:Error) and backs off otherwise (Init:CrashLoopBackOff)", async () => {
    const never = pod("init-never", {
      restartPolicy: "Never",
      initContainers: [container({ name: "setup", ...sh("exit 3") })],
    });
    const always = pod("init-always", { initContainers: [container({ name: "setup", ...sh("exit 3") })] });
    node.supervisor.setAssignments([never, always]);
    const failed = await until(
      "Failed",
      () => reportOf(node, never.podId)?.phase === "Failed" && reportOf(node, never.podId),
    );
    expect(failed).toMatchObject({
      reason: "Init:Error",
      initContainers: [{ state: { terminated: { exitCode: 3, reason: "Error" } } }],
    });
    expect(failed.containers?.[0]?.state.waiting?.reason).toBe("PodInitializing");
    const looping = await until(
      "Init:CrashLoopBackOff",
      () => reportOf(node, always.podId)?.reason === "Init:CrashLoopBackOff" && reportOf(node, always.podId),
      20_000,
    );
    expect(looping).toMatchObject({
      phase: "Pending",
      initContainers: [{ restartCount: 1, lastState: { terminated: { exitCode: 3 } } }],
    });
    expect(await instance(node, never.podId)).toBeUndefined(); // the app container never ran
    node.supervisor.setAssignments([]);
  }, 60_000);
});

describe("volumes", () => {
  const files = (greeting: string) => [{ path: "greeting", data: b64(greeting), mode: 0o644 }];

  it("a ConfigMap's files change in place without a restart; a Secret's live on a tmpfs; all go with the pod", async () => {
    const p = pod("config", {
      volumes: [
        { name: "config", type: "configMap", files: files("hello") },
        { name: "creds", type: "secret", files: [{ path: "password", data: b64("s3cret"), mode: 0o440 }] },
      ],
      containers: [
        container({
          ...sh("sleep 300"),
          securityContext: {
            fsGroup: 2000,
            runAsNonRoot: true,
            readOnlyRootFilesystem: false,
            capabilitiesAdd: [],
          },
          volumeMounts: [
            { name: "config", mountPath: "/etc/config" },
            { name: "creds", mountPath: "/etc/creds" },
          ],
        }),
      ],
    });
    node.supervisor.setAssignments([p]);
    await until("running", () => reportOf(node, p.podId)?.phase === "Running");
    const before = await instance(node, p.podId);
    expect(await execIn(node, p.podId, "cat /etc/config/greeting; id -G")).toBe("hello65534 2000\n");
    expect(
      await execIn(
        node,
        p.podId,
        "cat /etc/creds/password; { echo x > /etc/config/greeting; } 2>/dev/null || echo read-only",
      ),
    ).toBe("s3cretread-only\n");
    const creds = join(node.podsDir, p.podId, "volumes", "creds");
    expect(await mountsUnder(creds)).toEqual([creds]);
    expect((await execIn(node, p.podId, "grep ' /etc/creds ' /proc/mounts")).split(" ")[2]).toBe("tmpfs");

    node.supervisor.setAssignments([
      {
        ...p,
        volumes: [
          { name: "config", type: "configMap", files: files("bonjour") },
          p.volumes[1] as (typeof p.volumes)[number],
        ],
      },
    ]);
    await until(
      "new greeting",
      async () => (await execIn(node, p.podId, "cat /etc/config/greeting")) === "bonjour",
      10_000,
    );
    expect((await instance(node, p.podId))?.id).toBe(before?.id);
    // `..`, `..data` and the one version it points at: the old version is gone.
    expect(await execIn(node, p.podId, "ls -a /etc/config | grep -c '^\\.\\.'")).toBe("3\n");

    node.supervisor.setAssignments([]);
    await until("gone", async () => !(await stat(join(node.podsDir, p.podId)).catch(() => null)), 20_000);
    expect(await mountsUnder(join(node.podsDir, p.podId))).toEqual([]);
  }, 60_000);

  it("a Memory emptyDir is a tmpfs of its sizeLimit, shared by the pod's containers", async () => {
    const p = pod("memory", {
      volumes: [{ name: "scratch", type: "emptyDir", medium: "Memory", sizeLimitBytes: 8 * 1024 ** 2 }],
      containers: [
        container({
          ...sh("echo hi > /scratch/note; sleep 300"),
          volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
        }),
        container({
          name: "reader",
          ...sh("sleep 300"),
          volumeMounts: [{ name: "scratch", mountPath: "/data", readOnly: true }],
        }),
      ],
    });
    node.supervisor.setAssignments([p]);
    await until("running", () => reportOf(node, p.podId)?.phase === "Running");
    const fields = (await execIn(node, p.podId, "grep ' /data ' /proc/mounts", "reader")).split(" ");
    expect(fields[2]).toBe("tmpfs");
    expect(fields[3]).toMatch(/(^|,)ro(,|$)/);
    expect(fields[3]).toMatch(/size=8192k/);
    await until(
      "note shared",
      async () => (await execIn(node, p.podId, "cat /data/note", "reader")) === "hi\n",
    );
    node.supervisor.setAssignments([]);
  }, 60_000);

  it("refuses a subPath a container turned into a symlink out of its emptyDir", async () => {
    const p = pod("subpath", {
      ...work,
      initContainers: [container({ name: "wait", ...sh("sleep 2"), ...mountWork })],
      containers: [
        container({
          ...sh("ls /escape; sleep 300"),
          volumeMounts: [{ name: "work", mountPath: "/escape", subPath: "evil" }],
        }),
      ],
    });
    node.supervisor.setAssignments([p]);
    const dir = join(node.podsDir, p.podId, "volumes", "work");
    await until("volume made", async () => (await stat(dir).catch(() => null)) !== null);
    await symlink("/", join(dir, "evil")); // what `ln -s / /work/evil` in a container would do
    const r = await until(
      "refused",
      () => reportOf(node, p.podId)?.reason === "CreateContainerConfigError" && reportOf(node, p.podId),
      20_000,
    );
    expect(r.message).toContain("subPath evil is a symlink");
    expect(await instance(node, p.podId)).toBeUndefined();
    node.supervisor.setAssignments([]);
  }, 60_000);
});

describe("security contexts and images", () => {
  it("runs as the pod's user, else the image's if not root, else nobody; read-only roots stay read-only", async () => {
    const own = pod("user-own", {
      containers: [
        container({
          ...sh("sleep 300"),
          securityContext: {
            runAsUser: 4000,
            runAsGroup: 4001,
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            capabilitiesAdd: [],
          },
        }),
      ],
    });
    const image = pod("user-image", { containers: [container({ image: USER_IMAGE, ...sh("sleep 300") })] });
    const root = pod("user-root", { containers: [container(sh("sleep 300"))] });
    node.supervisor.setAssignments([own, image, root]);
    await until("all running", () =>
      [own, image, root].every((x) => reportOf(node, x.podId)?.phase === "Running"),
    );
    expect(await execIn(node, own.podId, "id -u; id -g; touch /x 2>/dev/null || echo read-only")).toBe(
      "4000\n4001\nread-only\n",
    );
    expect(await execIn(node, image.podId, "id -u; id -g")).toBe("1234\n2345\n");
    expect(await execIn(node, root.podId, "id -u; id -g")).toBe("65534\n65534\n");
    node.supervisor.setAssignments([]);
  }, 60_000);

  it("imagePullPolicy Never with the image absent waits with ErrImageNeverPull", async () => {
    const p = pod("never-pull", {
      containers: [container({ image: "localhost/berth/absent:v1", imagePullPolicy: "Never" })],
    });
    node.supervisor.setAssignments([p]);
    const r = await until(
      "ErrImageNeverPull",
      () => reportOf(node, p.podId)?.reason === "ErrImageNeverPull" && reportOf(node, p.podId),
    );
    expect(r).toMatchObject({
      phase: "Pending",
      message: 'Container image "localhost/berth/absent:v1" is not present with pull policy of Never',
    });
    expect(node.events).toContainEqual(
      expect.objectContaining({ podId: p.podId, type: "Warning", reason: "ErrImageNeverPull" }),
    );
    node.supervisor.setAssignments([]);
  }, 30_000);
});
