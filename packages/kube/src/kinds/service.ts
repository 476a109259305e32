import { labelMap } from "@berth/protocol";
import { z } from "zod";
import { DNS_LABEL_RE, objectMetaSchema } from "../meta";
import { portName } from "../pod/container";
import { ignored, invalid } from "./common";

/** Kubernetes' default NodePort range (`--service-node-port-range`). */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;
export const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

const portNumber = z.number().int().min(1).max(65535);

const servicePortSchema = z
  .object({
    name: z.string().max(63).regex(DNS_LABEL_RE, "must be a DNS label (RFC 1123)").optional(),
    protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
    appProtocol: z.string().min(1).max(253).optional(),
    port: portNumber,
    targetPort: z.union([portNumber, portName]).optional(),
    nodePort: z.number().int().optional(),
  })
  .strict();

/** v1 Service, as `kubectl create service`/`expose` write it. */
export const serviceSchema = z
  .object({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("Service").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        type: z.enum(SERVICE_TYPES).optional(),
        selector: labelMap.optional(),
        // Empty only for a headless Service (checked in normaliseService, as Kubernetes does).
        ports: z.array(servicePortSchema).max(100).optional(),
        clusterIP: z.string().max(45).optional(),
        clusterIPs: z.array(z.string().max(45)).max(2).optional(),
        sessionAffinity: z.enum(["None", "ClientIP"]).optional(),
        publishNotReadyAddresses: z.boolean().optional(),
        sessionAffinityConfig: z
          .object({
            clientIP: z
              .object({ timeoutSeconds: z.number().int().min(1).max(86_400).optional() })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
        externalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
        internalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
        ipFamilies: z
          .array(z.literal("IPv4", { error: "only IPv4 is served" }))
          .max(1)
          .optional(),
        ipFamilyPolicy: z.literal("SingleStack", { error: "only SingleStack is served" }).optional(),
        allocateLoadBalancerNodePorts: z.boolean().optional(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type ServiceInput = z.infer<typeof serviceSchema>;

/** The protocols a Service port may carry here (SCTP is refused: Berth carries no SCTP). */
export type ServiceProtocol = "TCP" | "UDP";

/** `clusterIP` of a headless Service: no address, not proxied; DNS answers its endpoints' addresses. */
export const HEADLESS = "None";

export interface ServicePortSpec {
  name: string;
  protocol: ServiceProtocol;
  port: number;
  /** A number, or the name of a container port of the selected pods. */
  targetPort: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  type: ServiceType;
  /** Absent: the service selects no pod (Kubernetes: endpoints are managed by hand). */
  selector?: Record<string, string>;
  ports: ServicePortSpec[];
  /** "" until the control plane allocates one from the cluster's service range; `None`: headless. */
  clusterIP: string;
  /** Endpoints include pods that are not ready (DNS of headless services, StatefulSet peers). */
  publishNotReadyAddresses?: boolean;
  sessionAffinity: "None" | "ClientIP";
  /** ClientIP affinity's stickiness (Kubernetes' default 3 hours). */
  sessionAffinityTimeoutSeconds?: number;
  externalTrafficPolicy?: "Cluster" | "Local";
  internalTrafficPolicy: "Cluster" | "Local";
}

/** Kubernetes' DNS-1035 label: a Service's name becomes a DNS name and env var prefix. */
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

type PortInput = NonNullable<ServiceInput["spec"]["ports"]>[number];

function checkPorts(ports: readonly PortInput[], type: ServiceType): void {
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name)
      invalid(`${at}.name`, "Required value: a name is required when there are several ports");
    if (p.name) {
      if (names.has(p.name)) invalid(`${at}.name`, `Duplicate value: ${JSON.stringify(p.name)}`);
      names.add(p.name);
    }
    const protocol = p.protocol ?? "TCP";
    const key = `${protocol}/${p.port}`;
    if (keys.has(key))
      invalid(
        at,
        `Duplicate value: ${JSON.stringify({ port: p.port, protocol })}: port ${p.port}/${protocol} is already used by another port of this service`,
      );
    keys.add(key);
    if (protocol === "SCTP")
      invalid(
        `${at}.protocol`,
        'Unsupported value: "SCTP": supported values: "TCP", "UDP" (Berth carries no SCTP)',
      );
    if (protocol === "UDP" && type === "LoadBalancer")
      invalid(
        `${at}.protocol`,
        'Unsupported value: "UDP": a LoadBalancer Service is served by the platform\'s gateway, which forwards TCP only (use type NodePort for UDP)',
      );
    if (p.nodePort !== undefined) {
      if (type === "ClusterIP")
        invalid(`${at}.nodePort`, "Forbidden: may not be used when `type` is 'ClusterIP'");
      if (p.nodePort < NODE_PORT_RANGE.min || p.nodePort > NODE_PORT_RANGE.max)
        invalid(
          `${at}.nodePort`,
          `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`,
        );
    }
  });
}

/** Admission of a Service (Kubernetes' ValidateService for what Berth serves); the clusterIP is allocated later. */
export function normaliseService(s: ServiceInput, name: string): ServiceSpec {
  if (!DNS_1035.test(name) || name.length > 63)
    invalid(
      "metadata.name",
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
    );
  const spec = s.spec;
  const type = spec.type ?? "ClusterIP";
  const ports = spec.ports ?? [];
  checkPorts(ports, type);
  const clusterIP = spec.clusterIP ?? spec.clusterIPs?.[0] ?? "";
  const headless = clusterIP === HEADLESS;
  if (ports.length === 0 && !headless) invalid("spec.ports", "Required value");
  if (headless && type !== "ClusterIP")
    invalid(
      spec.clusterIP !== undefined ? "spec.clusterIP" : "spec.clusterIPs[0]",
      `Invalid value: "None": may not be set to 'None' for ${type} services`,
    );
  if (clusterIP !== "" && !headless && !IPV4.test(clusterIP))
    invalid("spec.clusterIP", `Invalid value: ${JSON.stringify(clusterIP)}: must be a valid IPv4 address`);
  if (spec.clusterIPs && spec.clusterIPs.length > 0 && spec.clusterIPs[0] !== clusterIP)
    invalid("spec.clusterIPs[0]", "Invalid value: must match `clusterIP` when both are given");
  const affinity = spec.sessionAffinity ?? "None";
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinityConfig && affinity !== "ClientIP")
    invalid("spec.sessionAffinityConfig", "Forbidden: must not be set when `sessionAffinity` is None");
  if (spec.externalTrafficPolicy !== undefined && type === "ClusterIP")
    invalid(
      "spec.externalTrafficPolicy",
      "Invalid value: may only be set for externally-accessible services",
    );
  if (spec.allocateLoadBalancerNodePorts !== undefined && type !== "LoadBalancer")
    invalid(
      "spec.allocateLoadBalancerNodePorts",
      "Forbidden: may only be used when `type` is 'LoadBalancer'",
    );
  return {
    type,
    ...(spec.selector !== undefined ? { selector: spec.selector } : {}),
    ports: ports.map((p) => ({
      name: p.name ?? "",
      protocol: p.protocol === "UDP" ? "UDP" : "TCP",
      port: p.port,
      targetPort: p.targetPort ?? p.port,
      ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
      ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
    })),
    clusterIP,
    ...(spec.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
    sessionAffinity: affinity,
    ...(affinity === "ClientIP" ? { sessionAffinityTimeoutSeconds: timeout ?? 10_800 } : {}),
    ...(type !== "ClusterIP" ? { externalTrafficPolicy: spec.externalTrafficPolicy ?? "Cluster" } : {}),
    internalTrafficPolicy: spec.internalTrafficPolicy ?? "Cluster",
  };
}

/** A Service's `spec` as Kubernetes shows it, defaults visible. */
export function renderServiceSpec(s: ServiceSpec): Record<string, unknown> {
  return {
    type: s.type,
    ...(s.selector !== undefined ? { selector: s.selector } : {}),
    ports: s.ports.map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      protocol: p.protocol,
      ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
      port: p.port,
      targetPort: p.targetPort,
      ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
    })),
    clusterIP: s.clusterIP,
    clusterIPs: s.clusterIP ? [s.clusterIP] : [],
    ...(s.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
    ipFamilies: ["IPv4"],
    ipFamilyPolicy: "SingleStack",
    sessionAffinity: s.sessionAffinity,
    ...(s.sessionAffinityTimeoutSeconds !== undefined
      ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: s.sessionAffinityTimeoutSeconds } } }
      : {}),
    ...(s.externalTrafficPolicy !== undefined ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
    internalTrafficPolicy: s.internalTrafficPolicy,
  };
}
