import { z } from "zod";
import { containerTemplateSchema } from "./container";
import { objectId, text } from "./strings";

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
  "RunContainerError",
  "CrashLoopBackOff",
  "Evicted",
] as const;
export type PodReason = (typeof POD_REASONS)[number];

export const podReportSchema = z
  .object({
    podId: objectId,
    state: z.enum(POD_STATES),
    restarts: z.number().int().min(0).max(1_000_000),
    ready: z.boolean(),
    reason: z.enum(POD_REASONS).optional(),
    message: text(1024).optional(),
  })
  .strict();
export type PodReport = z.infer<typeof podReportSchema>;

/** What should run on a node: every pod bound to it, to run or to stop. */
export const assignmentSchema = z.object({
  podId: z.string(),
  name: z.string(),
  namespace: z.string(),
  action: z.enum(["run", "stop"]),
  hostPorts: z.array(z.number().int()),
  containers: z.array(containerTemplateSchema),
});
export type Assignment = z.output<typeof assignmentSchema>;
export type AssignmentInput = z.input<typeof assignmentSchema>;
