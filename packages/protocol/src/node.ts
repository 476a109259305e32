import { z } from "zod";
import { AGENT_VERSION_PATTERN } from "./agent-version";
import { extendedResourceMap, labelMap, labelValue } from "./labels";
import { assignmentSchema, podEventSchema, podReportSchema } from "./pods";
import { dnsLabel, text } from "./strings";

const port = z.number().int().min(1024).max(65535);

/** An agent's version (see agent-version.ts): `0.1.0+<12 hex>` for a bundle, `0.1.0` from source. */
const agentVersion = text(64).regex(AGENT_VERSION_PATTERN, "must be a version: MAJOR.MINOR.PATCH[+BUILD]");

/** `POST /v1/nodes/join`: a bootstrap token for a node credential. */
export const joinRequestSchema = z
  .object({
    joinToken: z
      .string()
      .min(10)
      .max(200)
      .regex(/^[A-Za-z0-9_-]+$/, "must be a join token"),
    name: dnsLabel,
    capacity: z
      .object({
        cpuMillis: z.number().int().min(100).max(1_024_000),
        memoryBytes: z
          .number()
          .int()
          .min(64 * 1024 * 1024)
          .max(2 ** 44),
        pods: z.number().int().min(1).max(1000),
        /**
         * Extended resources the node offers (its devices, as kube's device plugins advertise them).
         * A node of a machine Berth runs offers what its instance type has instead.
         */
        extended: extendedResourceMap.optional(),
      })
      .strict(),
    portRange: z
      .object({ min: port, max: port })
      .strict()
      .refine((r) => r.max >= r.min, "max must be at least min"),
    address: text(255, 1),
    labels: labelMap.optional(),
    /**
     * The node's `topology.kubernetes.io/zone` where nothing else says (a byo pool without a zone,
     * as a kubelet sets its own zone label). A machine's zone, or its pool's, wins.
     */
    zone: labelValue.min(1).optional(),
    agentVersion: agentVersion.optional(),
  })
  .strict();
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const joinReplySchema = z.object({
  nodeId: z.string(),
  clusterId: z.string(),
  credential: z.string(),
  expiresAt: z.string(),
  heartbeatIntervalMs: z.number().int().positive(),
});
export type JoinReply = z.infer<typeof joinReplySchema>;

/**
 * `POST /v1/nodes/heartbeat`: renews the node's lease. An agent names its version once the control
 * plane has shown it knows the field (its reply announced an agent), so that a restarted agent's
 * new version is recorded without joining again; a control plane older than the field refuses it.
 */
export const heartbeatRequestSchema = z.object({ agentVersion: agentVersion.optional() }).strict();
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>;

/**
 * The agent this control plane serves, announced in every heartbeat reply once its bundle is built.
 * `url` is relative to the control plane's address (the agent's `--server`), as the installer's
 * download is; an agent running that bundle of another version replaces itself with it.
 */
export const agentAnnouncementSchema = z.object({
  version: text(64, 1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a SHA-256 in hex"),
  url: text(512, 1),
});
export type AgentAnnouncement = z.infer<typeof agentAnnouncementSchema>;

export const heartbeatReplySchema = z.object({
  nodeId: z.string(),
  /** The node should stop its pods and leave (it is being removed, or its cluster deleted). */
  leave: z.boolean(),
  heartbeatIntervalMs: z.number().int().positive(),
  /** Absent from older control planes, and until the bundle is built: agents parse either. */
  agent: agentAnnouncementSchema.optional(),
  /**
   * Berth's image registry (`host[:port]` as image names give it): the node pulls from it with its
   * own credential, and offers that credential to no other registry. Absent: none is configured.
   */
  registry: z.object({ host: text(255, 1) }).optional(),
});
export type HeartbeatReply = z.infer<typeof heartbeatReplySchema>;

/**
 * `POST /v1/nodes/sync`: the agent's status report (pods, host ports held by others) and the
 * control plane's answer with the current assignments and, when due, a renewed credential.
 */
export const syncRequestSchema = z
  .object({
    pods: z.array(podReportSchema).max(1000),
    /** What happened to pods since the last report (at most 500; older ones are dropped). */
    events: z.array(podEventSchema).max(500).optional(),
    /** The agent stopped its pods and leaves the cluster. */
    left: z.boolean().optional(),
    /** Host ports of the node's range held by something other than this node's pods. */
    reservedHostPorts: z.array(z.number().int().min(1).max(65535)).max(65535).optional(),
  })
  .strict();
export type SyncRequest = z.infer<typeof syncRequestSchema>;

export const syncReplySchema = z.object({
  nodeId: z.string(),
  leave: z.boolean(),
  heartbeatIntervalMs: z.number().int().positive(),
  pods: z.array(assignmentSchema),
  credential: z.object({ credential: z.string(), expiresAt: z.string() }).nullable(),
});
export type SyncReply = z.output<typeof syncReplySchema>;

/**
 * `GET /v1/nodes/watch?version=&waitMs=`: the long poll that carries assignments the moment they
 * are committed. Answers at once when the assignments differ from `version`, else when they
 * change, else after `waitMs` with the same version.
 */
export const watchRequestSchema = z
  .object({
    version: z
      .string()
      .max(128)
      .regex(/^[A-Za-z0-9_-]*$/, "must be a version")
      .optional(),
    waitMs: z.coerce.number().int().min(0).max(60_000).optional(),
  })
  .strict();
export type WatchRequest = z.infer<typeof watchRequestSchema>;

export const watchReplySchema = z.object({
  /** Changes whenever the assignments (or `leave`) do. */
  version: z.string(),
  leave: z.boolean(),
  pods: z.array(assignmentSchema),
});
export type WatchReply = z.output<typeof watchReplySchema>;
