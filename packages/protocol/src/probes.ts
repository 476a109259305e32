import { z } from "zod";

/**
 * Health checks and lifecycle hooks as the agent runs them, with Kubernetes' field names and its
 * defaults already applied by the control plane. Named ports are resolved to numbers.
 */
const port = z.number().int().min(1).max(65535);

export const httpGetSchema = z.object({
  path: z.string().default("/"),
  port,
  /** The pod's own address when absent (Kubernetes' default). */
  host: z.string().optional(),
  scheme: z.enum(["HTTP", "HTTPS"]).default("HTTP"),
  httpHeaders: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
});

/** One of `exec`, `httpGet`, `tcpSocket` (probes), or also `sleep` (lifecycle hooks). */
export const handlerSchema = z.object({
  exec: z.object({ command: z.array(z.string()) }).optional(),
  httpGet: httpGetSchema.optional(),
  tcpSocket: z.object({ port, host: z.string().optional() }).optional(),
  sleep: z.object({ seconds: z.number().int().min(0) }).optional(),
});
export type Handler = z.output<typeof handlerSchema>;

export const probeSchema = handlerSchema.extend({
  initialDelaySeconds: z.number().int().min(0).default(0),
  periodSeconds: z.number().int().min(1).default(10),
  timeoutSeconds: z.number().int().min(1).default(1),
  successThreshold: z.number().int().min(1).default(1),
  failureThreshold: z.number().int().min(1).default(3),
  /** Overrides the pod's grace period when this (liveness/startup) probe kills the container. */
  terminationGracePeriodSeconds: z.number().int().min(1).optional(),
});
export type Probe = z.output<typeof probeSchema>;

export const lifecycleSchema = z.object({
  postStart: handlerSchema.optional(),
  preStop: handlerSchema.optional(),
});
export type Lifecycle = z.output<typeof lifecycleSchema>;
