import {
  createServer as createHttp,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger, MasterKey } from "@berth/core";
import { type Db, withSystem } from "@berth/db";
import { Counter, Histogram, type Registry } from "prom-client";
import { buildConfig, type GatewayConfig, tlsContextOf } from "./config";
import { RoundRobin } from "./dial";
import { LoadBalancers } from "./load-balancers";
import { answer, proxy } from "./proxy";
import { type Backend, RouteTable, requestHost, requestPath } from "./routes";
import { objectKey, readSnapshot, type Snapshot } from "./snapshot";
import { RouteStats } from "./stats";
import { type Address, allocateLbPorts, type LbAllocations, sweepHostClaims, writeStatuses } from "./status";

export interface GatewayDeps {
  db: Db;
  master: MasterKey;
  logger: Logger;
  metrics: Registry;
  now: () => Date;
}

export interface GatewayOptions {
  host: string;
  httpPort: number;
  httpsPort: number;
  publicIp: string;
  lbPorts: { min: number; max: number };
  refreshMs: number;
  statsFlushMs: number;
  connectTimeoutMs: number;
  accessLog: boolean;
}

/**
 * The platform's ingress gateway: HTTP and HTTPS (a certificate per host by SNI, from the tenants'
 * `kubernetes.io/tls` Secrets) routed by host and path to the ready endpoints of the Ingresses'
 * backend Services, and a TCP port per `type: LoadBalancer` Service port. Its configuration is
 * read whole from Postgres every `refreshMs` (system role) and swapped in at once.
 */
export class Gateway {
  private config: GatewayConfig = { routes: new RouteTable(), tls: new Map(), conditions: new Map() };
  private snapshot: Snapshot = { ingresses: [], services: new Map(), secrets: new Map() };
  private allocations: LbAllocations = new Map();
  /** LoadBalancer ports another process of this host holds (found when listening failed). */
  private readonly busyPorts = new Set<number>();
  private readonly rr = new RoundRobin();
  private readonly stats = new RouteStats();
  private readonly lbs: LoadBalancers;
  private http: Server | undefined;
  private https: Server | undefined;
  private timers: NodeJS.Timeout[] = [];
  private refreshing: Promise<void> | undefined;
  /** The first refresh succeeded: the gateway knows what to serve (readiness). */
  loaded = false;
  private readonly requests: Counter<"scheme" | "code">;
  private readonly duration: Histogram<"scheme">;
  private readonly refreshFailures: Counter;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly opts: GatewayOptions,
  ) {
    this.lbs = new LoadBalancers(opts.host, opts.connectTimeoutMs, deps.logger, this.rr);
    this.requests = new Counter({
      name: "berth_gateway_requests_total",
      help: "HTTP(S) requests answered by the gateway, by scheme and status class",
      labelNames: ["scheme", "code"],
      registers: [deps.metrics],
    });
    this.duration = new Histogram({
      name: "berth_gateway_request_duration_seconds",
      help: "Time from a request's arrival to the end of its answer",
      labelNames: ["scheme"],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [deps.metrics],
    });
    this.refreshFailures = new Counter({
      name: "berth_gateway_refresh_failures_total",
      help: "Configuration reads from Postgres that failed (the previous configuration stays)",
      registers: [deps.metrics],
    });
  }

  get address(): Address {
    return {
      ip: this.opts.publicIp,
      httpPort: this.httpPort,
      httpsPort: this.httpsPort,
      lbPorts: this.opts.lbPorts,
    };
  }
  get httpPort(): number {
    return (this.http?.address() as AddressInfo | null)?.port ?? this.opts.httpPort;
  }
  get httpsPort(): number {
    return (this.https?.address() as AddressInfo | null)?.port ?? this.opts.httpsPort;
  }
  /** The gateway port of a LoadBalancer Service's port, once allocated. */
  lbPortOf(serviceUid: string, servicePort: number): number | undefined {
    return this.allocations.get(`${serviceUid}/${servicePort}`);
  }

  async start(): Promise<void> {
    this.http = createHttp((req, res) => this.handle(req, res, "http"));
    this.https = createHttps(
      {
        SNICallback: (servername, cb) => {
          const ctx = tlsContextOf(this.config, servername.toLowerCase());
          cb(ctx ? null : new Error(`no certificate for ${servername}`), ctx);
        },
      },
      (req, res) => this.handle(req, res, "https"),
    );
    await Promise.all([
      listen(this.http, this.opts.host, this.opts.httpPort),
      listen(this.https, this.opts.host, this.opts.httpsPort),
    ]);
    await this.refresh();
    this.timers.push(setInterval(() => void this.refresh(), this.opts.refreshMs));
    this.timers.push(
      setInterval(
        () =>
          void this.stats.flush(this.deps.db).catch((error: unknown) => {
            this.deps.logger.warn({ err: error }, "route stats flush failed; kept for the next one");
          }),
        this.opts.statsFlushMs,
      ),
    );
  }

  /** Reads the configuration, allocates LoadBalancer ports, writes statuses; one at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    try {
      const now = this.deps.now();
      await withSystem(this.deps.db, async (tx) => {
        const snapshot = await readSnapshot(tx, this.deps.master);
        const config = buildConfig(snapshot, now);
        const allocations = await allocateLbPorts(tx, snapshot, this.address, this.busyPorts);
        await writeStatuses(tx, snapshot, config, allocations, this.address, now);
        await sweepHostClaims(tx);
        this.snapshot = snapshot;
        this.config = config;
        this.allocations = allocations;
      });
      const failed = await this.lbs.sync(this.snapshot, this.allocations);
      for (const port of failed) this.busyPorts.add(port);
      this.loaded = true;
      // Ports that turned out to be taken are allocated again at once, elsewhere.
      if (failed.length > 0) setImmediate(() => void this.refresh());
    } catch (error) {
      this.refreshFailures.inc();
      this.deps.logger.error(
        { err: error },
        "gateway configuration refresh failed; serving the previous one",
      );
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse, scheme: "http" | "https"): void {
    const started = performance.now();
    const host = requestHost(req.headers.host);
    const path = requestPath(req.url);
    const { routes, backend } = this.config.routes.match(host, path);
    const finish = (status: number, bytes: number, upstream?: string) => {
      const ms = performance.now() - started;
      this.requests.inc({ scheme, code: `${Math.floor(status / 100)}xx` });
      this.duration.observe({ scheme }, ms / 1000);
      if (backend) this.stats.record(backend, status, bytes, ms, this.deps.now());
      if (this.opts.accessLog)
        this.deps.logger.info(
          {
            access: true,
            scheme,
            tenant: backend?.tenantId,
            cluster: backend?.clusterId,
            namespace: backend?.namespace,
            ingress: backend?.ingress,
            service: backend?.service,
            upstream,
            host,
            method: req.method,
            path,
            status,
            bytes,
            durationMs: Math.round(ms * 1000) / 1000,
          },
          "request",
        );
    };
    const own = this.ownAnswer(host, path, scheme, req.url ?? "/", routes !== undefined, backend);
    if (own) {
      finish(own.status, answer(res, own.status, own.text, own.headers));
      return;
    }
    const endpoints = backend ? this.endpointsOf(backend) : [];
    if (!backend || endpoints.length === 0) return;
    proxy(
      req,
      res,
      scheme,
      `${backend.clusterId}/${backend.namespace}/${backend.service}/${backend.port}`,
      endpoints,
      { connectTimeoutMs: this.opts.connectTimeoutMs, rr: this.rr },
      finish,
    );
  }

  /** What the gateway answers itself: unknown host or path (404), a redirect to HTTPS (308), no endpoint (503). */
  private ownAnswer(
    host: string,
    path: string,
    scheme: "http" | "https",
    url: string,
    known: boolean,
    backend: Backend | undefined,
  ): { status: number; text: string; headers?: Record<string, string> } | undefined {
    if (!known) return { status: 404, text: `no Ingress serves host ${JSON.stringify(host)}` };
    if (scheme === "http" && tlsContextOf(this.config, host)) {
      const port = this.httpsPort === 443 ? "" : `:${this.httpsPort}`;
      return {
        status: 308,
        text: "served over HTTPS",
        headers: { location: `https://${host}${port}${url}` },
      };
    }
    if (!backend) return { status: 404, text: `no rule of host ${JSON.stringify(host)} matches ${path}` };
    if (this.endpointsOf(backend).length === 0)
      return {
        status: 503,
        text: `service ${backend.namespace}/${backend.service} has no ready endpoint for port ${backend.port}`,
      };
    return undefined;
  }

  /** The ready endpoints of a backend: its Service's port (by number or name) resolved per pod. */
  private endpointsOf(b: Backend) {
    const s = this.snapshot.services.get(objectKey(b.clusterId, b.namespace, b.service));
    const port = s?.spec.ports.find((p) =>
      typeof b.port === "number" ? p.port === b.port : p.name === b.port,
    );
    return (port && s?.endpoints.get(port.port)) || [];
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.refreshing;
    await this.lbs.close();
    await Promise.all([close(this.http), close(this.https)]);
    await this.stats.flush(this.deps.db).catch(() => {});
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function close(server: Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
