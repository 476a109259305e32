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
