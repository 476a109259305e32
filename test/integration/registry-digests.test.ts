import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseImageReference } from "@berth/core";
import { createDockerEngineRuntime } from "@berth/node-agent/runtime";
import { createImageResolver, type ImageResolver } from "@berth/provisioner/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agents, hostPortBlock, startAgents } from "./agent-support";
import { type Platform, startPlatform } from "./harness";
import {
  freePort,
  ISSUER,
  type PodmanService,
  podman,
  registryTokenSettings,
  SERVICE,
  startPodmanService,
  startTestRegistry,
  type TestRegistry,
} from "./registry-support";

/**
 * Images of Berth's registry run by digest: a Deployment's tag is resolved once per revision (by
 * the provisioner, with a token it signs itself), every pod of the revision runs that digest even
 * after the tag moves, the node pulls it with its own credential (X-Registry-Auth through a real
 * Podman service that knows the registry as plain http), and reports it as `imageID`. Tenants may
 * name their own namespace and `library/`, never another tenant's.
 */
const DEMO = "localhost/berth/demo-web:latest";
let p: Platform;
let agents: Agents;
let reg: TestRegistry;
let engine: PodmanService;
let resolver: ImageResolver;
let host: string;
type Tenant = Awaited<ReturnType<Platform["api"]["tenant"]>> & { key: string };
let a: Tenant;
let clusterId: string;
const local: string[] = [];
/** This file's two images (the demo image plus a label each), never the shared demo image itself. */
const own = {
  v1: `localhost/berth/digest-test:v1-${process.pid}`,
  v2: `localhost/berth/digest-test:v2-${process.pid}`,
};
const digests: Record<"v1" | "v2", string> = { v1: "", v2: "" };

async function tenant(name: string): Promise<Tenant> {
  const t = await p.api.tenant(name);
  const k = await p.api.call("POST", "/v1/api-keys", { token: t.token, body: { name: "registry" } });
  expect(k.status).toBe(201);
  return { ...t, key: k.body.key };
}

async function build(image: string, label: string): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), "berth-digest-image-"));
  try {
    await writeFile(join(context, "Containerfile"), `FROM ${DEMO}\nLABEL berth.test.digest="${label}"\n`);
    await podman(["build", "-q", "-t", image, context]);
    local.push(image);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** Pushes a local image as A's `web:<tag>`; returns the digest the registry now has for it. */
async function push(image: string, tag: string): Promise<string> {
  const target = `${host}/${a.tenantId}/web:${tag}`;
  await podman(["tag", image, target]);
  local.push(target);
  const dir = await mkdtemp(join(tmpdir(), "berth-digest-push-"));
  try {
    await podman([
      "push",
      "--tls-verify=false",
      "--creds",
      `berth:${a.key}`,
      "--digestfile",
      join(dir, "d"),
      target,
    ]);
    return (await readFile(join(dir, "d"), "utf8")).trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const web = () => `${host}/${a.tenantId}/web`;
const base = () => `/v1/clusters/${clusterId}/deployments/default`;
const manifest = (
  name: string,
  image: string,
  replicas: number,
  env: { name: string; value: string }[] = [],
) => ({
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        // busybox httpd ignores SIGTERM: replaced pods would hold the rollouts (and the agent's stop) 30 s.
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "web", image, env, resources: { requests: { cpu: "10m", memory: "16Mi" } } }],
      },
    },
  },
});
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type Json = any;
async function podsOf(app: string): Promise<Json[]> {
  const r = await p.api.call(
    "GET",
    `/v1/clusters/${clusterId}/pods?namespace=default&labelSelector=app%3D${app}`,
    {
      token: a.token,
    },
  );
  return (r.body.items as Json[]).filter((x) => !x.terminating);
}
/** Waits until `n` pods of `app` run, all with `image` as spec and imageID. */
async function running(app: string, n: number, image: string, timeoutMs = 40_000): Promise<Json[]> {
  let seen: Json[] = [];
  return p
    .waitFor(
      `${n} pods of ${app} running ${image}`,
      async () => {
        const list = await podsOf(app);
        seen = list;
        const ok = list.filter(
          (x) => x.phase === "Running" && x.status.containerStatuses[0]?.imageID === image,
        );
        return list.length === n && ok.length === n && list.every((x) => x.spec.containers[0].image === image)
          ? list
          : null;
      },
      timeoutMs,
    )
    .catch((error: Error) => {
      const what = seen.map((x) => ({
        name: x.name,
        phase: x.phase,
        image: x.spec.containers[0].image,
        status: x.status.containerStatuses[0],
      }));
      throw new Error(`${error.message}; pods: ${JSON.stringify(what)}`);
    });
}
const revisions = async (name: string): Promise<Json> =>
  (await p.api.call("GET", `${base()}/${name}/revisions`, { token: a.token })).body;

beforeAll(async () => {
  const settings = await registryTokenSettings();
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  resolver = createImageResolver({
    host,
    url: `http://${host}`,
    key: settings.key,
    issuer: ISSUER,
    service: SERVICE,
    timeoutMs: 5_000,
  });
  p = await startPlatform({ api: { registry: settings, registryHost: host }, imageResolver: resolver });
  agents = await startAgents(p);
  [reg, engine, a] = await Promise.all([
    startTestRegistry(`${agents.url}/v1/registry/token`, port),
    startPodmanService(host),
    tenant("digests-a"),
  ]);
  await Promise.all([build(own.v1, "v1"), build(own.v2, "v2")]);
  digests.v1 = await push(own.v1, "v1");
  clusterId = await p.activeCluster(a.token, "digests");
  const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token: a.token });
  await agents.start("digest-node", {
    joinToken: jt.body.token,
    portRange: hostPortBlock(10),
    // The node's own Podman service, which knows the test's registry as plain http.
    runtimeWith: (registryAuth) => createDockerEngineRuntime({ socketPath: engine.socketPath, registryAuth }),
  });
}, 120_000);
afterAll(async () => {
  await agents?.close();
  const pulled = [digests.v1, digests.v2].filter(Boolean).map((d) => `${web()}@${d}`);
  await podman(["rmi", "-f", "--ignore", ...local, ...pulled]).catch(() => {});
  await engine?.close();
  await reg?.close();
  await p?.close();
});

describe("images of Berth's registry, pinned to digests per revision", () => {
  it("resolves the tag once: the pod runs <repo>@sha256 and reports it as its imageID", async () => {
    const started = Date.now();
    const put = await p.api.call("PUT", `${base()}/web`, {
      token: a.token,
      body: manifest("web", `${web()}:v1`, 1),
    });
    expect(put.status, put.text).toBeLessThan(300);
    const pinned = `${web()}@${digests.v1}`;
    const [pod] = await running("web", 1, pinned);
    const h = await revisions("web");
    expect(h.items).toHaveLength(1);
    expect(h.items[0].images).toEqual({ [`${web()}:v1`]: pinned });
    // The Deployment keeps the tag as written; only its revision and pods carry the digest.
    const d = await p.api.call("GET", `${base()}/web`, { token: a.token });
    expect(d.body.spec.template.spec.containers[0].image).toBe(`${web()}:v1`);
    expect(pod.status.containerStatuses[0].image).toBe(pinned);
    // Figures: the provisioner's resolution (HEAD manifest with a token it signs), measured alone.
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      expect(await resolver.resolve(parseImageReference(`${web()}:v1`))).toBe(pinned);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    console.log(
      `digest pins: tag resolved in ${times[0]?.toFixed(1)}–${times[4]?.toFixed(1)} ms (median ${times[2]?.toFixed(1)} ms); apply → pod running the digest ${Date.now() - started} ms`,
    );
  });

  it("keeps the revision's digest after the tag moves: a scale-up runs the first image", async () => {
    digests.v2 = await push(own.v2, "v1");
    expect(digests.v2).not.toBe(digests.v1);
    const scaled = await p.api.call("PUT", `${base()}/web/scale`, {
      token: a.token,
      body: { spec: { replicas: 2 } },
    });
    expect(scaled.status, scaled.text).toBe(200);
    await running("web", 2, `${web()}@${digests.v1}`);
    expect((await revisions("web")).items).toHaveLength(1);
  });

  it("resolves the tag anew for a new revision; a rollback runs the old revision's digest again", async () => {
    const put = await p.api.call("PUT", `${base()}/web`, {
      token: a.token,
      body: manifest("web", `${web()}:v1`, 1, [{ name: "ROUND", value: "2" }]),
    });
    expect(put.status, put.text).toBeLessThan(300);
    await running("web", 1, `${web()}@${digests.v2}`);
    const h = await revisions("web");
    expect(h.items.map((r: Json) => [r.revision, r.images[`${web()}:v1`]])).toEqual([
      [2, `${web()}@${digests.v2}`],
      [1, `${web()}@${digests.v1}`],
    ]);
    const back = await p.api.call("POST", `${base()}/web/rollback`, { token: a.token, body: {} });
    expect(back.status, back.text).toBe(200);
    await running("web", 1, `${web()}@${digests.v1}`);
  });

  it("says so when a tag cannot be resolved: a Warning event, the revision keeps the tag, ErrImagePull", async () => {
    const image = `${web()}:missing`;
    const put = await p.api.call("PUT", `${base()}/ghost`, {
      token: a.token,
      body: manifest("ghost", image, 1),
    });
    expect(put.status, put.text).toBeLessThan(300);
    const event = await p.waitFor("FailedToResolveImage", async () => {
      const r = await p.api.call(
        "GET",
        `/v1/clusters/${clusterId}/events?namespace=default&involvedObject=Deployment/ghost`,
        { token: a.token },
      );
      return (r.body.items as Json[]).find((e) => e.reason === "FailedToResolveImage");
    });
    expect(event.type).toBe("Warning");
    expect(event.message).toContain(image);
    const made = await p.waitFor("ghost's revision", async () => (await revisions("ghost")).items?.[0]);
    expect(made.images).toEqual({});
    const pod = await p.waitFor(
      "ErrImagePull",
      async () =>
        (await podsOf("ghost")).find((x) =>
          /ErrImagePull|ImagePullBackOff/.test(x.status.containerStatuses[0]?.state.waiting?.reason ?? ""),
        ),
      30_000,
    );
    expect(pod.spec.containers[0].image).toBe(image);
    await p.api.call("DELETE", `${base()}/ghost`, { token: a.token });
  });

  it("refuses another tenant's image at admission; the tenant's own namespace and library/ are allowed", async () => {
    const b = await tenant("digests-b");
    const other = await p.activeCluster(b.token, "digests-b");
    const apply = (image: string) =>
      p.api.call("PUT", `/v1/clusters/${other}/deployments/default/web`, {
        token: b.token,
        body: manifest("web", image, 0),
      });
    const refused = await apply(`${web()}:v1`);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("FORBIDDEN");
    expect(refused.body.error.message).toContain("spec.template.spec.containers[0].image");
    expect(refused.body.error.message).toContain(`${host}/${b.tenantId}/`);
    expect((await apply(`${host}/${b.tenantId}/web:v1`)).status).toBeLessThan(300);
    expect((await apply(`${host}/library/demo-web:latest`)).status).toBeLessThan(300);
    // Not Berth's registry: the platform's prefixes (localhost/) still decide.
    expect((await apply("127.0.0.1:1/elsewhere/web:v1")).status).toBe(403);
  });
});
