import { text } from "@berth/protocol";
import { z } from "zod";
import { dnsSubdomainName } from "../meta";

/** Environment variable names: C identifiers and more (Kubernetes accepts any printable but '='). */
const envName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, "must be an environment variable name");

const keySelector = z
  .object({
    name: dnsSubdomainName,
    key: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[-._a-zA-Z0-9]+$/, "must be a key"),
    optional: z.boolean().optional(),
  })
  .strict();

/** `fieldRef.fieldPath` values the node can answer. */
export const FIELD_PATHS = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.podIP",
  "status.hostIP",
] as const;

export const envVarInputSchema = z
  .object({
    name: envName,
    value: text(32_768).optional(),
    valueFrom: z
      .object({
        configMapKeyRef: keySelector.optional(),
        secretKeyRef: keySelector.optional(),
        fieldRef: z
          .object({
            apiVersion: z.literal("v1").optional(),
            fieldPath: z.union([
              z.enum(FIELD_PATHS),
              z
                .string()
                .regex(/^metadata\.(labels|annotations)\['[^']{1,317}'\]$/, "must be a supported fieldPath"),
            ]),
          })
          .strict()
          .optional(),
        resourceFieldRef: z
          .object({
            containerName: text(63).optional(),
            resource: z.enum(["limits.cpu", "limits.memory", "requests.cpu", "requests.memory"]),
            divisor: z.union([z.string().max(32), z.number()]).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine(
        (v) => Object.values(v).filter((x) => x !== undefined).length === 1,
        "valueFrom needs exactly one of configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef",
      )
      .optional(),
  })
  .strict()
  .refine((e) => !(e.value !== undefined && e.valueFrom !== undefined), "give value or valueFrom, not both");
export type EnvVarInput = z.infer<typeof envVarInputSchema>;

const sourceRef = z.object({ name: dnsSubdomainName, optional: z.boolean().optional() }).strict();
export const envFromInputSchema = z
  .object({
    prefix: z
      .string()
      .max(253)
      .regex(/^[-._a-zA-Z0-9]*$/, "must be a variable name prefix")
      .optional(),
    configMapRef: sourceRef.optional(),
    secretRef: sourceRef.optional(),
  })
  .strict()
  .refine(
    (e) => (e.configMapRef === undefined) !== (e.secretRef === undefined),
    "envFrom needs exactly one of configMapRef or secretRef",
  );
export type EnvFromInput = z.infer<typeof envFromInputSchema>;
