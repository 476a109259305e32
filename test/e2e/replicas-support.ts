import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runMigrations } from "@berth/db";
import postgres from "postgres";
import { freePort } from "./support";

/**
 * Backing services of a test's own, apart from the shared ones, so that killing and restarting them
 * disturbs no other test file: a Postgres cluster (initdb into a temporary directory) and a Redis
 * with its append-only file, each on a port of its own; and a load balancer in front of API replicas.
 */
const run = promisify(execFile);
const PG_BIN = "/usr/lib/postgresql/15/bin";
const isRoot = process.getuid?.() === 0;
/** initdb and postgres refuse to run as root: as root, they run as the postgres user. */
const asPostgres = (argv: string[]): [string, string[]] =>
  isRoot ? ["runuser", ["-u", "postgres", "--", ...argv]] : [argv[0] ?? "", argv.slice(1)];

export interface OwnPostgres {
  port: number;
  /** The apps' roles (tenant and system) and the owner's, on the database `berth`. */
  urls: { app: string; system: string; migration: string };
  /** A superuser connection (row-level security does not apply), for the test's own checks. */
  admin: postgres.Sql;
  /** Stops it at once, as a crash would (`pg_ctl stop -m immediate`: crash recovery at the next start). */
  crash(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startPostgres(): Promise<OwnPostgres> {
  const dir = await mkdtemp(join(tmpdir(), "berth-replicas-pg-"));
  if (isRoot) await chown(dir, ...(await postgresIds()));
  await chmod(dir, 0o700);
  const data = join(dir, "data");
  const port = await freePort();
  const pgctl = (args: string[]) => run(...asPostgres([`${PG_BIN}/pg_ctl`, "-D", data, ...args]));
  await run(
    ...asPostgres([`${PG_BIN}/initdb`, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8"]),
  ).catch((e) => {
    throw new Error(`initdb failed: ${(e as { stderr?: string }).stderr ?? e}`);
  });
  // Throw-away data: without fsync a crash of the host could corrupt it, a crash of Postgres cannot
  // (what it wrote is in the kernel's page cache). Unlike BERTH_PG_FAST=1, commits stay synchronous:
  // with synchronous_commit=off a crash of Postgres loses the last commits it acknowledged, and this
  // test saw an acknowledged deletion undone by the restart.
  const opts = [
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
    "-c fsync=off -c full_page_writes=off",
  ].join(" ");
  const start = async () => {
    await pgctl(["-o", opts, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
  };
  await start();
  const root = postgres({
    host: "127.0.0.1",
    port,
    user: "postgres",
    database: "postgres",
    max: 1,
    onnotice: () => {},
  });
  // The roles infra/services.sh makes: the owner runs the migrations, the apps own nothing.
  await root.unsafe(`
    create role berth login createdb nosuperuser nobypassrls;
    create role berth_app login nosuperuser nobypassrls;
    create role berth_system login nosuperuser nobypassrls;
    grant pg_signal_backend to berth;`);
  await root.unsafe("create database berth owner berth");
  await root.end();
  const url = (user: string) => `postgres://${user}@127.0.0.1:${port}/berth`;
  const urls = { app: url("berth_app"), system: url("berth_system"), migration: url("berth") };
  await runMigrations(urls.migration);
  const admin = postgres({
    host: "127.0.0.1",
    port,
    user: "postgres",
    database: "berth",
    max: 2,
    onnotice: () => {},
  });
  return {
    port,
    urls,
    admin,
    crash: async () => {
      await pgctl(["-m", "immediate", "-w", "-t", "60", "stop"]);
    },
    start,
    async close() {
      await admin.end({ timeout: 1 }).catch(() => {});
      await pgctl(["-m", "immediate", "-w", "-t", "60", "stop"]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout } = await run("id", ["-u", "postgres"]);
  const { stdout: g } = await run("id", ["-g", "postgres"]);
  return [Number(stdout.trim()), Number(g.trim())];
}

export interface OwnRedis {
  port: number;
  url: string;
  /** SIGKILL: nothing is flushed beyond what the append-only file already holds. */
  kill(): Promise<void>;
  /** Starts it again on the same directory: it loads the append-only file. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Redis with `appendfsync always`: every write is in the append-only file, and synced, before Redis
 * answers it, so what a client was told is stored survives a crash of Redis and of the host. With
 * `everysec` the file is normally written before the answer too, but a write may wait behind a slow
 * fsync for up to 2 s while the answer goes out, and a crash of the host loses what was not synced.
 */
export async function startRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), "berth-replicas-redis-"));
  const port = await freePort();
  let server: ChildProcess | undefined;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--maxmemory-policy",
    "noeviction",
  ];
  const start = async () => {
    server = spawn("redis-server", args, { stdio: "ignore" });
    for (let i = 0; ; i++) {
      // PING answers LOADING until the append-only file is read.
      const pong = await run("redis-cli", ["-p", String(port), "ping"]).catch(() => ({ stdout: "" }));
      if (pong.stdout.trim() === "PONG") return;
      if (i > 200) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const kill = async () => {
    const s = server;
    if (!s || s.exitCode !== null) return;
    const gone = new Promise((r) => s.once("exit", r));
    s.kill("SIGKILL");
    await gone;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    async close() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Balancer {
  url: string;
  close(): Promise<void>;
}

/**
 * A load balancer as nginx's `proxy_next_upstream error` behaves: round robin over the replicas; a
 * replica that refuses the connection is skipped (the request never reached it), one that fails
 * after the request was sent makes a 502 (it may have acted: the client decides whether to retry).
 */
export async function startBalancer(upstreams: number[]): Promise<Balancer> {
  let next = 0;
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, tried: number) => {
    const port = upstreams[next++ % upstreams.length] as number;
    const up = request(
      { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on("error", () => res.destroy());
      },
    );
    up.on("error", (err: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      if (err.code === "ECONNREFUSED" && tried + 1 < upstreams.length)
        return forward(req, body, res, tried + 1);
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "BAD_GATEWAY", message: err.message } }));
    });
    up.end(body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => forward(req, Buffer.concat(chunks), res, 0));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
