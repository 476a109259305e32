import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig, saveConfig, selectContext, setContext, useContext } from "../src/config";
import { cliEnv } from "../src/env";
import { runCli } from "./streams";

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-config-"));
  path = join(dir, "berth", "config.yaml");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("where the config file is", () => {
  it("is BERTH_CONFIG, else under XDG_CONFIG_HOME, else ~/.config", () => {
    expect(cliEnv({ BERTH_CONFIG: "/x/c.yaml", XDG_CONFIG_HOME: "/xdg" }).configPath).toBe("/x/c.yaml");
    expect(cliEnv({ XDG_CONFIG_HOME: "/xdg" }).configPath).toBe("/xdg/berth/config.yaml");
    expect(cliEnv({}).configPath).toBe(join(homedir(), ".config", "berth", "config.yaml"));
  });
});

describe("contexts", () => {
  it("reads a missing file as no contexts, and says to log in when one is needed", async () => {
    const config = await loadConfig(path);
    expect(config).toEqual({ contexts: [] });
    expect(() => selectContext(config)).toThrow("no context: run `berth login --server <url>` first");
  });

  it("creates a context with the local server by default, merges changes and unsets fields given as empty", () => {
    const { config } = setContext({ contexts: [] }, "dev", { cluster: "prod", namespace: "shop" });
    expect(config.contexts).toEqual([
      { name: "dev", server: "http://127.0.0.1:8080", cluster: "prod", namespace: "shop" },
    ]);
    const next = setContext(config, "dev", { namespace: "", server: "https://berth.example" }).config;
    expect(next.contexts).toEqual([{ name: "dev", server: "https://berth.example", cluster: "prod" }]);
    expect(() => setContext(next, "dev", { server: "not a url" })).toThrow(/context "dev": server/);
  });

  it("switches to a context that exists, and refuses one that does not", () => {
    const { config } = setContext({ contexts: [] }, "a", {});
    expect(useContext(config, "a").currentContext).toBe("a");
    expect(() => useContext(config, "b")).toThrow('context "b" does not exist');
    expect(() => selectContext(config, "b")).toThrow('context "b" does not exist');
  });

  it("writes the file readable by its owner only, even over a file that was not", async () => {
    const { config } = setContext({ contexts: [] }, "a", {
      credentials: { refreshToken: "secret-refresh-token" },
    });
    await saveConfig(path, config);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await chmod(path, 0o644);
    await saveConfig(path, { ...config, currentContext: "a" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await loadConfig(path)).currentContext).toBe("a");
  });

  it("names the file and the field of a config file it cannot use", async () => {
    await saveConfig(path, { contexts: [] });
    await writeFile(path, "contexts:\n  - name: a\n    server: 42\n");
    await expect(loadConfig(path)).rejects.toThrow(`the config file ${path} is not valid: contexts.0.server`);
  });
});

describe("berth config", () => {
  it("sets, lists and switches contexts, and never shows credentials", async () => {
    const env = { configPath: path };
    expect(
      (
        await runCli(
          ["config", "set-context", "a", "--server", "http://a.test:8080", "--cluster", "prod"],
          env,
        )
      ).stdout,
    ).toBe('Context "a" created.\n');
    await runCli(["config", "set-context", "b", "--server", "http://b.test", "-n", "shop"], env);
    const listed = await runCli(["config", "get-contexts"], env);
    expect(listed.stdout).toBe(
      [
        "CURRENT   NAME   SERVER               CLUSTER   NAMESPACE   USER",
        "*         a      http://a.test:8080   prod      <none>      <none>",
        "          b      http://b.test        <none>    shop        <none>",
        "",
      ].join("\n"),
    );
    expect((await runCli(["config", "use-context", "b"], env)).stdout).toBe('Switched to context "b".\n');
    expect((await runCli(["config", "current-context"], env)).stdout).toBe("b\n");
    const withSecret = setContext(await loadConfig(path), "b", {
      credentials: { apiKey: "brk_secret_value" },
    }).config;
    await saveConfig(path, withSecret);
    const view = await runCli(["config", "view"], env);
    expect(view.stdout).toContain("apiKey: REDACTED");
    expect(view.stdout).not.toContain("brk_secret_value");
    expect(await readFile(path, "utf8")).toContain("brk_secret_value");
    const unknown = await runCli(["config", "use-context", "c"], env);
    expect([unknown.code, unknown.stderr]).toEqual([
      1,
      'error: context "c" does not exist (see `berth config get-contexts`)\n',
    ]);
  });
});
