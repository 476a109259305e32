import type { Logger } from "@berth/core";
import { type Assignment, CONTAINER_LABELS, type StreamEnd, type StreamRequest } from "@berth/protocol";
import type { ControlPlane } from "../api";
import type { NodeIdentity } from "../pod-spec";
import type { ContainerRuntime } from "../runtime";
import { connectStream, type StreamConnection } from "./connection";
import { runExec } from "./exec";
import { LogRefusal, planLogs, sendLogs } from "./logs";
import type { RunHistory } from "./runs";

export interface StreamServerOptions {
  runtime: ContainerRuntime;
  controlPlane: ControlPlane;
  credential: () => string;
  identity: NodeIdentity;
  history: RunHistory;
  /** The pod as assigned to this node; a stream of any other pod is refused. */
  assignment: (podId: string) => Assignment | undefined;
  logger: Logger;
  /** Streams served at once; more are refused (`Busy`) rather than queued. Default 32. */
  maxStreams?: number;
}

/**
 * Serves the log and exec streams the control plane asks of this node: for each, dials a
 * WebSocket to the control plane (the agent only ever dials out) and runs the stream over it.
 * The agent checks every request against its own assignments: a pod not assigned here, or a
 * container the pod does not have, is refused.
 */
export class StreamServer {
  private readonly open = new Set<StreamConnection>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly opts: StreamServerOptions) {}

  get active(): number {
    return this.running.size;
  }

  handle(request: StreamRequest): void {
    if (this.stopped || Date.parse(request.expiresAt) < Date.now()) return;
    const work = this.serve(request, this.running.size >= (this.opts.maxStreams ?? 32))
      .catch((error: unknown) =>
        this.opts.logger.warn({ streamId: request.streamId, err: (error as Error).message }, "stream failed"),
      )
      .finally(() => this.running.delete(work));
    this.running.add(work);
  }

  /** Ends every stream (their clients see the end) and settles when they are gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      [...this.open].map((c) => c.end({ ok: false, reason: "Gone", message: "the node agent is stopping" })),
    );
    await Promise.all(this.running);
  }

  private async serve(request: StreamRequest, busy: boolean): Promise<void> {
    const { logger } = this.opts;
    const conn = await connectStream(
      this.opts.controlPlane.streamUrl(request.streamId),
      this.opts.credential(),
    );
    this.open.add(conn);
    const started = Date.now();
    let end: StreamEnd;
    try {
      end = busy
        ? { ok: false, reason: "Busy", message: "the node serves as many streams as it can; retry shortly" }
        : await this.run(request, conn);
    } catch (error) {
      logger.warn({ streamId: request.streamId, err: (error as Error).message }, "stream failed");
      end = { ok: false, reason: "Failed", message: "the node could not read from the container engine" };
    } finally {
      this.open.delete(conn);
    }
    await conn.end(end);
    logger.debug(
      { streamId: request.streamId, kind: request.kind, podId: request.podId, ms: Date.now() - started, end },
      "stream done",
    );
  }

  private async run(request: StreamRequest, conn: StreamConnection): Promise<StreamEnd> {
    const a = this.opts.assignment(request.podId);
    const known = a ? [...a.containers, ...(a.initContainers ?? [])].map((c) => c.name) : [];
    if (!a || !known.includes(request.container))
      return {
        ok: false,
        reason: "NotFound",
        message: `pod ${request.podId} has no container "${request.container}" on this node`,
      };
    const names = { pod: a.name, container: request.container };
    const candidates = await this.opts.runtime.list({
      [CONTAINER_LABELS.node]: this.opts.identity.nodeId,
      [CONTAINER_LABELS.pod]: request.podId,
      [CONTAINER_LABELS.container]: request.container,
    });
    if (request.kind === "logs") {
      try {
        const plan = planLogs(candidates, this.opts.history, request.logs, names);
        return await sendLogs(this.opts.runtime, plan, request.logs.limitBytes, conn);
      } catch (error) {
        if (error instanceof LogRefusal) return { ok: false, reason: error.reason, message: error.message };
        throw error;
      }
    }
    const running = candidates.find((c) => c.state === "running");
    if (!running)
      return {
        ok: false,
        reason: "ContainerNotRunning",
        message: `container "${names.container}" in pod "${names.pod}" is not running`,
      };
    return runExec(this.opts.runtime, running.id, request.exec, conn, names);
  }
}
