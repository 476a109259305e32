import { text } from "@berth/protocol";
import { z } from "zod";

const id = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);
const seccomp = z
  .object({
    type: z.enum(["RuntimeDefault", "Localhost", "Unconfined"]),
    localhostProfile: text(4096).optional(),
  })
  .strict();

/** A container's `securityContext`, with every Kubernetes field; pod-security.ts decides what is allowed. */
export const containerSecurityInputSchema = z
  .object({
    runAsUser: id.optional(),
    runAsGroup: id.optional(),
    runAsNonRoot: z.boolean().optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
    privileged: z.boolean().optional(),
    capabilities: z
      .object({ add: z.array(text(64, 1)).max(64).optional(), drop: z.array(text(64, 1)).max(64).optional() })
      .strict()
      .optional(),
    seccompProfile: seccomp.optional(),
    procMount: z.enum(["Default", "Unmasked"]).optional(),
    seLinuxOptions: z.record(z.string(), text(256)).optional(),
    appArmorProfile: z
      .object({ type: text(32), localhostProfile: text(256).optional() })
      .strict()
      .optional(),
  })
  .strict();
export type ContainerSecurityInput = z.infer<typeof containerSecurityInputSchema>;

/** The pod's `securityContext`. */
export const podSecurityInputSchema = z
  .object({
    runAsUser: id.optional(),
    runAsGroup: id.optional(),
    runAsNonRoot: z.boolean().optional(),
    fsGroup: id.optional(),
    fsGroupChangePolicy: z.enum(["Always", "OnRootMismatch"]).optional(),
    supplementalGroups: z.array(id).max(32).optional(),
    seccompProfile: seccomp.optional(),
    sysctls: z
      .array(z.object({ name: text(253, 1), value: text(253) }).strict())
      .max(16)
      .optional(),
    seLinuxOptions: z.record(z.string(), text(256)).optional(),
    appArmorProfile: z
      .object({ type: text(32), localhostProfile: text(256).optional() })
      .strict()
      .optional(),
  })
  .strict();
export type PodSecurityInput = z.infer<typeof podSecurityInputSchema>;
