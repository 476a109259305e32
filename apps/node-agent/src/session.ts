import type { Logger } from "@berth/core";
import {
  type AgentAnnouncement,
  FULL_SYNC_INTERVAL_MS,
  HEARTBEAT_INTERVAL_MS,
  METRICS_SAMPLE_INTERVAL_MS,
  UNCHANGED_SYNC_INTERVAL_MS,
  WATCH_MAX_WAIT_MS,
} from "@berth/protocol";
import { ApiError, type ControlPlane } from "./api";
import { type Heartbeat, nodeHeartbeat } from "./heartbeat";
import { findReservedHostPorts } from "./host-ports";
import { type HostCounters, readHostCounters } from "./metrics/host-stats";
import { MetricsSampler } from "./metrics/sampler";
import { ClusterNetwork } from "./network/cluster-network";
import type { NodeIdentity } from "./pod-spec";
import { type ProbeStates, saveProbeStates, takeProbeStates } from "./probes/handover";
import { StatusReporter } from "./reporter";
import type { ContainerRuntime } from "./runtime";
import { enforceEphemeralStorage } from "./storage";
import { StreamPoll } from "./streams/poll";
import { RunHistory, recordingRestarts } from "./streams/runs";
import { StreamServer } from "./streams/server";
import { PodSupervisor } from "./supervisor";
import { AssignmentWatch } from "./watch";

export interface Intervals {
  heartbeatMs: number;
  /** How often the full status report is looked at (and sent if it changed). */
  fullSyncMs: number;
  /** How often the full status report is sent unchanged. */
  unchangedSyncMs: number;
  /** How often every container of the node is looked at (crashes are noticed within this). */
  observeMs: number;
  /** How often writable layers are measured against ephemeral-storage limits. */
  storageMs: number;
  /** How often host ports held outside Berth are looked for. */
  portScanMs: number;
  /** How long the watch asks the control plane to hold it. */
  watchWaitMs: number;
  /** How often containers and the node are sampled for metrics (and the samples sent). */
  metricsMs: number;
}

/** How long a starting session's first report waits for the first assignments. */
const FIRST_ASSIGNMENTS_WAIT_MS = 3_000;

/** Settles when `p` does or after `ms`, whichever comes first. */
function firstOf(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((ok) => (timer = setTimeout(ok, ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

export const DEFAULT_INTERVALS: Intervals = {
  heartbeatMs: HEARTBEAT_INTERVAL_MS,
  fullSyncMs: FULL_SYNC_INTERVAL_MS,
  unchangedSyncMs: UNCHANGED_SYNC_INTERVAL_MS,
  observeMs: 2_000,
  storageMs: 10_000,
  portScanMs: 30_000,
  watchWaitMs: WATCH_MAX_WAIT_MS,
  metricsMs: METRICS_SAMPLE_INTERVAL_MS,
};

export interface SessionOptions {
  identity: NodeIdentity;
  credential: () => string;
  /** A renewed credential arrived: keep it. */
  saveCredential: (credential: string, expiresAt: string) => Promise<void>;
  portRange: { min: number; max: number };
  publishAddress: string;
  stopTimeoutSeconds: number;
  podConcurrency: number;
  /** Where pods' volumes live on the node. */
  podsDir: string;
  intervals: Intervals;
  /** Look for host ports of the node's range held outside Berth (default true). */
  scanHostPorts?: boolean;
  /** The control plane asks the node to leave. */
  onLeave: () => void;
  /** The control plane refuses the node's credential. */
  onUnauthorized: (error: ApiError) => void;
  /** Where restarts of containers are remembered, for their logs per run (default: in memory). */
  runHistory?: RunHistory;
  /** Where probe results are handed from a stopping agent to the next (none: not handed over). */
  probeStatesFile?: string;
  /** This agent's version, named in heartbeats to a control plane that announces an agent. */
  agentVersion?: string;
  /** The agent the control plane serves, as each heartbeat reply announces it. */
  onAgentAnnounced?: (agent: AgentAnnouncement | undefined) => void;
  /** Berth's image registry host, as each heartbeat reply names it (undefined: none). */
  onRegistry?: (host: string | undefined) => void;
  /** The pod network (absent: pods stay on the engine's default network, without services or DNS). */
  network?: {
    pollMs: number;
    cacheFile: string;
    dnsUpstream?: { address: string; port: number } | undefined;
    /** The node's mutual-TLS tunnel: this node's name, and where the tunnel listens (port 0: any). */
    tunnel?: { nodeName: string; address: string; port: number } | undefined;
  };
}

/**
 * One node identity at work: a heartbeat on its own timer, the watch that brings assignments, the
 * status reports, and the pod supervisor with its periodic looks (containers, storage, ports).
 * Each runs on its own; none waits for another.
 */
export class NodeSession {
  readonly supervisor: PodSupervisor;
  private readonly heartbeat: Heartbeat;
  private readonly watch: AssignmentWatch;
  private readonly reporter: StatusReporter;
  private readonly streams: StreamServer;
  private readonly streamPoll: StreamPoll;
  private readonly sampler: MetricsSampler;
  private readonly network: ClusterNetwork | null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private reserved: number[] | undefined;
  private stopped = false;
  private readonly inheritedProbes: ProbeStates = new Map();

  constructor(
    private readonly deps: {
      runtime: ContainerRuntime;
      controlPlane: ControlPlane;
      logger: Logger;
      hostCounters?: () => Promise<HostCounters>;
    },
    private readonly opts: SessionOptions,
  ) {
    const { controlPlane: cp, logger } = deps;
    const history = opts.runHistory ?? new RunHistory(null);
    this.network = opts.network
      ? new ClusterNetwork({
          identity: opts.identity,
          runtime: deps.runtime,
          fetchView: (watch, signal, podCidrTaken) =>
            cp.network(opts.credential(), watch, signal, podCidrTaken),
          cacheFile: opts.network.cacheFile,
          pollMs: opts.network.pollMs,
          dnsUpstream: opts.network.dnsUpstream,
          nodeAddress: opts.publishAddress,
          logger,
          ...(opts.network.tunnel
            ? {
                tunnel: {
                  ...opts.network.tunnel,
                  requestCertificate: (publicKey, tunnelPort) =>
                    cp.certificate(opts.credential(), { publicKey, tunnelPort }),
                },
              }
            : {}),
        })
      : null;
    const network = this.network;
    this.supervisor = new PodSupervisor(recordingRestarts(deps.runtime, history), opts.identity, {
      publishAddress: opts.publishAddress,
      stopTimeoutSeconds: opts.stopTimeoutSeconds,
      concurrency: opts.podConcurrency,
      podsDir: opts.podsDir,
      logger,
      onChange: () => this.reporter.poke(),
      inheritedProbes: this.inheritedProbes,
      ...(network
        ? {
            podNetwork: async (namespace: string) => {
              await network.prepareJoin();
              return network.podSettings(namespace);
            },
            drain: (podId: string, maxMs: number) => network.drain(podId, maxMs),
          }
        : {}),
    });
    this.heartbeat = nodeHeartbeat({
      cp,
      intervalMs: opts.intervals.heartbeatMs,
      credential: opts.credential,
      agentVersion: opts.agentVersion,
      onReply: (r) => {
        opts.onAgentAnnounced?.(r.agent);
        opts.onRegistry?.(r.registry?.host);
        if (r.leave) opts.onLeave();
      },
      onError: (e, n) => this.failed("heartbeat", e, n),
    });
    this.watch = new AssignmentWatch({
      waitMs: opts.intervals.watchWaitMs,
      poll: (version, waitMs, signal) => cp.watch(opts.credential(), { version, waitMs }, signal),
      onReply: (r) => {
        logger.debug({ version: r.version, pods: r.pods.length }, "assignments pushed");
        if (r.leave) opts.onLeave();
        else this.supervisor.setAssignments(r.pods);
      },
      onError: (e, n) => this.failed("watch", e, n),
    });
    this.streams = new StreamServer({
      runtime: deps.runtime,
      controlPlane: cp,
      credential: opts.credential,
      identity: opts.identity,
      history,
      assignment: (podId) => this.supervisor.assignment(podId),
      logger,
    });
    this.streamPoll = new StreamPoll({
      waitMs: opts.intervals.watchWaitMs,
      poll: (waitMs, signal) => cp.streams(opts.credential(), { waitMs }, signal),
      onRequest: (r) => this.streams.handle(r),
      onError: (e, n) => this.failed("stream poll", e, n),
    });
    this.sampler = new MetricsSampler({
      runtime: deps.runtime,
      nodeId: opts.identity.nodeId,
      host: deps.hostCounters ?? (() => readHostCounters()),
      restarts: () => new Map(this.supervisor.report().map((r) => [r.podId, r.restarts])),
      send: (batch) => cp.metrics(opts.credential(), batch),
      now: Date.now,
      logger,
    });
    this.reporter = new StatusReporter({
      intervalMs: opts.intervals.fullSyncMs,
      unchangedIntervalMs: opts.intervals.unchangedSyncMs,
      build: async () => {
        const events = this.supervisor.takeEvents();
        const pods = this.supervisor.report();
        this.network?.noteLocal(pods);
        return {
          pods,
          ...(events.length > 0 ? { events } : {}),
          ...(this.reserved ? { reservedHostPorts: this.reserved } : {}),
        };
      },
      send: async (body) => {
        const started = Date.now();
        try {
          const reply = await cp.sync(opts.credential(), body);
          logger.debug(
            { pods: body.pods.length, events: body.events?.length ?? 0, ms: Date.now() - started },
            "status reported",
          );
          return reply;
        } catch (error) {
          // Events the control plane did not get go in the next report.
          if (body.events) this.supervisor.restoreEvents(body.events);
          throw error;
        }
      },
      onReply: (r) => {
        if (r.credential) void opts.saveCredential(r.credential.credential, r.credential.expiresAt);
        // The watch is the fresher source while it works; this is the net under it.
        if (r.leave) opts.onLeave();
        else if (!this.watch.healthy) this.supervisor.setAssignments(r.pods);
      },
      onError: (e, n) => this.failed("status report", e, n),
    });
  }

  async start(): Promise<void> {
    this.heartbeat.start();
    // Before any pod starts: pods join the cluster's network, never the engine's default one.
    await this.network?.start();
    const scanning = this.opts.scanHostPorts !== false;
    if (scanning) await this.scanPorts();
    if (this.opts.probeStatesFile)
      for (const [id, s] of await takeProbeStates(this.opts.probeStatesFile)) this.inheritedProbes.set(id, s);
    await this.supervisor.observe().catch(this.warned("could not list containers"));
    // The first report waits (briefly) for the assignments: a restarted agent's pods reported before
    // it knows them would read as not ready, and leave their Services, until the next report.
    this.watch.start();
    await firstOf(this.supervisor.assigned, FIRST_ASSIGNMENTS_WAIT_MS);
    await this.reporter.start();
    this.streamPoll.start();
    this.every(this.opts.intervals.observeMs, () => this.supervisor.observe(), "looking at containers");
    this.every(
      this.opts.intervals.storageMs,
      () => enforceEphemeralStorage(this.deps.runtime, this.supervisor, this.opts.identity.nodeId),
      "measuring ephemeral storage",
    );
    if (scanning)
      this.every(this.opts.intervals.portScanMs, () => this.scanPorts(), "looking for host ports in use");
    // The first round only takes the counters' baselines; samples follow from the second.
    await this.sampler.sample().catch(this.warned("could not sample metrics"));
    this.every(this.opts.intervals.metricsMs, () => this.sampler.tick(), "sampling metrics");
  }

  /** Stops everything but the pods, which keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([
      this.watch.stop(),
      this.reporter.stop(),
      this.heartbeat.stop(),
      this.streamPoll.stop(),
    ]);
    await this.streams.stop();
    await this.supervisor.stop();
    await this.network?.stop();
    this.deps.controlPlane.close();
    if (this.opts.probeStatesFile)
      await saveProbeStates(this.opts.probeStatesFile, this.supervisor.probeStates()).catch(
        this.warned("could not hand probe results over"),
      );
  }

  /** Stops every pod, tells the control plane the node left (if it can), and stops. */
  async leave(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([this.watch.stop(), this.reporter.stop(), this.streamPoll.stop()]);
    await this.streams.stop();
    this.deps.logger.info("the control plane asked this node to leave: stopping its pods");
    await this.supervisor.removeAll();
    await this.network?.leave();
    try {
      await this.deps.controlPlane.sync(this.opts.credential(), { pods: [], left: true });
    } catch (error) {
      this.deps.logger.warn(
        { err: (error as Error).message },
        "could not confirm leaving; the control plane releases the node itself",
      );
    }
    await this.heartbeat.stop();
    await this.supervisor.stop();
    this.deps.controlPlane.close();
  }

  status() {
    return {
      lastHeartbeatAt: this.heartbeat.lastOkAt,
      heartbeatFailures: this.heartbeat.failures,
      lastSyncAt: this.reporter.lastOkAt,
      syncFailures: this.reporter.failures,
      watching: this.watch.healthy,
      pods: this.supervisor.running,
      reservedHostPorts: this.reserved ?? [],
      streams: this.streams.active,
      tunnel: this.network?.tunnel ? { ...this.network.tunnel.stats } : null,
    };
  }

  /** A `catch` that logs the failure as a warning saying `what`. */
  private warned(what: string): (error: unknown) => void {
    return (error) => this.deps.logger.warn({ err: (error as Error).message }, what);
  }

  /** Runs `fn` every `ms` (measured from the end of the previous run) until the session stops. */
  private every(ms: number, fn: () => Promise<unknown>, what: string): void {
    const loop = () => {
      if (this.stopped) return;
      const t = setTimeout(() => {
        this.timers.delete(t);
        fn()
          .catch(this.warned(`${what} failed`))
          .finally(loop);
      }, ms);
      this.timers.add(t);
    };
    loop();
  }

  private async scanPorts(): Promise<void> {
    try {
      const found = await findReservedHostPorts(
        this.deps.runtime,
        this.opts.identity.nodeId,
        this.opts.portRange,
      );
      const changed = JSON.stringify(found) !== JSON.stringify(this.reserved);
      this.reserved = found;
      if (changed) {
        if (found.length > 0)
          this.deps.logger.warn({ ports: found }, "host ports of the node's range are in use outside Berth");
        this.reporter.poke();
      }
    } catch (error) {
      this.deps.logger.warn({ err: (error as Error).message }, "could not look for host ports in use");
    }
  }

  private failed(what: string, error: unknown, failures: number): void {
    if (this.stopped) return;
    if (error instanceof ApiError && error.status === 401) {
      this.opts.onUnauthorized(error);
      return;
    }
    // The control plane is unreachable or refusing: pods keep running as they were told to.
    if (failures === 1 || failures % 10 === 0)
      this.deps.logger.warn({ err: (error as Error).message, failures }, `${what} failed; pods keep running`);
  }
}
