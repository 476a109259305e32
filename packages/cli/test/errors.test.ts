import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveConfig, setContext } from "../src/config";
import { runCli } from "./streams";

let dir: string;
let env: { configPath: string };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-errors-"));
  env = { configPath: join(dir, "config.yaml") };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

describe("usage errors: one line, the help, exit 2", () => {
  it("an unknown flag", async () => {
    const r = await runCli(["get", "pods", "--bogus"], env);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("error: unknown option '--bogus'");
    expect(r.stderr).toContain("Usage: berth get [options] <kind> [names...]");
    noStack(r.stderr);
  });

  it("an unknown command, with a suggestion", async () => {
    const r = await runCli(["aply", "-f", "x.yaml"], env);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("error: unknown command 'aply'");
    expect(r.stderr).toContain("(Did you mean apply?)");
    noStack(r.stderr);
  });

  it("an output format, a kind or a shell it does not know", async () => {
    const format = await runCli(["get", "pods", "-o", "xml"], env);
    expect([format.code, format.stderr.split("\n")[0]]).toEqual([
      2,
      "error: option '-o, --output <format>' argument 'xml' is invalid. Allowed choices are wide, json, yaml, name.",
    ]);
    const kind = await runCli(["get", "widgets"], env);
    expect([kind.code, kind.stderr]).toEqual([
      2,
      'error: the server doesn\'t have a resource type "widgets" (see `berth api-resources`)\n',
    ]);
    const shell = await runCli(["completion", "fish"], env);
    expect([shell.code, shell.stderr]).toEqual([
      2,
      'error: completion: unknown shell "fish" (bash or zsh)\n',
    ]);
  });

  it("a missing argument, and no command at all (the help)", async () => {
    const missing = await runCli(["scale", "deployment/web"], env);
    expect([missing.code, missing.stderr.split("\n")[0]]).toEqual([
      2,
      "error: required option '--replicas <n>' not specified",
    ]);
    const none = await runCli([], env);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain("Usage: berth [options] [command]");
    expect((await runCli(["--help"], env)).code).toBe(0);
  });

  it("diff without -f is a usage error too, not a difference", async () => {
    const r = await runCli(["diff"], env);
    expect([r.code, r.stderr]).toEqual([2, "error: -f is required: a file, a directory or - for stdin\n"]);
  });
});

describe("other errors: one line, exit 1", () => {
  it("no context yet says to log in", async () => {
    const r = await runCli(["get", "pods"], env);
    expect([r.code, r.stderr]).toEqual([1, "error: no context: run `berth login --server <url>` first\n"]);
  });

  it("a server that cannot be reached names the network error, and diff's errors exit 3", async () => {
    // A port nothing listens on: one the system handed out and took back.
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const { config } = setContext({ contexts: [] }, "down", {
      server: `http://127.0.0.1:${port}`,
      cluster: "cl_00000000000000000000000000",
      credentials: {
        accessToken: "token",
        accessTokenExpiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    await saveConfig(env.configPath, { ...config, currentContext: "down" });
    const r = await runCli(["get", "pods"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot reach the Berth API \(ECONNREFUSED\): .+\n$/);
    const diff = await runCli(["diff", "-f", "-"], env, "kind: ConfigMap\nmetadata: { name: a }\n");
    expect(diff.code).toBe(3);
    expect(diff.stderr).toMatch(/^error: cannot reach the Berth API \(ECONNREFUSED\)/);
  });
});

describe("completion", () => {
  it("writes bash and zsh scripts that know the commands, their flags and the kinds", async () => {
    const bash = await runCli(["completion", "bash"], env);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain("complete -F _berth berth");
    expect(bash.stdout).toMatch(/"clusters"\) opts="create list get delete rotate-key/);
    expect(bash.stdout).toContain("deployments deployment deploy");
    const zsh = await runCli(["completion", "zsh"], env);
    expect(zsh.stdout.startsWith("#compdef berth\n")).toBe(true);
  });
});
