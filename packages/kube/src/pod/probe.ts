import { text } from "@berth/protocol";
import { z } from "zod";

/** A port by number, or by the name of one of the container's ports (IANA_SVC_NAME). */
export const intOrPortName = z.union([
  z.number().int().min(1).max(65535),
  z
    .string()
    .min(1)
    .max(15)
    .regex(/^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, "must be a port number or a port name"),
]);

const httpGet = z
  .object({
    path: text(2048).optional(),
    port: intOrPortName,
    host: text(253).optional(),
    scheme: z.enum(["HTTP", "HTTPS"]).optional(),
    httpHeaders: z
      .array(z.object({ name: text(256, 1), value: text(4096) }).strict())
      .max(32)
      .optional(),
  })
  .strict();
const exec = z.object({ command: z.array(text(4096)).min(1).max(64) }).strict();
const tcpSocket = z.object({ port: intOrPortName, host: text(253).optional() }).strict();

const seconds = (max: number) => z.number().int().min(0).max(max);

/** `livenessProbe` / `readinessProbe` / `startupProbe`, with Kubernetes' fields. */
export const probeInputSchema = z
  .object({
    exec: exec.optional(),
    httpGet: httpGet.optional(),
    tcpSocket: tcpSocket.optional(),
    grpc: z.never({ error: "grpc probes are not supported; use httpGet, tcpSocket or exec" }).optional(),
    initialDelaySeconds: seconds(3600).optional(),
    periodSeconds: z.number().int().min(1).max(3600).optional(),
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
    successThreshold: z.number().int().min(1).max(100).optional(),
    failureThreshold: z.number().int().min(1).max(100).optional(),
    terminationGracePeriodSeconds: z.number().int().min(1).max(86_400).optional(),
  })
  .strict()
  .refine(
    (p) => [p.exec, p.httpGet, p.tcpSocket].filter((h) => h !== undefined).length === 1,
    "a probe needs exactly one of exec, httpGet or tcpSocket",
  );
export type ProbeInput = z.infer<typeof probeInputSchema>;

/** A lifecycle hook (`postStart`, `preStop`): exec, httpGet, tcpSocket (deprecated) or sleep. */
export const handlerInputSchema = z
  .object({
    exec: exec.optional(),
    httpGet: httpGet.optional(),
    tcpSocket: tcpSocket.optional(),
    sleep: z
      .object({ seconds: seconds(3600) })
      .strict()
      .optional(),
  })
  .strict()
  .refine(
    (h) => [h.exec, h.httpGet, h.tcpSocket, h.sleep].filter((x) => x !== undefined).length === 1,
    "a lifecycle handler needs exactly one of exec, httpGet, tcpSocket or sleep",
  );
export type HandlerInput = z.infer<typeof handlerInputSchema>;
