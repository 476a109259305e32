import { z } from "zod";

/**
 * What a container may do, after admission (Pod Security "restricted" by default): never
 * privileged, no privilege escalation, every capability dropped but those added here (at most
 * NET_BIND_SERVICE), seccomp RuntimeDefault. The agent applies it as given.
 */
export const containerSecuritySchema = z.object({
  runAsUser: z.number().int().min(0).optional(),
  runAsGroup: z.number().int().min(0).optional(),
  runAsNonRoot: z.boolean().default(false),
  readOnlyRootFilesystem: z.boolean().default(false),
  capabilitiesAdd: z.array(z.string()).default([]),
  /** Supplementary group owning the pod's volumes (`fsGroup`). */
  fsGroup: z.number().int().min(0).optional(),
});
export type ContainerSecurity = z.output<typeof containerSecuritySchema>;
