import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RegistryTokenSettings } from "@berth/control-api/testing";
import { loadRegistrySigningKey, pushOciLayout, signRegistryToken } from "@berth/registry";

/**
 * The real registry for a test file: Debian's docker-registry (installed by infra/services.sh up)
 * with storage of its own, trusting the token key of `infra/services.sh env`
 * (REGISTRY_TOKEN_KEY_FILE / REGISTRY_TOKEN_CERT_FILE), its realm the test's own control API.
 */
export const SERVICE = "berth-registry";
export const ISSUER = "berth";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: run \`eval "$(bash infra/services.sh env)"\` first`);
  return value;
}

/** The token settings the test's control API signs with (the key services.sh made). */
export async function registryTokenSettings(): Promise<RegistryTokenSettings> {
  const key = loadRegistrySigningKey(await readFile(required("REGISTRY_TOKEN_KEY_FILE"), "utf8"));
  return { key, issuer: ISSUER, service: SERVICE, ttlSeconds: 300 };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

export interface TestRegistry {
  /** `127.0.0.1:<port>`, as image references name it. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  close(): Promise<void>;
}

/** `port`: a port chosen beforehand (its host named in the platform's configuration); default any free one. */
export async function startTestRegistry(realm: string, port?: number): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "berth-registry-"));
  port ??= await freePort();
  const config = [
    "version: 0.1",
    "log: { level: warn, formatter: text }",
    `storage: { filesystem: { rootdirectory: ${dir}/storage }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:${port}" }`,
    "auth:",
    "  token:",
    `    realm: ${realm}`,
    `    service: ${SERVICE}`,
    `    issuer: ${ISSUER}`,
    `    rootcertbundle: ${required("REGISTRY_TOKEN_CERT_FILE")}`,
  ].join("\n");
  await writeFile(join(dir, "config.yml"), config);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${url}/v2/`).catch(() => null);
    if (res?.status === 401) break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`docker-registry did not start on ${url}: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    async close() {
      child.kill("SIGTERM");
      await new Promise((ok) => (child.exitCode !== null ? ok(null) : child.once("exit", ok)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const run = promisify(execFile);

/** The podman CLI on the project's local storage (never remote: CONTAINER_HOST would make it so). */
export async function podman(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const { CONTAINER_HOST: _remote, ...env } = process.env;
  return run("podman", args, { env, timeout: 60_000 });
}

/** Podman's failure as text (its exit and stderr), or null when the command succeeded. */
export async function podmanFails(args: string[]): Promise<string | null> {
  try {
    await podman(args);
    return null;
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error);
  }
}

/** The claims of a JWT (not verified: the registry does that). */
export function claimsOf(token: string): {
  access: { type: string; name: string; actions: string[] }[];
  exp: number;
  iat: number;
} {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/**
 * Publishes a local image in the registry's `library/` as the platform does (infra/up.sh): its OCI
 * layout, pushed with a push token the platform signs itself. Returns the manifest's digest.
 */
export async function publishPlatformImage(
  reg: TestRegistry,
  settings: RegistryTokenSettings,
  image: string,
  repository: string,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "berth-layout-"));
  try {
    await podman(["save", "--format", "oci-dir", "-o", join(dir, "image"), image]);
    const platform = signRegistryToken(settings.key, {
      issuer: settings.issuer,
      service: settings.service,
      subject: "platform",
      access: [{ type: "repository", name: repository, actions: ["pull", "push"] }],
      ttlSeconds: 60,
    });
    return await pushOciLayout({
      dir: join(dir, "image"),
      registry: reg.url,
      repository,
      tag: "latest",
      token: platform.token,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PodmanService {
  socketPath: string;
  close(): Promise<void>;
}

/**
 * A Podman API service of the test's own on the project's storage and settings (CONTAINERS_CONF),
 * with a registries.conf naming `insecureHost` (the test's plain-http registry) as infra/services.sh
 * names Berth's registry for the shared service, and nothing else.
 */
export async function startPodmanService(insecureHost: string): Promise<PodmanService> {
  const dir = await mkdtemp(join(tmpdir(), "berth-podman-"));
  const conf = join(dir, "registries.conf");
  await writeFile(conf, `[[registry]]\nlocation = "${insecureHost}"\ninsecure = true\n`);
  const socketPath = join(dir, "podman.sock");
  const { CONTAINER_HOST: _remote, ...env } = process.env;
  const child = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], {
    env: { ...env, CONTAINERS_REGISTRIES_CONF: conf },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (await pings(socketPath)) break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`podman system service did not start: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    socketPath,
    async close() {
      child.kill("SIGTERM");
      await new Promise((ok) => (child.exitCode !== null ? ok(null) : child.once("exit", ok)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function pings(socketPath: string): Promise<boolean> {
  return new Promise((ok) => {
    const req = request({ socketPath, path: "/_ping", timeout: 1_000 }, (res) => {
      res.resume();
      ok(res.statusCode === 200);
    });
    req.on("error", () => ok(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
