import { z } from "zod";
import { containerTemplateSchema } from "./container";
import { objectId, text } from "./strings";
import { volumeSchema } from "./volumes";

/** What the agent says a pod is doing. */
export const POD_STATES = ["creating", "running", "exited", "failed", "gone"] as const;
export type PodState = (typeof POD_STATES)[number];

/**
 * Why a pod is not running, in a closed vocabulary (Kubernetes' names). Messages that go with
 * them are written by the agent from fixed phrases; a runtime's own error text stays on the node.
 */
export const POD_REASONS = [
  "ContainerCreating",
  "ErrImagePull",
  "ImagePullBackOff",
  "CreateContainerError",
  "CreateContainerConfigError",
  "RunContainerError",
  "CrashLoopBackOff",
  "Evicted",
  "PodInitializing",
  "Init:Error",
  "Init:CrashLoopBackOff",
  "DeadlineExceeded",
  /** The image is absent and `imagePullPolicy: Never` forbids pulling it. */
  "ErrImageNeverPull",
  /** The container's postStart hook failed: it was killed, and restarts per the pod's policy. */
  "PostStartHookError",
  /** An init container's waiting or terminated reason, as kubectl shows it (`Init:` + the reason). */
  "Init:ErrImagePull",
  "Init:ImagePullBackOff",
  "Init:ErrImageNeverPull",
  "Init:CreateContainerConfigError",
  "Init:CreateContainerError",
  "Init:RunContainerError",
  "Init:OOMKilled",
  /** A finished pod, as kubectl shows it: every container exited 0, or one did not, or was OOM-killed. */
  "Completed",
  "Error",
  "OOMKilled",
] as const;
export type PodReason = (typeof POD_REASONS)[number];

/** Why a container's last run ended (Kubernetes' `terminated.reason`). */
export const TERMINATION_REASONS = ["Completed", "Error", "OOMKilled", "ContainerCannotRun"] as const;

const terminatedSchema = z
  .object({
    exitCode: z.number().int().min(-1).max(255),
    /** The signal that ended it, when a signal did (137 = 128 + SIGKILL). */
    signal: z.number().int().min(1).max(64).optional(),
    /** The engine's id of the container instance (`docker://<id>`), as Kubernetes reports it. */
    containerID: text(128).optional(),
    reason: z.enum(TERMINATION_REASONS),
    startedAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .strict();

/** One container's state in Kubernetes' shape (`status.containerStatuses[]`). */
export const containerStatusSchema = z
  .object({
    name: text(63, 1),
    ready: z.boolean(),
    started: z.boolean(),
    restartCount: z.number().int().min(0).max(1_000_000),
    /** Exactly one of waiting / running / terminated, as Kubernetes reports it. */
    state: z
      .object({
        waiting: z
          .object({ reason: text(64), message: text(1024).optional() })
          .strict()
          .optional(),
        running: z.object({ startedAt: z.iso.datetime().nullable() }).strict().optional(),
        terminated: terminatedSchema.optional(),
      })
      .strict(),
    lastState: z.object({ terminated: terminatedSchema.optional() }).strict().default({}),
    /** The image actually running, by digest when the engine knows it. */
    imageID: text(512).optional(),
    /** The image as the pod names it. */
    image: text(512).optional(),
    /** The engine's id of the current instance (`docker://<id>`). */
    containerID: text(128).optional(),
  })
  .strict();
export type ContainerStatus = z.output<typeof containerStatusSchema>;

/** Something the node saw happen to a pod, for the pod's events (Pulling, Started, Unhealthy, …). */
export const POD_EVENT_REASONS = [
  "Pulling",
  "Pulled",
  "Created",
  "Started",
  "Killing",
  "Unhealthy",
  "BackOff",
  "Failed",
  "Evicted",
  "Completed",
  "ErrImageNeverPull",
  "FailedPostStartHook",
  "FailedPreStopHook",
  "FailedMount",
  /** A PersistentVolumeClaim's disk mounted for the pod (formatted the first time). */
  "SuccessfulMountVolume",
  "ProbeWarning",
  /** The pod's sandbox (its network namespace) died: its containers restart in a new one. */
  "SandboxChanged",
  "FailedCreatePodSandBox",
] as const;
export const podEventSchema = z
  .object({
    podId: objectId,
    type: z.enum(["Normal", "Warning"]),
    reason: z.enum(POD_EVENT_REASONS),
    message: text(1024),
    /** When it happened on the node (events are batched into the next report). */
    at: z.iso.datetime(),
  })
  .strict();
export type PodEvent = z.output<typeof podEventSchema>;

export const podReportSchema = z
  .object({
    podId: objectId,
    state: z.enum(POD_STATES),
    restarts: z.number().int().min(0).max(1_000_000),
    ready: z.boolean(),
    /** Per container, in Kubernetes' shape; the pod-level fields above summarise them. */
    containers: z.array(containerStatusSchema).max(64).optional(),
    initContainers: z.array(containerStatusSchema).max(64).optional(),
    reason: z.enum(POD_REASONS).optional(),
    message: text(1024).optional(),
    /**
     * Kubernetes' pod phase as the node computes it from its containers and the restart policy
     * (kubelet's rules): Succeeded or Failed once every container has ended for good.
     */
    phase: z.enum(["Pending", "Running", "Succeeded", "Failed"]).optional(),
    /** The pod's address in its cluster's network (Kubernetes' `status.podIP`), once it has one. */
    podIP: z.ipv4().optional(),
  })
  .strict();
export type PodReport = z.infer<typeof podReportSchema>;

/** What should run on a node: every pod bound to it, to run or to stop. */
export const assignmentSchema = z.object({
  podId: z.string(),
  name: z.string(),
  namespace: z.string(),
  /** The pod's `spec.hostname`, when it names one: its containers' hostname (else the pod's name). */
  hostname: z.string().optional(),
  action: z.enum(["run", "stop"]),
  hostPorts: z.array(z.number().int()),
  containers: z.array(containerTemplateSchema),
  /** Run in order, each to success, before the containers start. */
  initContainers: z.array(containerTemplateSchema).default([]),
  volumes: z.array(volumeSchema).default([]),
  /** Kubernetes' pod restart policy: what the agent does when a container exits. */
  restartPolicy: z.enum(["Always", "OnFailure", "Never"]).default("Always"),
  /** SIGTERM, then SIGKILL this many seconds later (after `preStop`). */
  terminationGracePeriodSeconds: z.number().int().min(0).default(30),
  /**
   * The pod has finished (phase Succeeded or Failed): the node starts and restarts nothing, stops
   * what still runs, and keeps the exited containers (for their logs) until the pod is deleted.
   */
  terminal: z.boolean().default(false),
});
export type Assignment = z.output<typeof assignmentSchema>;
export type AssignmentInput = z.input<typeof assignmentSchema>;
