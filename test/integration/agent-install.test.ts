import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "./harness";

/**
 * The node agent as the control plane serves it: one bundle with its SHA-256, and the installer
 * that fetches it, refuses it if the checksum differs, and installs a `berth-node-agent` command.
 */
let p: Platform;
let url: string;
let close: () => Promise<void>;
let dir: string;
beforeAll(async () => {
  p = await startPlatform();
  const server = serve({ fetch: p.api.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => server.once("listening", () => ok()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise<void>((ok) => server.close(() => ok()));
  dir = await mkdtemp(join(tmpdir(), "berth-install-"));
}, 120_000);
afterAll(async () => {
  await close?.();
  await p?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Release {
  version: string;
  sha256: string;
  bytes: number;
}
const release = (): Promise<Release> => fetch(`${url}/v1/agent`).then((r) => r.json() as Promise<Release>);

const sh = (script: string, env: Record<string, string>) =>
  new Promise<{ code: number; out: string }>((ok) => {
    const child = execFile("sh", ["-s"], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      ok({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
    child.stdin?.end(script);
  });

describe("the served node agent", () => {
  it("is one bundle named by its checksum; other versions are not served", async () => {
    const r = await release();
    expect(r.version).toMatch(/^0\.1\.0\+[0-9a-f]{12}$/);
    expect(r.version.slice(6)).toBe(r.sha256.slice(0, 12));
    const file = await fetch(`${url}/v1/agent/${encodeURIComponent(r.version)}/berth-node-agent.mjs`);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toMatch(/javascript/);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.byteLength).toBe(r.bytes);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(r.sha256);
    const other = await fetch(`${url}/v1/agent/0.0.1/berth-node-agent.mjs`);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });

  it("installs with its installer, checksum verified, as a command that runs", async () => {
    const script = await fetch(`${url}/v1/agent/install.sh`).then((r) => r.text());
    const target = join(dir, "good");
    const installed = await sh(script, {
      BERTH_SERVER: url,
      BERTH_AGENT_DIR: target,
      BERTH_INSTALL_ONLY: "1",
    });
    expect(installed.out).toContain("(checksum verified)");
    expect(installed.code).toBe(0);
    const onDisk = await readFile(join(target, "berth-node-agent.mjs"));
    expect(createHash("sha256").update(onDisk).digest("hex")).toBe((await release()).sha256);
    const help = await new Promise<string>((ok) =>
      execFile(join(target, "bin", "berth-node-agent"), ["--help"], (_e, out) => ok(out)),
    );
    expect(help).toMatch(/^berth node agent: joins a Berth cluster/);
  });

  it("refuses a bundle whose checksum differs, and installs nothing", async () => {
    const script = await fetch(`${url}/v1/agent/install.sh`).then((r) => r.text());
    const tampered = script.replace(/^SHA256='[0-9a-f]{64}'$/m, `SHA256='${"0".repeat(64)}'`);
    expect(tampered).not.toBe(script);
    const target = join(dir, "bad");
    const run = await sh(tampered, { BERTH_SERVER: url, BERTH_AGENT_DIR: target, BERTH_INSTALL_ONLY: "1" });
    expect(run.code).not.toBe(0);
    expect(run.out).toMatch(/berth: checksum mismatch: got [0-9a-f]{64}, want 0{64}/);
    await expect(readFile(join(target, "berth-node-agent.mjs"))).rejects.toThrow(/ENOENT/);
  });

  it("is what a join token tells a host to run", async () => {
    const { token } = await p.api.tenant("installer");
    const clusterId = await p.activeCluster(token, "c");
    const jt = await p.api.call("POST", `/v1/clusters/${clusterId}/join-tokens`, { token });
    expect(jt.body.installCommand).toBe(
      `curl -fsSL http://berth.test/v1/agent/install.sh | BERTH_JOIN_TOKEN=${jt.body.token} sh`,
    );
  });
});
