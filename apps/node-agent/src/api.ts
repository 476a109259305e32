import { z } from "zod";

/**
 * The control plane as the agent sees it: two calls over REST, with every reply validated (the
 * agent trusts nothing it did not check, not even its own control plane).
 */
const containerSchema = z.object({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(z.object({ name: z.string(), value: z.string() })),
  ports: z.array(z.object({ containerPort: z.number().int(), protocol: z.enum(["TCP", "UDP"]) })),
  resources: z.object({ cpuMillis: z.number().int(), memoryBytes: z.number().int() }),
  limits: z.object({ cpuMillis: z.number().int(), memoryBytes: z.number().int() }),
});
export type ContainerTemplate = z.infer<typeof containerSchema>;

const assignmentSchema = z.object({
  podId: z.string(),
  name: z.string(),
  namespace: z.string(),
  action: z.enum(["run", "stop"]),
  hostPorts: z.array(z.number().int()),
  containers: z.array(containerSchema),
});
export type Assignment = z.infer<typeof assignmentSchema>;

const joinReply = z.object({
  nodeId: z.string(),
  clusterId: z.string(),
  credential: z.string(),
  expiresAt: z.string(),
  heartbeatIntervalMs: z.number().int().positive(),
});
export type JoinReply = z.infer<typeof joinReply>;

const syncReply = z.object({
  nodeId: z.string(),
  leave: z.boolean(),
  heartbeatIntervalMs: z.number().int().positive(),
  pods: z.array(assignmentSchema),
  credential: z.object({ credential: z.string(), expiresAt: z.string() }).nullable(),
});
export type SyncReply = z.infer<typeof syncReply>;

export type PodState = "creating" | "running" | "exited" | "failed" | "gone";
export interface PodReport {
  podId: string;
  state: PodState;
  restarts: number;
  ready: boolean;
  message?: string;
}

export interface JoinRequest {
  joinToken: string;
  name: string;
  capacity: { cpuMillis: number; memoryBytes: number; pods: number };
  portRange: { min: number; max: number };
  address: string;
  labels: Record<string, string>;
  agentVersion: string;
}

/** A reply of the control plane that is not a success; `status` 0 means it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface ControlPlane {
  join(req: JoinRequest): Promise<JoinReply>;
  sync(credential: string, body: { pods: PodReport[]; left?: boolean }): Promise<SyncReply>;
}

export function createControlPlane(server: string, timeoutMs = 10_000): ControlPlane {
  async function call<T>(path: string, body: unknown, schema: z.ZodType<T>, token?: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, server), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new ApiError(0, "UNREACHABLE", `cannot reach ${server}: ${(error as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      const parsed = z
        .object({ error: z.object({ code: z.string(), message: z.string() }) })
        .safeParse(JSON.parse(text || "{}"));
      const e = parsed.success ? parsed.data.error : { code: "HTTP_ERROR", message: text.slice(0, 200) };
      throw new ApiError(res.status, e.code, e.message);
    }
    return schema.parse(JSON.parse(text));
  }
  return {
    join: (req) => call("/v1/nodes/join", req, joinReply),
    sync: (credential, body) => call("/v1/nodes/sync", body, syncReply, credential),
  };
}
