import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import type { Logger } from "@berth/core";
import type { HaproxyConfig } from "./haproxy-config";

const run = promisify(execFile);

/** HAProxy's warnings that are part of normal work: replaced workers and proxies stopping, no certificate yet. */
const QUIET = /Former worker|Proxy \S+ stopped|no SSL certificate specified|(Paused|Resumed) frontend/;

/**
 * HAProxy as the gateway's data plane: one master-worker HAProxy, a child of this process, started
 * on the first configuration and reloaded (SIGUSR2: a new worker takes the listening sockets over
 * the admin socket, the old one finishes its connections) when the configuration changes. Every
 * configuration is checked (`haproxy -c`) before it replaces the live one; one that fails is
 * logged and the previous one keeps serving. The configuration, the crt-list and the certificate
 * files (tenants' keys) live in `runDir`, mode 0700, meant to be memory-backed (`/dev/shm`).
 */
export class Haproxy {
  private child: ChildProcess | undefined;
  private applied = "";
  /** Resolvers waiting for the master's next "Loading success/failure" line. */
  private waiters: ((ok: boolean) => void)[] = [];
  private exited: Promise<void> | undefined;

  constructor(
    private readonly bin: string,
    private readonly runDir: string,
    private readonly logger: Logger,
  ) {}

  get running(): boolean {
    return this.child?.exitCode === null;
  }

  /** Makes `config` the live one; false when it did not load (the previous one still serves). */
  async apply(config: HaproxyConfig): Promise<boolean> {
    const fingerprint = `${config.text}\0${config.crtList}`;
    if (fingerprint === this.applied && this.running) return true;
    const certs = join(this.runDir, "certs");
    await mkdir(certs, { recursive: true, mode: 0o700 });
    await chmod(this.runDir, 0o700);
    const present = new Set(await readdir(certs));
    for (const [file, pem] of config.certificates)
      if (!present.has(file)) await writeFile(join(certs, file), pem, { mode: 0o600 });
    await writeFile(join(this.runDir, "crt.list"), config.crtList, { mode: 0o600 });
    const candidate = join(this.runDir, "haproxy.cfg.new");
    await writeFile(candidate, config.text, { mode: 0o600 });
    try {
      await run(this.bin, ["-c", "-f", candidate]);
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      this.logger.error({ output: `${stdout}${stderr}`.trim() }, "generated HAProxy configuration rejected");
      return false;
    }
    await rename(candidate, this.configPath);
    const reloading = this.running;
    const ok = reloading ? await this.reload() : await this.launch();
    this.logger.info({ ok, reloading }, reloading ? "HAProxy reloaded" : "HAProxy started");
    if (ok) {
      this.applied = fingerprint;
      for (const file of present)
        if (!config.certificates.has(file)) await rm(join(certs, file), { force: true });
    }
    return ok;
  }

  private get configPath() {
    return join(this.runDir, "haproxy.cfg");
  }
  private get pidPath() {
    return join(this.runDir, "haproxy.pid");
  }

  private async launch(): Promise<boolean> {
    await this.killLeftover();
    const child = spawn(this.bin, ["-W", "-db", "-f", this.configPath, "-p", this.pidPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.once("exit", (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.settle(false);
      this.logger.warn({ code, signal }, "HAProxy exited");
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => this.onLine(line));
    return this.loaded();
  }

  private reload(): Promise<boolean> {
    const done = this.loaded();
    this.child?.kill("SIGUSR2");
    return done;
  }

  /** The master's verdict on the configuration it is loading (within 10 s). */
  private loaded(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== settle);
        this.logger.error("HAProxy did not report loading its configuration within 10 s");
        resolve(false);
      }, 10_000);
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        resolve(ok);
      };
      this.waiters.push(settle);
    });
  }

  private settle(ok: boolean): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(ok);
  }

  private onLine(line: string): void {
    if (line.includes("Loading success")) this.settle(true);
    else if (line.includes("Loading failure")) {
      this.logger.error(
        { haproxy: line },
        "HAProxy could not load the configuration; the previous one serves",
      );
      this.settle(false);
    } else if (line.includes("[ALERT]") || (line.includes("[WARNING]") && !QUIET.test(line)))
      this.logger.warn({ haproxy: line }, "HAProxy");
  }

  /** A master left by a gateway killed with -9 still holds the ports: stop it (its workers follow). */
  private async killLeftover(): Promise<void> {
    const pid = Number((await readFile(this.pidPath, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0) return;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes(this.configPath)) return;
    this.logger.warn({ pid }, "stopping the HAProxy a previous gateway left running");
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")); i++)
      await new Promise((r) => setTimeout(r, 20));
  }

  /** Stops HAProxy: its connections get `graceMs` to finish, then it is killed. */
  async stop(graceMs = 2000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill("SIGUSR1");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
    await rm(this.runDir, { recursive: true, force: true });
  }
}
