import { cpus, hostname, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { extendedResourceMap, labelValue } from "@berth/protocol";
import { z } from "zod";

const HELP = `berth node agent: joins a Berth cluster and runs its pods on this host.

usage: npm run node-agent -- --server <URL> --join-token <TOKEN> [options]

  --server URL            control API (env BERTH_SERVER)
  --join-token TOKEN      bootstrap token from POST /v1/clusters/{id}/join-tokens (env BERTH_JOIN_TOKEN);
                          not needed once the node has joined (its identity is kept in --state-dir); a token
                          other than the one it joined with makes it leave its old cluster first
  --name NAME             node name (default: the host name)
  --state-dir DIR         where the node keeps its identity, and its pods' volumes under pods/<pod id>/
                          (env BERTH_STATE_DIR; default: the repository's .data/node-agent/<name>, or
                          /var/lib/berth-agent for the installed agent); the agent runs as root to mount the tmpfs of
                          secret and memory-backed volumes and to read OOM kills from /dev/kmsg
  --cpu MILLIS            CPU to offer, in millicores (default: all cores)
  --memory BYTES          memory to offer (default: 80% of the host's)
  --max-pods N            default 110
  --port-range MIN-MAX    host ports for pods (default 30000-32767)
  --address ADDR          the address users reach pods and NodePort services on (default 127.0.0.1)
  --publish-address ADDR  where pods' host ports are bound on this host, when that differs from --address
                          (env BERTH_PUBLISH_ADDRESS; default --address): a local-vm guest binds 0.0.0.0
                          and is reached through its host's forwarded ports on 127.0.0.1
  --runtime NAME          engine: a Docker-compatible engine at --container-host; native: the agent's own
                          runtime (namespaces, cgroups, unpacked image layers), for hosts without an engine
                          (env BERTH_RUNTIME; default engine). An unavailable runtime is logged; the node
                          still joins and heartbeats, and its pods fail until the runtime is there
                          native's settings, from the environment: BERTH_SHIM_PATH (its built berth-shim),
                          BERTH_NATIVE_ROOT (images and containers; default /var/lib/berth-native),
                          BERTH_REGISTRY_HOST_ALIASES (HOST=ALIAS,…: where a registry or token realm named
                          HOST is reached, e.g. 127.0.0.1=10.0.2.2 in a VM), BERTH_IMAGE_REWRITES
                          (PREFIX=PREFIX,…: images pulled from elsewhere than their name says)
  --zone ZONE             the node's topology.kubernetes.io/zone when its pool names none (env BERTH_NODE_ZONE;
                          a machine Berth runs, or a pool with a zone, sets it instead)
  --extended-resources R  extended resources this host offers, as NAME=COUNT pairs separated by commas, e.g.
                          berth.dev/gpu=2 (env BERTH_EXTENDED_RESOURCES; a machine Berth runs offers what its
                          instance type has instead)
  --metrics-interval MS   how often containers and the node are sampled for metrics, and the samples sent
                          (env BERTH_METRICS_INTERVAL_MS; default 10000)
  --health-port PORT      serve /healthz, /readyz, /metrics here (default: off)
  --container-host URL    container engine API (env CONTAINER_HOST or DOCKER_HOST; default podman's socket)
  --pod-concurrency N     pods started or stopped at once (env BERTH_POD_CONCURRENCY; default 8)
  --pids-limit N          processes each container may have: a fork bomb stops there (env BERTH_PIDS_LIMIT;
                          default 512)
  --user-namespaces MODE  off: containers run as their pod's user, else their image's if it is not root,
                          else uid 65534 (never as root of the host); auto: each container in a user
                          namespace of its own (Podman --userns=auto, needs a 'containers' range in
                          /etc/subuid; Podman 4.3 deadlocks with it under concurrent starts)
                          (env BERTH_USER_NAMESPACES; default off)
  --pod-network MODE      cluster: each pod joins its cluster's network on this host (its own address,
                          isolated from other clusters), with the cluster's services and DNS served by
                          this agent (needs root: it adds service addresses to lo and listens on them);
                          off: the engine's default network, no services (env BERTH_POD_NETWORK; default cluster)
  --network-poll-ms MS    the network view is pushed; after a failed read, the wait before the next
                          (env BERTH_NETWORK_POLL_MS; default 1000)
  --tunnel-port PORT      where this node's mutual-TLS tunnel listens, on --address: the cluster's other nodes
                          reach its pods' service endpoints there (env BERTH_TUNNEL_PORT; default 7443; 0: any
                          free port)
  --dns-upstream ADDR     where the cluster DNS sends names outside the cluster, ip[:port] (env
                          BERTH_DNS_UPSTREAM; default: the first nameserver of /etc/resolv.conf)
  --no-self-update        never replace this agent with the version its control plane serves (env
                          BERTH_SELF_UPDATE=off; default on: an installed agent updates itself and restarts
                          without stopping its pods; an agent run from source never does)
  --channel MODE          on: make the frequent calls (heartbeats, status reports, metrics, long polls)
                          over one WebSocket to the control plane, over HTTP while it cannot be opened;
                          off: one HTTP request each (env BERTH_CHANNEL; default on)
  --hollow N              a test harness, never for real nodes: run N hollow nodes in this process, named
                          <name>-0 … <name>-N-1, each a real agent over a runtime that runs nothing (the join
                          token must admit N nodes) (env BERTH_HOLLOW_NODES; default 0: a real node)
  --hollow-start-delay-ms MS  how long a hollow container takes to start (default 100)
`;

/** `KEY=VALUE,KEY=VALUE` as ordered pairs (an empty text: none). */
function pairs(form: string) {
  return z.string().transform((text, ctx) => {
    const out: [string, string][] = [];
    for (const item of text.split(",").filter((x) => x.trim() !== "")) {
      const at = item.indexOf("=");
      if (at <= 0 || at === item.length - 1) {
        ctx.addIssue({ code: "custom", message: `${item.trim()}: give ${form}` });
        return z.NEVER;
      }
      out.push([item.slice(0, at).trim(), item.slice(at + 1).trim()]);
    }
    return out;
  });
}

const schema = z.object({
  server: z.url(),
  joinToken: z.string().min(10).optional(),
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS label")
    .max(63),
  stateDir: z.string(),
  cpu: z.coerce.number().int().min(100),
  memory: z.coerce
    .number()
    .int()
    .min(64 * 1024 * 1024),
  maxPods: z.coerce.number().int().min(1).max(1000),
  portRange: z
    .string()
    .regex(/^\d+-\d+$/, "MIN-MAX")
    .transform((s) => {
      const [min = 0, max = 0] = s.split("-").map(Number);
      return { min, max };
    })
    .refine((r) => r.min >= 1024 && r.max <= 65535 && r.max >= r.min, "a range within 1024-65535"),
  address: z.string().min(1),
  publishAddress: z.string().min(1),
  runtime: z.enum(["engine", "native"]),
  shimPath: z.string().min(1).optional(),
  nativeRoot: z.string().min(1),
  registryHostAliases: pairs("HOST=ALIAS"),
  imageRewrites: pairs("PREFIX=PREFIX"),
  zone: labelValue.min(1).optional(),
  extendedResources: z
    .string()
    .transform((text, ctx) => {
      const pairs = text.split(",").filter((x) => x.trim() !== "");
      const out: Record<string, number> = {};
      for (const pair of pairs) {
        const [name = "", count = ""] = pair.trim().split("=");
        if (!/^[0-9]+$/.test(count)) {
          ctx.addIssue({ code: "custom", message: `${pair.trim()}: give NAME=COUNT, e.g. berth.dev/gpu=1` });
          return z.NEVER;
        }
        out[name] = Number(count);
      }
      return out;
    })
    .pipe(extendedResourceMap),
  healthPort: z.coerce.number().int().min(0).max(65535).optional(),
  metricsInterval: z.coerce.number().int().min(500).max(600_000),
  containerHost: z.string().min(1),
  podConcurrency: z.coerce.number().int().min(1).max(64),
  pidsLimit: z.coerce.number().int().min(16).max(65_536),
  userNamespaces: z.enum(["auto", "off"]),
  podNetwork: z.enum(["cluster", "off"]),
  networkPollMs: z.coerce.number().int().min(100).max(60_000),
  tunnelPort: z.coerce.number().int().min(0).max(65535),
  dnsUpstream: z
    .string()
    .regex(/^\d+\.\d+\.\d+\.\d+(:\d+)?$/, "an IPv4 address, optionally with :port")
    .transform((s) => {
      const [address = "", port = "53"] = s.split(":");
      return { address, port: Number(port) };
    })
    .optional(),
  selfUpdate: z
    .enum(["on", "off"], { message: "BERTH_SELF_UPDATE is on or off" })
    .transform((v) => v === "on"),
  channel: z.enum(["on", "off"], { message: "BERTH_CHANNEL is on or off" }).transform((v) => v === "on"),
  hollow: z.coerce.number().int().min(0).max(20_000),
  hollowStartDelayMs: z.coerce.number().int().min(0).max(60_000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
});
export type AgentConfig = z.infer<typeof schema>;

/** Flags first, then the environment, then defaults; a bad value stops the agent naming it. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentConfig | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: "string" },
      "join-token": { type: "string" },
      name: { type: "string" },
      "state-dir": { type: "string" },
      cpu: { type: "string" },
      memory: { type: "string" },
      "max-pods": { type: "string" },
      "port-range": { type: "string" },
      address: { type: "string" },
      "publish-address": { type: "string" },
      runtime: { type: "string" },
      zone: { type: "string" },
      "extended-resources": { type: "string" },
      "health-port": { type: "string" },
      "metrics-interval": { type: "string" },
      "container-host": { type: "string" },
      "pod-concurrency": { type: "string" },
      "pids-limit": { type: "string" },
      "user-namespaces": { type: "string" },
      "pod-network": { type: "string" },
      "network-poll-ms": { type: "string" },
      "tunnel-port": { type: "string" },
      "dns-upstream": { type: "string" },
      "no-self-update": { type: "boolean" },
      channel: { type: "string" },
      hollow: { type: "string" },
      "hollow-start-delay-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const name =
    values.name ??
    hostname()
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .slice(0, 63);
  // From the repository (apps/node-agent/src), or installed as one bundled file (its directory).
  const root = resolve(import.meta.dirname, "../../..");
  const fromRepository = import.meta.dirname.endsWith(join("apps", "node-agent", "src"));
  const defaultStateDir = fromRepository ? resolve(root, ".data/node-agent", name) : "/var/lib/berth-agent";
  const parsed = schema.safeParse({
    server: values.server ?? env.BERTH_SERVER,
    joinToken: values["join-token"] ?? env.BERTH_JOIN_TOKEN,
    name,
    stateDir: values["state-dir"] ?? env.BERTH_STATE_DIR ?? defaultStateDir,
    cpu: values.cpu ?? cpus().length * 1000,
    memory: values.memory ?? Math.floor(totalmem() * 0.8),
    maxPods: values["max-pods"] ?? 110,
    portRange: values["port-range"] ?? "30000-32767",
    address: values.address ?? "127.0.0.1",
    publishAddress: values["publish-address"] ?? env.BERTH_PUBLISH_ADDRESS ?? values.address ?? "127.0.0.1",
    runtime: values.runtime ?? env.BERTH_RUNTIME ?? "engine",
    shimPath: env.BERTH_SHIM_PATH || undefined,
    nativeRoot: env.BERTH_NATIVE_ROOT ?? "/var/lib/berth-native",
    registryHostAliases: env.BERTH_REGISTRY_HOST_ALIASES ?? "",
    imageRewrites: env.BERTH_IMAGE_REWRITES ?? "",
    zone: values.zone ?? env.BERTH_NODE_ZONE,
    extendedResources: values["extended-resources"] ?? env.BERTH_EXTENDED_RESOURCES ?? "",
    healthPort: values["health-port"],
    metricsInterval: values["metrics-interval"] ?? env.BERTH_METRICS_INTERVAL_MS ?? 10_000,
    containerHost:
      values["container-host"] ??
      env.CONTAINER_HOST ??
      env.DOCKER_HOST ??
      (fromRepository
        ? `unix://${resolve(root, ".data/podman/podman.sock")}`
        : "unix:///run/podman/podman.sock"),
    podConcurrency: values["pod-concurrency"] ?? env.BERTH_POD_CONCURRENCY ?? 8,
    pidsLimit: values["pids-limit"] ?? env.BERTH_PIDS_LIMIT ?? 512,
    userNamespaces: values["user-namespaces"] ?? env.BERTH_USER_NAMESPACES ?? "off",
    podNetwork: values["pod-network"] ?? env.BERTH_POD_NETWORK ?? "cluster",
    networkPollMs: values["network-poll-ms"] ?? env.BERTH_NETWORK_POLL_MS ?? 1000,
    tunnelPort: values["tunnel-port"] ?? env.BERTH_TUNNEL_PORT ?? 7443,
    dnsUpstream: values["dns-upstream"] ?? env.BERTH_DNS_UPSTREAM,
    selfUpdate: values["no-self-update"] ? "off" : (env.BERTH_SELF_UPDATE ?? "on"),
    channel: values.channel ?? env.BERTH_CHANNEL ?? "on",
    hollow: values.hollow ?? env.BERTH_HOLLOW_NODES ?? 0,
    hollowStartDelayMs: values["hollow-start-delay-ms"] ?? 100,
    logLevel: env.LOG_LEVEL ?? "info",
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  --${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`,
    );
    throw new Error(`invalid options:\n${lines.join("\n")}\n\n${HELP}`);
  }
  return parsed.data;
}

export { HELP };

/**
 * What the agent's own tests read from the environment: the engine to test against (empty: the
 * test's default) and the agents' log level (`AGENT_LOG_LEVEL`, silent unless asked).
 */
export function testSettings(env: NodeJS.ProcessEnv = process.env) {
  return {
    containerHost: env.CONTAINER_HOST || env.DOCKER_HOST || "",
    agentLogLevel: env.AGENT_LOG_LEVEL ?? "silent",
    conformanceImage: env.BERTH_CONFORMANCE_IMAGE || "",
  };
}
