import { readFileSync } from "node:fs";
import { createLogger } from "@berth/core";
import { serve } from "@hono/node-server";
import { type Agent, createAgent } from "./agent";
import { ApiError, createControlPlane } from "./api";
import { HELP, parseConfig } from "./env";
import { agentMetrics, createHealthApp } from "./health";
import { startHollowNodes } from "./hollow-nodes";
import { selectRuntime } from "./runtime/select";
import { SELF_UPDATE_EXIT_CODE, SelfUpdater } from "./self-update";
import { agentBuild } from "./version";

/** This agent's version: of its bundle's bytes when installed, the plain release from source. */
const build = agentBuild(import.meta.url);

/** The host's first IPv4 name server, where the cluster DNS sends names outside the cluster. */
function hostResolver(): { address: string; port: number } | undefined {
  try {
    const line = readFileSync("/etc/resolv.conf", "utf8").match(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)/m);
    return line?.[1] ? { address: line[1], port: 53 } : undefined;
  } catch {
    return undefined;
  }
}

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
if (config === "help") {
  process.stdout.write(HELP);
  process.exit(0);
}

const logger = createLogger("node-agent", config.logLevel);
let exitCode = 0;

if (config.hollow > 0) {
  // A test harness: many hollow nodes in this process, until SIGTERM or SIGINT.
  const hollow = await startHollowNodes({
    server: config.server,
    joinToken: config.joinToken ?? "",
    count: config.hollow,
    prefix: config.name,
    stateDir: config.stateDir,
    capacity: { cpuMillis: config.cpu, memoryBytes: config.memory, pods: config.maxPods },
    portRange: config.portRange,
    startDelayMs: config.hollowStartDelayMs,
    channel: config.channel,
    logger,
  });
  logger.info({ nodes: config.hollow, server: config.server }, "hollow nodes running");
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  logger.info({ signal }, "stopping the hollow nodes");
  await hollow.stop();
  process.exit(0);
}

// An installed agent follows the version its control plane serves: it replaces its own bundle and
// exits with 75, and its command (bin/berth-node-agent) starts the new one; pods keep running.
const updater =
  build.bundle && config.selfUpdate
    ? new SelfUpdater({
        bundle: build.bundle,
        server: config.server,
        logger,
        onReplaced: () => {
          exitCode = SELF_UPDATE_EXIT_CODE;
          void stop("self-update");
        },
      })
    : null;

const runtime = selectRuntime({
  name: config.runtime,
  containerHost: config.containerHost,
  userNamespace: config.userNamespaces,
  pidsLimit: config.pidsLimit,
  shimPath: config.shimPath,
  nativeRoot: config.nativeRoot,
  registryHostAliases: config.registryHostAliases,
  imageRewrites: config.imageRewrites,
  // The node's credential, for Berth's registry only (as the control plane names it).
  registryAuth: (host) => agent.registryAuth(host),
});
const agent: Agent = createAgent(
  {
    server: config.server,
    joinToken: config.joinToken,
    stateDir: config.stateDir,
    join: {
      name: config.name,
      capacity: {
        cpuMillis: config.cpu,
        memoryBytes: config.memory,
        pods: config.maxPods,
        ...(Object.keys(config.extendedResources).length > 0 ? { extended: config.extendedResources } : {}),
      },
      portRange: config.portRange,
      address: config.address,
      labels: {},
      ...(config.zone ? { zone: config.zone } : {}),
      agentVersion: build.version,
    },
    publishAddress: config.publishAddress,
    stopTimeoutSeconds: 10,
    podConcurrency: config.podConcurrency,
    intervals: { metricsMs: config.metricsInterval },
    ...(config.podNetwork === "cluster"
      ? {
          network: {
            pollMs: config.networkPollMs,
            dnsUpstream: config.dnsUpstream ?? hostResolver(),
            tunnel: { address: config.address, port: config.tunnelPort },
          },
        }
      : {}),
    ...(updater ? { onAgentAnnounced: (a) => void updater.offer(a) } : {}),
  },
  {
    runtime,
    controlPlane: (server) =>
      createControlPlane(server, {
        channel: config.channel,
        onChannelState: (open, why) =>
          open
            ? logger.info("the node channel is open")
            : logger.warn({ why }, "the node channel closed; calls go over HTTP"),
      }),
    logger,
  },
);

const metrics = agentMetrics(agent);
const health =
  config.healthPort !== undefined
    ? serve({
        fetch: createHealthApp(agent, runtime, metrics).fetch,
        port: config.healthPort,
        hostname: "127.0.0.1",
      })
    : null;

try {
  await agent.start();
} catch (error) {
  logger.fatal({ err: error }, "the agent could not start");
  // Refused for its version, it must be reinstalled: 78 (EX_CONFIG) tells systemd not to restart it.
  process.exit(error instanceof ApiError && error.code === "AGENT_VERSION_UNSUPPORTED" ? 78 : 1);
}
logger.info(
  {
    node: config.name,
    server: config.server,
    version: build.version,
    selfUpdate: updater !== null,
    ...agent.status(),
  },
  "node agent running",
);

let stopping: Promise<void> | null = null;
function stop(why: string): Promise<void> {
  stopping ??= (async () => {
    logger.info({ why }, "stopping; pods keep running");
    await agent.stop();
  })();
  return stopping;
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
const how = await agent.done;
health?.close();
logger.info({ how }, how === "left" ? "left the cluster" : "stopped");
process.exit(how === "left" ? 0 : exitCode);
