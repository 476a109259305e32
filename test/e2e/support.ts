import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { bundle } from "@berth/sdk/packaging";

export const ROOT = resolve(import.meta.dirname, "../..");

const bundles = new Map<string, Promise<string>>();
let bundleDir: string | undefined;
/**
 * `entry` (a TypeScript file, relative to the repository) as one bundled module for a child
 * process, built once per test file: started through tsx, a provisioner spends about 4 s of CPU
 * compiling and loading its sources; bundled, about 1 s. Defaults relative to a module's own file
 * (BERTH_DATA_DIR, LOCAL_VM_DIR) then point beside the bundle: a test gives those explicitly.
 */
export function bundled(entry: string): Promise<string> {
  let built = bundles.get(entry);
  if (!built) {
    if (!bundleDir) {
      const dir = mkdtempSync(join(tmpdir(), "berth-test-bundles-"));
      process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
      bundleDir = dir;
    }
    const outfile = join(bundleDir, `${bundles.size}-${basename(entry, ".ts")}.mjs`);
    built = bundle({ entry: resolve(ROOT, entry), outfile, platform: "node" }).then(() => outfile);
    bundles.set(entry, built);
  }
  return built;
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

/**
 * Host ports for a test's agents to publish pods on: `size` of them, apart from every other block
 * this process or a parallel test file takes. Podman's DNAT for a published port also catches this
 * host's own connections to that port on 127.0.0.1, so blocks stay below the kernel's ephemeral
 * range (where servers on port 0, clients' source ports, Postgres and Redis are) and below the
 * agent's default range (30000-32767, a local platform's own node); each vitest worker has a
 * region of its own, and a process takes the blocks of its region in turn from a random start.
 */
export function hostPortBlock(size: number): { min: number; max: number } {
  if (size > BLOCK) throw new Error(`a host port block holds at most ${BLOCK} ports`);
  const region = regionFor(Number(process.env.VITEST_POOL_ID ?? 1));
  const blocks = Math.floor((region.max - region.min + 1) / BLOCK);
  const min = region.min + ((nextBlock++ + blockOffset) % blocks) * BLOCK;
  return { min, max: min + size - 1 };
}

const BLOCK = 250;
const REGIONS = 4;
let nextBlock = 0;
const blockOffset = Math.floor(Math.random() * 1000);

function regionFor(worker: number): { min: number; max: number } {
  const ephemeralMin = Number(
    readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
  );
  const top = Math.min(30_000, ephemeralMin) - 1;
  const size = Math.floor((top - 10_000 + 1) / REGIONS);
  if (size < BLOCK) throw new Error(`no room for host port blocks below ${top + 1}`);
  const min = 10_000 + ((worker - 1) % REGIONS) * size;
  return { min, max: min + size - 1 };
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `pattern` in the output. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** Starts a command with argv (no shell), collecting its output. */
export function start(command: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((ok) => child.once("exit", (code) => ok(code)));
  return {
    child,
    output: () => out,
    exited,
    waitForOutput(pattern, timeoutMs) {
      return new Promise((ok, fail) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            ok(m);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          fail(new Error(`timed out waiting for ${pattern}; output so far:\n${out.slice(-4000)}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then((code) => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            fail(new Error(`exited (${code}) before ${pattern}; output:\n${out.slice(-4000)}`));
          }
        });
        check();
      });
    },
  };
}

export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The container engine's API, for looking behind the platform's back (and killing a container by hand). */
export function engine(method: string, path: string): Promise<{ status: number; body: unknown }> {
  const host =
    process.env.CONTAINER_HOST ?? process.env.DOCKER_HOST ?? `unix://${ROOT}/.data/podman/podman.sock`;
  return new Promise((ok, fail) => {
    const req = request(
      { socketPath: host.replace(/^unix:\/\//, ""), path: `/v1.41${path}`, method },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {}
          ok({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", fail);
    req.end();
  });
}

export interface EngineContainer {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

/**
 * The node's pods' containers; with `all`, their sandboxes (the holders of each pod's network
 * namespace) too, listed last: the order they can be removed in (the engine keeps a sandbox while a
 * container joined to it exists).
 */
export async function containersOf(nodeId: string, o: { all?: boolean } = {}): Promise<EngineContainer[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`berth.node=${nodeId}`] }));
  // Podman answers a list that raced a container's removal with 500 ("no such container"); the
  // next list does not see the removed one. Anything that persists is thrown with its body.
  let res = await engine("GET", `/containers/json?all=true&filters=${filters}`);
  for (let attempt = 1; res.status !== 200 && attempt < 5; attempt++) {
    await new Promise((r) => setTimeout(r, 50 * attempt));
    res = await engine("GET", `/containers/json?all=true&filters=${filters}`);
  }
  if (res.status !== 200 || !Array.isArray(res.body))
    throw new Error(`listing the engine's containers: ${res.status} ${JSON.stringify(res.body)}`);
  const list = res.body as EngineContainer[];
  const sandbox = (c: EngineContainer) => c.Labels?.["berth.container-kind"] === "sandbox";
  const own = list.filter((c) => !sandbox(c));
  return o.all ? [...own, ...list.filter(sandbox)] : own;
}
