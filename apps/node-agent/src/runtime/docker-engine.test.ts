import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll } from "vitest";
import { runtimeConformanceSuite } from "./conformance";
import { CONFORMANCE_IMAGE, ensureConformanceImage } from "./conformance-image";
import { createDockerEngineRuntime } from "./docker-engine";
import { createEngineClient, responseError } from "./engine-http";

const url = process.env.CONTAINER_HOST || process.env.DOCKER_HOST || `unix://${localPodmanSocket()}`;
const image = process.env.BERTH_CONFORMANCE_IMAGE || CONFORMANCE_IMAGE;
const engine = createEngineClient({ url });

beforeAll(async () => {
  if (!process.env.BERTH_CONFORMANCE_IMAGE) await ensureConformanceImage(engine, { image });
}, 60_000);

runtimeConformanceSuite("docker-engine (Engine API v1.41)", () => createDockerEngineRuntime({ url }), {
  image,
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

/**
 * The socket infra/services.sh starts Podman on: <repo>/.data/podman/podman.sock, or for a deep
 * checkout (a unix socket path must fit in 108 bytes) /tmp/berth-podman-<hash of the repo path>.sock.
 */
function localPodmanSocket(): string {
  const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../..");
  const inRepo = `${root}/.data/podman/podman.sock`;
  if (inRepo.length <= 100) return inRepo;
  return `/tmp/berth-podman-${createHash("sha256").update(root).digest("hex").slice(0, 12)}.sock`;
}
