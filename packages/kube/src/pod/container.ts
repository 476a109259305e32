import { text } from "@berth/protocol";
import { z } from "zod";
import { dnsLabelName } from "../meta";
import { envFromInputSchema, envVarInputSchema } from "./env";
import { handlerInputSchema, probeInputSchema } from "./probe";
import { resourcesSchema } from "./resources";
import { containerSecurityInputSchema } from "./security-context";
import { volumeMountInputSchema } from "./volumes";

/** Kubernetes' IANA_SVC_NAME: a named container port, or a Service's named `targetPort`. */
export const portName = z
  .string()
  .min(1)
  .max(15)
  .regex(
    /^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    "must be an IANA service name (lower case, a letter, at most 15)",
  );

const ignored = z.unknown().optional();

/** One container of a pod (`containers[]` and `initContainers[]`), with Kubernetes' field names. */
export const containerInputSchema = z
  .object({
    name: dnsLabelName,
    image: z.string().min(1).max(512),
    imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
    command: z.array(text(4096)).max(64).optional(),
    args: z.array(text(4096)).max(256).optional(),
    workingDir: text(4096).optional(),
    env: z.array(envVarInputSchema).max(256).optional(),
    envFrom: z.array(envFromInputSchema).max(32).optional(),
    ports: z
      .array(
        z
          .object({
            containerPort: z.number().int().min(1).max(65535),
            protocol: z.enum(["TCP", "UDP"]).optional(),
            name: portName.optional(),
            hostPort: z
              .never({ error: "hostPort is not allowed; Berth publishes container ports itself" })
              .optional(),
            hostIP: z.never({ error: "hostIP is not allowed" }).optional(),
          })
          .strict(),
      )
      .max(16)
      .optional(),
    resources: resourcesSchema.optional(),
    volumeMounts: z.array(volumeMountInputSchema).max(64).optional(),
    livenessProbe: probeInputSchema.optional(),
    readinessProbe: probeInputSchema.optional(),
    startupProbe: probeInputSchema.optional(),
    lifecycle: z
      .object({ postStart: handlerInputSchema.optional(), preStop: handlerInputSchema.optional() })
      .strict()
      .optional(),
    securityContext: containerSecurityInputSchema.optional(),
    stdin: z.boolean().optional(),
    stdinOnce: z.boolean().optional(),
    tty: z.boolean().optional(),
    // What the node writes on termination; Berth reports exit codes and reasons itself.
    terminationMessagePath: ignored,
    terminationMessagePolicy: z.enum(["File", "FallbackToLogsOnError"]).optional(),
    restartPolicy: z.enum(["Always"]).optional(),
    volumeDevices: z.never({ error: "volumeDevices are not allowed (Pod Security: restricted)" }).optional(),
    resizePolicy: ignored,
  })
  .strict();
export type ContainerInput = z.infer<typeof containerInputSchema>;
