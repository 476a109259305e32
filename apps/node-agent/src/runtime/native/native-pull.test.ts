/**
 * Pulls of the native runtime's image store from a real registry (Debian's `docker-registry`)
 * that asks for Bearer tokens (its `auth.token` section), issued by a token service of this
 * test's own (ES256 JWTs whose certificate the registry trusts): the token dance with Basic
 * credentials, refusal without the right ones, a multi-layer OCI image (gzip and plain layers)
 * whose whiteouts and opaque directories are applied, modes kept, and pulls by digest.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes, sign, X509Certificate } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { mkdir, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectRuntimeError, freePort, sleep } from "../conformance-helpers";
import { buildTar } from "../conformance-image";
import { ImageStore } from "./image-store";
import { createNativeRuntime } from "./native-runtime";
import { pushImage } from "./registry-push";

const work = mkdtempSync("/var/tmp/berth-native-pull-");
const victim = join(work, "victim");
const SERVICE = "berth-test";
const repo = "berth/layers";
let registry = "";
let registryProcess: ChildProcess | undefined;
let tokenServer: Server | undefined;
let key = "";
let x5c = "";
let manifestDigest = "";
let configDigest = "";

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

function token(actions: string[]): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [x5c] }));
  const claims = b64url(
    JSON.stringify({
      iss: SERVICE,
      sub: "puller",
      aud: SERVICE,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString("hex"),
      access: [{ type: "repository", name: repo, actions }],
    }),
  );
  const sig = sign("sha256", Buffer.from(`${head}.${claims}`), { key, dsaEncoding: "ieee-p1363" });
  return `${head}.${claims}.${b64url(sig)}`;
}

beforeAll(async () => {
  await promisify(execFile)("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...[
      "-keyout",
      join(work, "key.pem"),
      "-out",
      join(work, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=berth-test",
    ],
  ]);
  key = await readFile(join(work, "key.pem"), "utf8");
  x5c = new X509Certificate(await readFile(join(work, "cert.pem"))).raw.toString("base64");
  tokenServer = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const basic = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString();
    if (basic !== "puller:secret" || url.searchParams.get("service") !== SERVICE) {
      res.writeHead(401).end();
      return;
    }
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ token: token(["pull"]) }));
  });
  await new Promise<void>((ok) => tokenServer?.listen(0, "127.0.0.1", ok));
  const address = tokenServer.address();
  const tokenPort = typeof address === "object" && address ? address.port : 0;
  registry = `127.0.0.1:${await freePort()}`;
  await writeFile(
    join(work, "registry.yml"),
    [
      "version: 0.1",
      "log: { level: error }",
      `storage: { filesystem: { rootdirectory: ${join(work, "registry")} } }`,
      `http: { addr: "${registry}" }`,
      `auth: { token: { realm: "http://127.0.0.1:${tokenPort}/token", service: ${SERVICE}, issuer: ${SERVICE}, rootcertbundle: ${join(work, "cert.pem")} } }`,
    ].join("\n"),
  );
  registryProcess = spawn("docker-registry", ["serve", join(work, "registry.yml")], { stdio: "ignore" });
  for (let i = 0; (await fetch(`http://${registry}/v2/`).catch(() => null))?.status !== 401; i++) {
    if (i > 100) throw new Error("docker-registry did not answer");
    await sleep(100);
  }

  const lower = buildTar([
    { type: "dir", name: "etc/" },
    { type: "file", name: "etc/keep", mode: 0o644, data: Buffer.from("keep\n") },
    { type: "symlink", name: "etc/localtime", target: "/usr/share/zoneinfo/UTC" },
    { type: "symlink", name: "etc/up", target: "../../../../../../../../outside" },
    { type: "file", name: "etc/removed", mode: 0o644, data: Buffer.from("removed\n") },
    { type: "dir", name: "gone/" },
    { type: "file", name: "gone/file", mode: 0o644, data: Buffer.from("x") },
    { type: "dir", name: "opq/" },
    { type: "file", name: "opq/old", mode: 0o644, data: Buffer.from("old") },
    { type: "dir", name: "tmp/", mode: 0o1777 },
    { type: "file", name: "run.sh", mode: 0o755, data: Buffer.from("#!/bin/sh\n") },
    { type: "dir", name: "www/" },
    { type: "file", name: "www/index.html", mode: 0o644, data: Buffer.from("one") },
  ]);
  const upper = buildTar([
    { type: "file", name: "etc/.wh.removed", mode: 0o644, data: Buffer.alloc(0) },
    { type: "file", name: ".wh.gone", mode: 0o644, data: Buffer.alloc(0) },
    { type: "dir", name: "opq/" },
    { type: "file", name: "opq/new", mode: 0o644, data: Buffer.from("new") },
    { type: "file", name: "opq/.wh..wh..opq", mode: 0o644, data: Buffer.alloc(0) },
    { type: "file", name: "www/index.html", mode: 0o644, data: Buffer.from("two") },
  ]);
  const target = { registry, repo, auth: () => `Bearer ${token(["pull", "push"])}` };
  const user = { User: "1234:2345", Cmd: ["/run.sh"] };
  ({ manifestDigest, configDigest } = await pushImage(
    target,
    "v1",
    [{ tar: lower, blob: gzipSync(lower) }, { tar: upper }],
    user,
  ));
  // An image whose links lead out of its tree: its whiteouts and modes must not touch the node.
  await mkdir(victim, { recursive: true });
  await writeFile(join(victim, "precious"), "keep me");
  await writeFile(join(victim, "private"), "mode 600", { mode: 0o600 });
  // Absolute targets are the image's own (resolved inside the container when it runs): on the
  // node they lead out of the tree.
  const out = victim;
  const evilLower = buildTar([
    { type: "symlink", name: "escape", target: out },
    { type: "symlink", name: "opq", target: out },
  ]);
  const evilUpper = buildTar([
    { type: "file", name: "escape/.wh.precious", mode: 0o644, data: Buffer.alloc(0) },
    { type: "file", name: "opq/.wh..wh..opq", mode: 0o644, data: Buffer.alloc(0) },
    { type: "file", name: "private", mode: 0o777, data: Buffer.from("x") },
    { type: "symlink", name: "private", target: `${out}/private` },
  ]);
  await pushImage(target, "evil", [{ tar: evilLower }, { tar: evilUpper }], user);
}, 60_000);

afterAll(async () => {
  registryProcess?.kill();
  tokenServer?.close();
  await rm(work, { recursive: true, force: true });
});

const credentials = (password: string) => () => ({ username: "puller", password });

describe("native image store", () => {
  it("does the token dance with its credentials and applies whiteouts, opaque directories and modes", async () => {
    const store = new ImageStore(join(work, "store-a"), { credentials: credentials("secret") });
    const record = await store.pull(`${registry}/${repo}:v1`);
    expect(record).toMatchObject({ id: configDigest, digest: `${registry}/${repo}@${manifestDigest}` });
    expect(record.config.User).toBe("1234:2345");
    const at = (p: string) => join(record.rootfs, p);
    expect(await readFile(at("etc/keep"), "utf8")).toBe("keep\n");
    // Links as the image has them, absolute or leading past its top (node-tar alone would not).
    expect(await readlink(at("etc/localtime"))).toBe("/usr/share/zoneinfo/UTC");
    expect(await readlink(at("etc/up"))).toBe("../../../../../../../../outside");
    expect(await readFile(at("www/index.html"), "utf8")).toBe("two");
    expect(await readFile(at("opq/new"), "utf8")).toBe("new");
    for (const gone of ["etc/removed", "gone", "opq/old", "etc/.wh.removed", "opq/.wh..wh..opq"])
      expect(await stat(at(gone)).catch(() => null)).toBeNull();
    expect((await stat(at("tmp"))).mode & 0o7777).toBe(0o1777);
    expect((await stat(at("run.sh"))).mode & 0o7777).toBe(0o755);
    // The same image by digest: present at once, no second unpack.
    expect((await store.get(`${registry}/${repo}@${manifestDigest}`))?.rootfs).toBe(record.rootfs);
  });

  it("never follows an image's links out of its tree when applying whiteouts and modes", async () => {
    const store = new ImageStore(join(work, "store-evil"), { credentials: credentials("secret") });
    const record = await store.pull(`${registry}/${repo}:evil`);
    expect(await readFile(join(victim, "precious"), "utf8")).toBe("keep me");
    expect((await stat(join(victim, "private"))).mode & 0o777).toBe(0o600);
    expect((await readdir(victim)).sort()).toEqual(["precious", "private"]);
    // The links are kept as the image has them.
    expect(await readlink(join(record.rootfs, "escape"))).toBe(victim);
    expect(await readlink(join(record.rootfs, "private"))).toBe(`${victim}/private`);
  });

  it("pulls by digest through the runtime, and fails as IMAGE_NOT_FOUND with wrong credentials", async () => {
    const good = createNativeRuntime({
      root: join(work, "store-b"),
      shimPath: "/nonexistent",
      registry: { credentials: credentials("secret") },
    });
    const byDigest = `${registry}/${repo}@${manifestDigest}`;
    await good.ensureImage(byDigest);
    expect(await good.imageConfig(byDigest)).toEqual({
      id: configDigest,
      digest: byDigest,
      user: "1234:2345",
    });
    const bad = createNativeRuntime({
      root: join(work, "store-c"),
      shimPath: "/nonexistent",
      registry: { credentials: credentials("wrong") },
    });
    const err = await expectRuntimeError(bad.ensureImage(`${registry}/${repo}:v1`), "IMAGE_NOT_FOUND");
    expect(err.detail).toMatch(/401/);
    expect(await bad.hasImage(`${registry}/${repo}:v1`)).toBe(false);
  });
});
