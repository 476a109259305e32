import { createHash } from "node:crypto";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@berth/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SelfUpdater } from "./self-update";
import { agentBuild } from "./version";

/** The agent's self-update against a real HTTP server and a real bundle file in a temporary directory. */
const logger = createLogger("node-agent", "silent");
const sha256 = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const OLD = "// the running agent\n";
const NEW = "// the next agent\n";

let server: Server;
let base: string;
let dir: string;
let file: string;
let body = NEW;
let status = 200;
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? "");
    res.writeHead(status, { "content-type": "text/javascript" }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-self-update-"));
  file = join(dir, "berth-node-agent.mjs");
  await writeFile(file, OLD);
  await chmod(file, 0o750);
  body = NEW;
  status = 200;
  requests.length = 0;
  return () => rm(dir, { recursive: true, force: true });
});

const announce = {
  version: "0.1.0+next",
  sha256: sha256(NEW),
  url: "/v1/agent/0.1.0%2Bnext/berth-node-agent.mjs",
};

function updater(now = () => Date.now()) {
  const replaced: string[] = [];
  const u = new SelfUpdater({
    bundle: { file, sha256: sha256(OLD) },
    server: base,
    logger,
    onReplaced: (v) => replaced.push(v),
    backoff: { initialMs: 1_000, maxMs: 4_000 },
    now,
  });
  return { u, replaced };
}

describe("an agent updating itself", () => {
  it("puts the verified bundle over its own file, keeping its mode and leaving no temporary file", async () => {
    const { u, replaced } = updater();
    await Promise.all([u.offer(announce), u.offer(announce)]); // one download at a time
    expect(replaced).toEqual(["0.1.0+next"]);
    expect(requests).toEqual(["/v1/agent/0.1.0%2Bnext/berth-node-agent.mjs"]);
    expect(await readFile(file, "utf8")).toBe(NEW);
    expect((await stat(file)).mode & 0o777).toBe(0o750);
    expect(await readdir(dir)).toEqual(["berth-node-agent.mjs"]);
    await u.offer(announce); // replaced: it waits to be restarted
    expect(requests).toHaveLength(1);
  });

  it("does nothing when the announced bundle is its own, or none is announced", async () => {
    const { u, replaced } = updater();
    await u.offer(undefined);
    await u.offer({ ...announce, version: "0.1.0+other-name", sha256: sha256(OLD) });
    expect(requests).toEqual([]);
    expect(replaced).toEqual([]);
  });

  it("never replaces its file with bytes that do not match, and tries again only after a back-off", async () => {
    let now = 0;
    const { u, replaced } = updater(() => now);
    body = `${NEW}// tampered\n`;
    await u.offer(announce);
    expect(await readFile(file, "utf8")).toBe(OLD);
    expect(await readdir(dir)).toEqual(["berth-node-agent.mjs"]);
    await u.offer(announce);
    expect(requests).toHaveLength(1);
    now = 1_000;
    status = 503;
    await u.offer(announce);
    expect(requests).toHaveLength(2);
    expect(await readFile(file, "utf8")).toBe(OLD);
    // The second failure doubles the wait.
    now = 2_999;
    await u.offer(announce);
    expect(requests).toHaveLength(2);
    now = 3_000;
    status = 200;
    body = NEW;
    await u.offer(announce);
    expect(replaced).toEqual(["0.1.0+next"]);
    expect(await readFile(file, "utf8")).toBe(NEW);
  });
});

describe("an agent's version", () => {
  it("names its bundle's bytes when it runs as the installed bundle", async () => {
    const build = agentBuild(`file://${file}`);
    expect(build).toEqual({
      version: `0.1.0+${sha256(OLD).slice(0, 12)}`,
      bundle: { file, sha256: sha256(OLD) },
    });
  });

  it("is the plain release from source: a development agent, which never updates itself", () => {
    expect(agentBuild(import.meta.url)).toEqual({ version: "0.1.0", bundle: null });
  });
});
