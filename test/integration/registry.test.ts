import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestApi } from "@berth/control-api/testing";
import { createRegistryClient, MANIFEST_MEDIA_TYPES } from "@berth/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinByApi } from "./agent-support";
import { type Platform, startPlatform } from "./harness";
import {
  claimsOf,
  podman,
  podmanFails,
  publishPlatformImage,
  registryTokenSettings,
  SERVICE,
  startTestRegistry,
  type TestRegistry,
} from "./registry-support";

/**
 * Berth's registry against the real thing: docker-registry with token auth, its realm this file's
 * control API; podman pushes and pulls with tenants' credentials; tenants are kept to their own
 * namespace (`<tenant id>/…`) and to reading `library/…`, which only the platform fills.
 */
const DEMO = "localhost/berth/demo-web:latest";
/** How podman reports the registry's 401 (a pull's manifest, a push's blob check). */
const REFUSED = /unauthorized|authentication required|requested access to the resource is denied/i;
let p: Platform;
let reg: TestRegistry;
let api: { url: string; close(): Promise<void> };
let settings: Awaited<ReturnType<typeof registryTokenSettings>>;
type Tenant = Awaited<ReturnType<Platform["api"]["tenant"]>> & { key: string };
let a: Tenant;
let b: Tenant;
let pushedDigest: string;
const tagged: string[] = [];

async function tenant(name: string): Promise<Tenant> {
  const t = await p.api.tenant(name);
  const k = await p.api.call("POST", "/v1/api-keys", { token: t.token, body: { name: "registry" } });
  expect(k.status).toBe(201);
  return { ...t, key: k.body.key };
}

const basic = (password: string) => `Basic ${Buffer.from(`berth:${password}`).toString("base64")}`;

/** The token service, as a Docker client calls it. */
async function token(password: string | null, scopes: string[], service = SERVICE) {
  const q = new URLSearchParams({ service });
  for (const s of scopes) q.append("scope", s);
  const res = await fetch(`${api.url}/v1/registry/token?${q}`, {
    headers: password === null ? {} : { authorization: basic(password) },
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
  return { status: res.status, body: (await res.json()) as any };
}

const granted = async (password: string, scopes: string[]) => {
  const t = await token(password, scopes);
  expect(t.status).toBe(200);
  return claimsOf(t.body.token).access;
};

const ref = (namespace: string, repo: string) => `${reg.host}/${namespace}/${repo}`;
/**
 * An image of this file's own (the demo image plus a label), so that tagging, pushing and removing
 * never touch the shared demo image other files run at the same time.
 */
let own: string;
async function tag(image: string): Promise<string> {
  await podman(["tag", own, image]);
  tagged.push(image);
  return image;
}
const creds = (password: string) => ["--tls-verify=false", "--creds", `berth:${password}`];

beforeAll(async () => {
  settings = await registryTokenSettings();
  p = await startPlatform({ api: { registry: settings } });
  api = await p.api.listen();
  reg = await startTestRegistry(`${api.url}/v1/registry/token`);
  [a, b] = await Promise.all([tenant("registry-a"), tenant("registry-b")]);
  const context = await mkdtemp(join(tmpdir(), "berth-registry-image-"));
  try {
    own = `localhost/berth/registry-test:${process.pid}`;
    await writeFile(join(context, "Containerfile"), `FROM ${DEMO}\nLABEL berth.test.registry="${own}"\n`);
    await podman(["build", "-q", "-t", own, context]);
    tagged.push(own);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
});
afterAll(async () => {
  if (tagged.length > 0) await podman(["rmi", "--ignore", ...tagged]).catch(() => {});
  await reg?.close();
  await api?.close();
  await p?.close();
});

describe("the registry with Berth's token service", () => {
  it("tenant A pushes its image with podman (API key) and pulls it back (access token)", async () => {
    const image = await tag(`${ref(a.tenantId, "web")}:v1`);
    const dir = await mkdtemp(join(tmpdir(), "berth-push-"));
    try {
      await podman(["push", ...creds(a.key), "--digestfile", join(dir, "digest"), image]);
      pushedDigest = (await readFile(join(dir, "digest"), "utf8")).trim();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(pushedDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    await podman(["rmi", image]);
    await podman(["pull", "-q", ...creds(a.token), image]);
    const { stdout } = await podman(["image", "inspect", "--format", "{{json .RepoDigests}}", image]);
    expect(JSON.parse(stdout)).toContain(`${ref(a.tenantId, "web")}@${pushedDigest}`);
  });

  it("resolves A's tag to the digest podman pushed, through the Bearer challenge (@berth/registry)", async () => {
    const client = createRegistryClient({ credentials: { username: "berth", password: a.key } });
    const repo = { registry: reg.url, repository: `${a.tenantId}/web` };
    const resolved = await client.resolve(repo, "v1");
    expect(resolved.digest).toBe(pushedDigest);
    expect(MANIFEST_MEDIA_TYPES).toContain(resolved.mediaType);
    const manifest = await client.manifest(repo, resolved.digest);
    expect(manifest.digest).toBe(pushedDigest);
    expect(JSON.parse(manifest.body.toString()).layers.length).toBeGreaterThan(0);
    await expect(client.resolve(repo, "no-such-tag")).rejects.toMatchObject({ status: 404 });
    // Credentials follow only the realms the caller trusts.
    const trusting = createRegistryClient({
      credentials: { username: "berth", password: a.key },
      trustedRealmOrigins: [api.url],
    });
    expect((await trusting.resolve(repo, "v1")).digest).toBe(pushedDigest);
    const wary = createRegistryClient({
      credentials: { username: "berth", password: a.key },
      trustedRealmOrigins: ["https://berth.example"],
    });
    await expect(wary.resolve(repo, "v1")).rejects.toMatchObject({ status: 401, code: "UNTRUSTED_REALM" });
  });

  it("tenant B can neither pull nor push A's image: the registry answers 401", async () => {
    const image = `${ref(a.tenantId, "web")}:v1`;
    expect(await podmanFails(["pull", "-q", ...creds(b.key), image])).toMatch(REFUSED);
    const intruder = await tag(`${ref(a.tenantId, "web")}:from-b`);
    expect(await podmanFails(["push", ...creds(b.key), intruder])).toMatch(REFUSED);
    const client = createRegistryClient({ credentials: { username: "berth", password: b.token } });
    await expect(
      client.resolve({ registry: reg.url, repository: `${a.tenantId}/web` }, "v1"),
    ).rejects.toMatchObject({
      status: 401,
    });
    // B's token names A's repository but grants nothing in it; the registry refuses it.
    const t = await token(b.key, [`repository:${a.tenantId}/web:pull,push`]);
    expect(claimsOf(t.body.token).access).toEqual([]);
    const res = await fetch(`${reg.url}/v2/${a.tenantId}/web/manifests/v1`, {
      headers: { authorization: `Bearer ${t.body.token}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  it("refuses anonymous callers: the registry with 401 and a challenge, the token service with 401", async () => {
    const res = await fetch(`${reg.url}/v2/${a.tenantId}/web/manifests/v1`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer realm="${api.url}/v1/registry/token",service="${SERVICE}",scope="repository:${a.tenantId}/web:pull"`,
    );
    const anonymous = await token(null, [`repository:${a.tenantId}/web:pull`]);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe("UNAUTHENTICATED");
    for (const wrong of ["brk_nope_nope", "not-a-token", `${a.token.slice(0, -4)}AAAA`])
      expect((await token(wrong, [`repository:${a.tenantId}/web:pull`])).status).toBe(401);
  });

  it("grants nothing outside the caller's namespace, and only pull and push inside it", async () => {
    expect(
      await granted(a.key, [
        `repository:${b.tenantId}/web:pull,push`,
        "repository:elsewhere/web:pull",
        "repository:web:pull",
        "registry:catalog:*",
        `repository:${a.tenantId}/web:delete,*`,
      ]),
    ).toEqual([]);
    expect(await granted(a.key, [`repository:${a.tenantId}/web:pull,push,delete`])).toEqual([
      { type: "repository", name: `${a.tenantId}/web`, actions: ["pull", "push"] },
    ]);
    const t = await token(a.key, ["registry:catalog:*"]);
    const res = await fetch(`${reg.url}/v2/_catalog`, {
      headers: { authorization: `Bearer ${t.body.token}` },
    });
    expect(res.status).toBe(401);
  });

  it("serves library/ to every tenant and node; only the platform pushes there", async () => {
    // The platform holds the signing key: it signs its own push token.
    const digest = await publishPlatformImage(reg, settings, DEMO, "library/demo-web");
    const asB = createRegistryClient({ credentials: { username: "berth", password: b.key } });
    expect((await asB.resolve({ registry: reg.url, repository: "library/demo-web" }, "latest")).digest).toBe(
      digest,
    );
    expect(await granted(b.key, ["repository:library/demo-web:pull,push"])).toEqual([
      { type: "repository", name: "library/demo-web", actions: ["pull"] },
    ]);
    const published = `${ref("library", "demo-web")}:latest`;
    await podman(["pull", "-q", ...creds(b.key), published]);
    tagged.push(published);
    const overwrite = await tag(`${ref("library", "demo-web")}:latest`);
    expect(await podmanFails(["push", ...creds(a.key), overwrite])).toMatch(REFUSED);
  });

  it("filters the tenant's own scopes by IAM: ReadOnlyAccess pulls, no policy gets nothing", async () => {
    const account = async (name: string, policy?: string) => {
      const sa = await p.api.call("POST", "/v1/service-accounts", { token: a.token, body: { name } });
      expect(sa.status).toBe(201);
      if (policy) {
        const att = await p.api.call("POST", `/v1/policies/${policy}/attachments`, {
          token: a.token,
          body: { principalId: sa.body.id },
        });
        expect(att.status).toBe(201);
      }
      const k = await p.api.call("POST", "/v1/api-keys", {
        token: a.token,
        body: { principalId: sa.body.id },
      });
      return k.body.key as string;
    };
    const scope = `repository:${a.tenantId}/web:pull,push`;
    expect(await granted(await account("viewer", "ReadOnlyAccess"), [scope])).toEqual([
      { type: "repository", name: `${a.tenantId}/web`, actions: ["pull"] },
    ]);
    expect(await granted(await account("nobody"), [scope, "repository:library/demo-web:pull"])).toEqual([]);
  });

  it("lets a node pull its tenant's images (never push) and nothing of another tenant's", async () => {
    const clusterId = await p.activeCluster(a.token, "reg");
    const node = await joinByApi(p, { token: a.token, clusterId }, "reg-node");
    expect(
      await granted(node.credential, [
        `repository:${a.tenantId}/web:pull,push`,
        `repository:${b.tenantId}/web:pull`,
      ]),
    ).toEqual([{ type: "repository", name: `${a.tenantId}/web`, actions: ["pull"] }]);
    const asNode = createRegistryClient({ credentials: { username: node.id, password: node.credential } });
    const resolved = await asNode.resolve({ registry: reg.url, repository: `${a.tenantId}/web` }, "v1");
    expect(resolved.digest).toBe(pushedDigest);
  });

  it("issues tokens of at most 5 minutes and answers malformed requests with 400", async () => {
    const t = await token(a.key, [`repository:${a.tenantId}/web:pull`]);
    expect(t.body.expires_in).toBeLessThanOrEqual(300);
    const claims = claimsOf(t.body.token);
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(300);
    const wrongService = await token(a.key, [], "another-registry");
    expect(wrongService.status).toBe(400);
    expect(wrongService.body.error.code).toBe("VALIDATION_FAILED");
    const badScope = await token(a.key, ["pull-everything"]);
    expect(badScope.status).toBe(400);
    expect(badScope.body.error).toMatchObject({
      code: "VALIDATION_FAILED",
      message: expect.stringContaining("pull-everything"),
    });
    const noService = await fetch(`${api.url}/v1/registry/token`, {
      headers: { authorization: basic(a.key) },
    });
    expect(noService.status).toBe(400);
  });

  it("is rate-limited per client address like the other public routes", async () => {
    // An API of its own (its own database) with a limit of 2 a minute; calls without credentials
    // count as much as any other.
    const limited = await createTestApi({ registry: settings, limits: { publicRequestsPerMinutePerIp: 2 } });
    try {
      const call = (ip: string) =>
        limited.call("GET", `/v1/registry/token?service=${SERVICE}&scope=repository:a/web:pull`, {
          headers: { "x-forwarded-for": ip },
        });
      expect((await call("203.0.113.9")).status).toBe(401);
      expect((await call("203.0.113.9")).status).toBe(401);
      const third = await call("203.0.113.9");
      expect(third.status).toBe(429);
      expect(third.body.error.code).toBe("RATE_LIMITED");
      expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await call("203.0.113.10")).status).toBe(401);
    } finally {
      await limited.close();
    }
  });

  it("infra/services.sh runs the shared registry with token auth (REGISTRY_URL)", async () => {
    const url = process.env.REGISTRY_URL;
    expect(url, "REGISTRY_URL comes from infra/services.sh env").toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // `npm run up` with another PORT (the walkthrough's) restarts it with another realm: a moment's gap.
    let res: Response | null = null;
    for (let i = 0; i < 50 && !res; i++) {
      res = await fetch(`${url}/v2/`).catch(() => null);
      if (!res) await new Promise((r) => setTimeout(r, 100));
    }
    expect(res?.status).toBe(401);
    expect(res?.headers.get("www-authenticate")).toMatch(
      /^Bearer realm="http[^"]+\/v1\/registry\/token",service="/,
    );
  });
});
