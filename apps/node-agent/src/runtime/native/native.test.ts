/**
 * The native runtime against the conformance suite, on this host as root: a registry of its own
 * (Debian's `docker-registry` on a free loopback port, storage in a temporary directory) to which
 * the conformance images are pushed with `podman push`, a state directory of its own, the shim
 * built from source.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testSettings } from "../../env";
import { runtimeConformanceSuite } from "../conformance";
import { freePort, localPodmanSocket, sleep, waitForState } from "../conformance-helpers";
import { buildTar, CONFORMANCE_IMAGE, ensureConformanceImage } from "../conformance-image";
import { createEngineClient } from "../engine-http";
import { createNativeRuntime } from "./native-runtime";
import { pushImage } from "./registry-push";
import { buildShim } from "./shim-build";

const run = promisify(execFile);
const settings = testSettings();
const engine = createEngineClient({ url: settings.containerHost || `unix://${localPodmanSocket()}` });
const work = mkdtempSync("/var/tmp/berth-native-test-");
const root = join(work, "state");
const shimPath = join(work, "berth-shim");
const port = await freePort();
const registry = `127.0.0.1:${port}`;
const image = `${registry}/berth/runtime-conformance:v2`;
const userImage = `${registry}/berth/runtime-conformance:v2-user`;
const defaultNetwork = `berth-native-test-${process.pid}`;
let registryProcess: ChildProcess | undefined;

const makeRuntime = () => createNativeRuntime({ root, shimPath, defaultNetwork });

beforeAll(async () => {
  await buildShim(shimPath);
  await writeFile(
    join(work, "registry.yml"),
    [
      "version: 0.1",
      "log: { level: error }",
      `storage: { filesystem: { rootdirectory: ${join(work, "registry")} } }`,
      `http: { addr: "${registry}" }`,
    ].join("\n"),
  );
  registryProcess = spawn("docker-registry", ["serve", join(work, "registry.yml")], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    const res = await fetch(`http://${registry}/v2/`).catch(() => null);
    if (res?.ok) break;
    if (i > 100) throw new Error("docker-registry did not answer");
    await sleep(100);
  }
  const local = settings.conformanceImage || CONFORMANCE_IMAGE;
  if (!settings.conformanceImage) await ensureConformanceImage(engine, { image: local });
  await ensureConformanceImage(engine, { image: `${CONFORMANCE_IMAGE}-user`, user: "1234:2345" });
  for (const [from, to] of [
    [local, image],
    [`${CONFORMANCE_IMAGE}-user`, userImage],
  ] as const)
    await run("podman", ["push", "--quiet", "--tls-verify=false", from ?? "", to], { timeout: 60_000 });
  await makeRuntime().ensureImage(userImage);
}, 120_000);

afterAll(async () => {
  await makeRuntime().removeNetwork(defaultNetwork);
  registryProcess?.kill();
  await rm(work, { recursive: true, force: true });
}, 30_000);

runtimeConformanceSuite("native (namespaces, cgroups, berth-shim)", makeRuntime, {
  image,
  userImage,
  // Outside the interface on purpose: a crash the agent did not cause.
  async kill(id) {
    const pid = Number(readFileSync(join(root, "containers", id, "pid"), "utf8").split(" ")[0]);
    process.kill(pid, "SIGKILL");
  },
});

describe("native runtime beyond the interface", () => {
  it("leaves no trace of a removed container: no namespace, veth, DNAT rule, cgroup or files", async () => {
    const rt = makeRuntime();
    await rt.ensureImage(image);
    const hostPort = await freePort();
    const id = await rt.create({
      name: `berth-native-trace-${process.pid}`,
      image,
      env: {},
      labels: {},
      ports: [{ containerPort: 8080, hostPort, hostIp: "127.0.0.1", protocol: "tcp" }],
      resources: { memoryBytes: 32 * 1024 * 1024 },
    });
    await rt.start(id);
    await rt.stop(id, 1);
    await rt.start(id); // a second start publishes the port again, once
    const short = id.slice(0, 12);
    const rules = async () =>
      (await run("iptables", ["-w", "-t", "nat", "-S"])).stdout.split("\n").filter((l) => l.includes(short));
    expect(await rules()).toHaveLength(1);
    await rt.remove(id);
    expect(await rules()).toEqual([]);
    for (const path of [
      `/run/netns/berth-${short}`,
      `/sys/class/net/vn${short}`,
      `/sys/fs/cgroup/memory/berth-native/${id}`,
      `/sys/fs/cgroup/berth-native/${id}`,
      join(root, "containers", id),
    ])
      expect(existsSync(path), path).toBe(false);
  }, 30_000);

  it("makes mounts, directories and files inside the container's root even where the image's links lead out", async () => {
    const victim = join(work, "victim");
    await mkdir(join(victim, "etc"), { recursive: true });
    await writeFile(join(victim, "precious"), "keep me");
    const busybox = await readFile("/usr/bin/busybox");
    const tar = buildTar([
      { type: "dir", name: "bin/" },
      { type: "file", name: "bin/busybox", mode: 0o755, data: busybox },
      { type: "symlink", name: "bin/sh", target: "busybox" },
      { type: "symlink", name: "www", target: victim },
      { type: "symlink", name: "etc", target: join(victim, "etc") },
    ]);
    const hostile = `${registry}/berth/hostile-links:v1`;
    await pushImage({ registry, repo: "berth/hostile-links" }, "v1", [{ tar }], {});
    const rt = makeRuntime();
    await rt.ensureImage(hostile);
    const id = await rt.create({
      name: `berth-native-links-${process.pid}`,
      image: hostile,
      command: ["/bin/sh", "-c", "pwd; cat /etc/hostname"],
      hostname: "inside",
      workingDir: "/www/wd",
      mounts: [{ type: "tmpfs", target: "/www/sub" }],
      env: {},
      labels: {},
      ports: [],
      resources: {},
    });
    try {
      await rt.start(id);
      await waitForState(rt, id, "exited");
      expect(await rt.logs(id, { tail: 10 })).toBe(`${victim}/wd\ninside\n`);
      expect((await readdir(victim)).sort()).toEqual(["etc", "precious"]);
      expect(await readdir(join(victim, "etc"))).toEqual([]);
    } finally {
      await rt.remove(id);
    }
  }, 30_000);

  it("gives a container run as root no capabilities, a read-only /proc/sys and a masked /proc/timer_list", async () => {
    const rt = makeRuntime();
    await rt.ensureImage(image);
    const id = await rt.create({
      name: `berth-native-root-${process.pid}`,
      image,
      user: "0:0",
      command: [
        "/bin/sh",
        "-c",
        "id -u; grep CapEff /proc/self/status; grep ' /proc/sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; " +
          "wc -c < /proc/timer_list; { echo 1 > /proc/sys/kernel/ns_last_pid; } 2>/dev/null && echo wrote-sysctl; true",
      ],
      env: {},
      labels: {},
      ports: [],
      resources: {},
    });
    try {
      await rt.start(id);
      await waitForState(rt, id, "exited");
      expect((await rt.logs(id, { tail: 10 })).trim().split("\n")).toEqual([
        "0",
        "CapEff:\t0000000000000000",
        "ro",
        "0",
      ]);
    } finally {
      await rt.remove(id);
    }
  }, 30_000);

  it("rotates a container's log past its size and follows it across rotations", async () => {
    const rt = createNativeRuntime({ root, shimPath, defaultNetwork, logMaxBytes: 2048 });
    await rt.ensureImage(image);
    const id = await rt.create({
      name: `berth-native-rotate-${process.pid}`,
      image,
      command: ["/bin/sh", "-c", "i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); sleep 0.02; done"],
      env: {},
      labels: {},
      ports: [],
      resources: {},
    });
    try {
      await rt.start(id);
      let followed = "";
      for await (const c of await rt.streamLogs(id, { follow: true })) followed += c.data.toString();
      const all = Array.from({ length: 100 }, (_, i) => `line-${i}`);
      expect(followed.trim().split("\n")).toEqual(all);
      const kept = (await rt.logs(id, { tail: 1000 })).trim().split("\n");
      expect(kept.length).toBeLessThan(100);
      expect(kept).toEqual(all.slice(100 - kept.length));
      for (const file of ["log", "log.1"])
        expect(statSync(join(root, "containers", id, file)).size).toBeLessThan(2048 + 100);
    } finally {
      await rt.remove(id);
    }
  }, 30_000);

  it("keeps a container running and logging when the agent dies, and a new agent finds, stops and removes it", async () => {
    // A separate agent process starts the container, then is killed as a crash would.
    const script = join(work, "agent.mts");
    await writeFile(
      script,
      [
        `import { createNativeRuntime } from ${JSON.stringify(join(import.meta.dirname, "native-runtime.ts"))};`,
        `const rt = createNativeRuntime(${JSON.stringify({ root, shimPath, defaultNetwork })});`,
        "await rt.ensureImage(process.argv[2]);",
        "const id = await rt.create({ name: 'berth-native-restart-' + process.pid, image: process.argv[2], env: {}, labels: {}, ports: [], resources: {},",
        "  command: ['/bin/sh', '-c', 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done'] });",
        "await rt.start(id);",
        "console.log(id);",
        "setInterval(() => {}, 1000);",
      ].join("\n"),
    );
    // Node itself with tsx's loader (the tsx command would leave its child running when killed).
    const loader = createRequire(import.meta.url).resolve("tsx/esm");
    const agent = spawn(process.execPath, ["--import", pathToFileURL(loader).href, script, image], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const id = await new Promise<string>((resolve, reject) => {
      let out = "";
      agent.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      agent.on("exit", (code) => reject(new Error(`the agent exited with ${code}`)));
    });
    agent.kill("SIGKILL");
    await new Promise((r) => agent.once("exit", r));

    const rt = makeRuntime();
    try {
      expect((await rt.inspect(id))?.state).toBe("running");
      const before = (await rt.logs(id, { tail: 1 })).trim();
      await sleep(600);
      const after = (await rt.logs(id, { tail: 1 })).trim();
      expect(Number(after.replace("tick", ""))).toBeGreaterThan(Number(before.replace("tick", "")));
      await rt.stop(id, 1);
      expect(await waitForState(rt, id, "exited")).toMatchObject({ exitCode: 137 });
    } finally {
      await rt.remove(id);
    }
    expect(await rt.inspect(id)).toBeNull();
  }, 30_000);
});
