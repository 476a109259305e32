import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testSettings } from "../env";
import { runtimeConformanceSuite } from "./conformance";
import { localPodmanSocket } from "./conformance-helpers";
import { CONFORMANCE_IMAGE, ensureConformanceImage } from "./conformance-image";
import { createDockerEngineRuntime } from "./docker-engine";
import { createEngineClient, responseError } from "./engine-http";

const settings = testSettings();
const url = settings.containerHost || `unix://${localPodmanSocket()}`;
const image = settings.conformanceImage || CONFORMANCE_IMAGE;
const userImage = `${CONFORMANCE_IMAGE}-user`;
const engine = createEngineClient({ url });

beforeAll(async () => {
  if (!settings.conformanceImage) await ensureConformanceImage(engine, { image });
  await ensureConformanceImage(engine, { image: userImage, user: "1234:2345" });
}, 60_000);

runtimeConformanceSuite("docker-engine (Engine API v1.41)", () => createDockerEngineRuntime({ url }), {
  image,
  userImage,
  // Outside the interface on purpose: a crash the agent did not cause.
  async kill(id) {
    const res = await engine.request({
      method: "POST",
      path: `/containers/${encodeURIComponent(id)}/kill`,
      query: { signal: "KILL" },
    });
    if (res.status !== 204) throw responseError(res, `kill ${id}`);
  },
});

describe("docker-engine's default user", () => {
  const rt = createDockerEngineRuntime({ url });
  const label = { "berth.test.default-user": `${process.pid}` };

  afterAll(async () => {
    for (const c of await rt.list(label)) await rt.remove(c.id);
  });

  it("is nobody (65534): a container that names no user does not run as root, and without a user namespace", async () => {
    const id = await rt.create({
      name: `berth-default-user-${process.pid}`,
      image,
      command: ["/bin/sh", "-c", "id -u; id -g; cat /proc/self/uid_map"],
      env: {},
      labels: label,
      ports: [],
      resources: {},
    });
    await rt.start(id);
    for (let i = 0; i < 100 && (await rt.inspect(id))?.state !== "exited"; i++)
      await new Promise((r) => setTimeout(r, 100));
    const [uid, gid, map] = (await rt.logs(id, { tail: 10 })).trim().split("\n");
    expect([uid, gid]).toEqual(["65534", "65534"]);
    expect(map?.trim().split(/\s+/)).toEqual(["0", "0", "4294967295"]);
  }, 30_000);
});

describe("docker-engine's looks at the engine", () => {
  /** The engine behind a pass-through that writes down each request it forwards. */
  const asked: string[] = [];
  const socketPath = url.startsWith("unix://") ? url.slice("unix://".length) : localPodmanSocket();
  /** As Docker answers Podman's own API. */
  let dockerOnly = false;
  const proxy = createServer((req, res) => {
    asked.push(`${req.method} ${(req.url ?? "").replace(/\?.*/, "")}`);
    if (dockerOnly && req.url?.includes("/libpod/")) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"message":"page not found"}');
      return;
    }
    const up = httpRequest(
      { socketPath, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  const label = { "berth.test.looks": `${process.pid}` };
  let rt: ReturnType<typeof createDockerEngineRuntime>;
  const inspections = () => asked.filter((a) => /^GET \/v[\d.]+\/containers\/[^/]+\/json$/.test(a)).length;

  beforeAll(async () => {
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const { port } = proxy.address() as AddressInfo;
    rt = createDockerEngineRuntime({ url: `tcp://127.0.0.1:${port}`, kernelLog: null });
  });
  afterAll(async () => {
    for (const c of await rt.list(label)) await rt.remove(c.id);
    await new Promise((r) => proxy.close(r));
  });

  it("a list inspects only the containers that are new or changed state since the last list", async () => {
    const make = (n: string) =>
      rt.create({
        name: `berth-looks-${n}-${process.pid}`,
        image,
        command: ["/bin/sleep", "300"],
        env: {},
        labels: label,
        ports: [],
        resources: {},
      });
    const [a, b] = [await make("a"), await make("b")];
    await rt.start(a);
    asked.length = 0;
    expect((await rt.list(label)).map((c) => c.state).sort()).toEqual(["created", "running"]);
    expect(inspections()).toBe(2);

    asked.length = 0;
    await rt.list(label);
    expect(inspections()).toBe(0);

    await rt.start(b);
    asked.length = 0;
    expect((await rt.list(label)).map((c) => c.state)).toEqual(["running", "running"]);
    expect(inspections()).toBe(1);

    // Killed behind the runtime's back: the list shows it exited, with the exit code of a fresh look.
    const killed = await engine.request({
      method: "POST",
      path: `/containers/${a}/kill`,
      query: { signal: "KILL" },
    });
    expect(killed.status).toBe(204);
    // Waited for through the engine itself: the runtime's own inspection would tell its cache.
    const exited = async () =>
      JSON.parse((await engine.request({ method: "GET", path: `/containers/${a}/json` })).body.toString())
        .State.Status === "exited";
    for (let i = 0; i < 50 && !(await exited()); i++) await new Promise((r) => setTimeout(r, 100));
    asked.length = 0;
    const after = await rt.list(label);
    expect(after.find((c) => c.id === a)).toMatchObject({ state: "exited", exitCode: 137 });
    expect(inspections()).toBe(1);

    // What the runtime inspected itself (a pod's step looks at what it started) is not asked again.
    const c = await make("c");
    await rt.start(c);
    expect((await rt.inspect(c))?.state).toBe("running");
    asked.length = 0;
    expect((await rt.list(label)).find((x) => x.id === c)?.state).toBe("running");
    expect(inspections()).toBe(0);
  }, 60_000);

  it("lists with Podman's own API, and with Docker's Engine API from the first time an engine lacks it", async () => {
    asked.length = 0;
    await rt.list(label);
    expect(asked.filter((a) => a.endsWith("/containers/json"))).toEqual([
      "GET /v4.0.0/libpod/containers/json",
    ]);
    dockerOnly = true;
    try {
      const { port } = proxy.address() as AddressInfo;
      const docker = createDockerEngineRuntime({ url: `tcp://127.0.0.1:${port}`, kernelLog: null });
      asked.length = 0;
      const first = await docker.list(label);
      await docker.list(label);
      expect(first.length).toBeGreaterThan(0);
      expect(asked.filter((a) => a.endsWith("/containers/json"))).toEqual([
        "GET /v4.0.0/libpod/containers/json",
        "GET /v1.41/containers/json",
        "GET /v1.41/containers/json",
      ]);
    } finally {
      dockerOnly = false;
    }
  });

  it("asks about an image once for the pods that start together", async () => {
    asked.length = 0;
    const answers = await Promise.all([rt.hasImage(image), rt.imageConfig(image), rt.hasImage(image)]);
    expect(answers[0]).toBe(true);
    expect(answers[1]?.id).toMatch(/^(sha256:)?[0-9a-f]{64}$/);
    expect(asked.filter((a) => a.includes("/images/")).length).toBe(1);
    expect(await rt.hasImage("localhost/berth/no-such-image:latest")).toBe(false);
    expect(await rt.hasImage("localhost/berth/no-such-image:latest")).toBe(false);
    expect(asked.filter((a) => a.includes("no-such-image")).length).toBe(2);
  });
});
