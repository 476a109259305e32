import type { Socket } from "node:dgram";
import { createServer } from "node:net";
import type { Logger, MasterKey } from "@berth/core";
import { type Db, withSystem } from "@berth/db";
import { Counter, Histogram, type Registry } from "prom-client";
import { type LoggedRequest, listenForLog } from "./access-log";
import { buildConfig, type GatewayConfig } from "./config";
import { Haproxy } from "./haproxy";
import { haproxyConfig, type Target } from "./haproxy-config";
import type { Backend } from "./routes";
import { objectKey, readSnapshot, type Snapshot } from "./snapshot";
import { RouteStats } from "./stats";
import {
  type Address,
  allocateLbPorts,
  type LbAllocations,
  lbKey,
  sweepHostClaims,
  writeStatuses,
} from "./status";

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
  /** HAProxy's executable, its threads, and the (memory-backed) directory of its files. */
  haproxyBin: string;
  threads: number;
  runDir: string;
}

/**
 * The platform's ingress gateway: HTTP and HTTPS (a certificate per host by SNI, from the tenants'
 * `kubernetes.io/tls` Secrets) routed by host and path to the ready endpoints of the Ingresses'
 * backend Services, and a TCP port per `type: LoadBalancer` Service port. This process is the
 * control side: every `refreshMs` it reads the configuration whole from Postgres (system role),
 * writes status, renders HAProxy's configuration and reloads HAProxy when it changed; HAProxy
 * serves, and logs each request to this process, which keeps the access log, the metrics and the
 * per-route stats.
 */
export class Gateway {
  private allocations: LbAllocations = new Map();
  /** LoadBalancer ports another process of this host holds (found when probing them). */
  private readonly busyPorts = new Set<number>();
  /** LoadBalancer ports the live HAProxy configuration listens on. */
  private served = new Set<number>();
  /** HAProxy backend name → its route, in the live configuration and in the one before. */
  private routes = new Map<string, Backend>();
  private previousRoutes = new Map<string, Backend>();
  private readonly stats = new RouteStats();
  private readonly haproxy: Haproxy;
  private log: Socket | undefined;
  private timers: NodeJS.Timeout[] = [];
  private refreshing: Promise<void> | undefined;
  /** The first configuration is served: the gateway knows what to serve (readiness). */
  loaded = false;
  private readonly requests: Counter<"scheme" | "code">;
  private readonly duration: Histogram<"scheme">;
  private readonly refreshFailures: Counter;

  constructor(
    private readonly deps: GatewayDeps,
    private readonly opts: GatewayOptions,
  ) {
    this.haproxy = new Haproxy(opts.haproxyBin, opts.runDir, deps.logger);
    this.requests = new Counter({
      name: "berth_gateway_requests_total",
      help: "HTTP(S) requests answered by the gateway, by scheme and status class",
      labelNames: ["scheme", "code"],
      registers: [deps.metrics],
    });
    this.duration = new Histogram({
      name: "berth_gateway_request_duration_seconds",
      help: "Time from a request's arrival to the end of its answer (HAProxy's Ta, whole ms)",
      labelNames: ["scheme"],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [deps.metrics],
    });
    this.refreshFailures = new Counter({
      name: "berth_gateway_refresh_failures_total",
      help: "Configuration reads or HAProxy reloads that failed (the previous configuration stays)",
      registers: [deps.metrics],
    });
  }

  get address(): Address {
    return {
      ip: this.opts.publicIp,
      httpPort: this.opts.httpPort,
      httpsPort: this.opts.httpsPort,
      lbPorts: this.opts.lbPorts,
    };
  }
  /** HAProxy is running (a refresh starts it again when it is not). */
  get serving(): boolean {
    return this.haproxy.running;
  }
  get httpPort(): number {
    return this.opts.httpPort;
  }
  get httpsPort(): number {
    return this.opts.httpsPort;
  }
  /** The gateway port of a LoadBalancer Service's port, once allocated. */
  lbPortOf(serviceUid: string, servicePort: number): number | undefined {
    return this.allocations.get(lbKey(serviceUid, servicePort));
  }

  async start(): Promise<void> {
    this.log = await listenForLog((r) => this.record(r));
    await this.refresh();
    if (!this.loaded) throw new Error("the gateway could not serve its first configuration (see the log)");
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

  /** Reads the configuration, allocates LoadBalancer ports, writes statuses, reloads HAProxy; one at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    try {
      const now = this.deps.now();
      const { snapshot, config, allocations } = await withSystem(this.deps.db, async (tx) => {
        const snapshot = await readSnapshot(tx, this.deps.master);
        const config = buildConfig(snapshot, now);
        const allocations = await allocateLbPorts(tx, snapshot, this.address, this.busyPorts);
        await sweepHostClaims(tx);
        return { snapshot, config, allocations };
      });
      const busy = await this.probeNewPorts(allocations);
      if (busy.length > 0) {
        // Ports something else holds are allocated again at once, elsewhere.
        for (const port of busy) this.busyPorts.add(port);
        setImmediate(() => void this.refresh());
      }
      if (!(await this.serve(snapshot, config, allocations, new Set(busy))))
        throw new Error("HAProxy did not load the configuration");
      this.allocations = allocations;
      this.loaded = true;
      // Status says where things are served once they are.
      await withSystem(this.deps.db, (tx) =>
        writeStatuses(tx, snapshot, config, allocations, this.address, now),
      );
    } catch (error) {
      this.refreshFailures.inc();
      this.deps.logger.error(
        { err: error },
        "gateway configuration refresh failed; serving the previous one",
      );
    }
  }

  /** Renders HAProxy's configuration (without ports found busy) and makes it live. */
  private async serve(
    snapshot: Snapshot,
    config: GatewayConfig,
    allocations: LbAllocations,
    busy: ReadonlySet<number>,
  ): Promise<boolean> {
    const lbs = new Map<number, Target[]>();
    for (const s of snapshot.services.values())
      if (s.spec.type === "LoadBalancer")
        for (const p of s.spec.ports) {
          const port = allocations.get(lbKey(s.uid, p.port));
          if (port !== undefined && !busy.has(port)) lbs.set(port, s.endpoints.get(p.port) ?? []);
        }
    const rendered = haproxyConfig(config, (b) => this.endpointsOf(snapshot, b), lbs, {
      host: this.opts.host,
      httpPort: this.opts.httpPort,
      httpsPort: this.opts.httpsPort,
      threads: this.opts.threads,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      logPort: (this.log?.address().port as number | undefined) ?? 0,
      runDir: this.opts.runDir,
    });
    const ok = await this.haproxy.apply(rendered);
    if (ok) {
      // Lines of the replaced worker may still come: its routes stay known until the next change.
      this.previousRoutes = this.routes;
      this.routes = rendered.routes;
      this.served = new Set(lbs.keys());
    }
    return ok;
  }

  /** Allocated LoadBalancer ports not served yet that another process of this host holds. */
  private async probeNewPorts(allocations: LbAllocations): Promise<number[]> {
    const busy: number[] = [];
    for (const port of allocations.values())
      if (!this.served.has(port) && !(await portFree(this.opts.host, port))) busy.push(port);
    if (busy.length > 0)
      this.deps.logger.warn({ ports: busy }, "LoadBalancer ports held by another process; allocating others");
    return busy;
  }

  /** One request HAProxy logged: metrics, per-route stats, the access log. */
  private record(r: LoggedRequest): void {
    const backend = this.routes.get(r.backend) ?? this.previousRoutes.get(r.backend);
    this.requests.inc({ scheme: r.scheme, code: `${Math.floor(r.status / 100)}xx` });
    this.duration.observe({ scheme: r.scheme }, r.durationMs / 1000);
    if (backend) this.stats.record(backend, r.status, r.bytes, r.durationMs, this.deps.now());
    if (this.opts.accessLog)
      this.deps.logger.info(
        {
          access: true,
          scheme: r.scheme,
          tenant: backend?.tenantId,
          cluster: backend?.clusterId,
          namespace: backend?.namespace,
          ingress: backend?.ingress,
          service: backend?.service,
          upstream: r.upstream,
          client: r.client,
          host: r.host,
          method: r.method,
          path: r.path,
          status: r.status,
          bytes: r.bytes,
          durationMs: r.durationMs,
        },
        "request",
      );
  }

  /** The ready endpoints of a backend: its Service's port (by number or name) resolved per pod. */
  private endpointsOf(snapshot: Snapshot, b: Backend): Target[] {
    const s = snapshot.services.get(objectKey(b.clusterId, b.namespace, b.service));
    const port = s?.spec.ports.find((p) =>
      typeof b.port === "number" ? p.port === b.port : p.name === b.port,
    );
    return (port && s?.endpoints.get(port.port)) || [];
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.refreshing;
    await this.haproxy.stop();
    // Lines of the last requests may still be on their way.
    await new Promise((r) => setTimeout(r, 50));
    this.log?.close();
    await this.stats.flush(this.deps.db).catch(() => {});
  }
}

/** Whether `port` can be listened on now (nothing else on this host holds it). */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
