import { readFileSync } from "node:fs";
import { createLogger, createMetricsRegistry } from "@berth/core";
import { serve } from "@hono/node-server";
import { Gauge } from "prom-client";
import { createAgent } from "./agent";
import { createControlPlane } from "./api";
import { HELP, parseConfig } from "./env";
import { createHealthApp } from "./health";
import { startHollowNodes } from "./hollow-nodes";
import { createDockerEngineRuntime } from "./runtime";

const AGENT_VERSION = "0.1.0";

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

const runtime = createDockerEngineRuntime({
  ...(config.containerHost.startsWith("unix://")
    ? { socketPath: config.containerHost.slice("unix://".length) }
    : { url: config.containerHost }),
  userNamespace: config.userNamespaces,
  pidsLimit: config.pidsLimit,
});
const agent = createAgent(
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
      agentVersion: AGENT_VERSION,
    },
    publishAddress: config.address,
    stopTimeoutSeconds: 10,
    podConcurrency: config.podConcurrency,
    intervals: { metricsMs: config.metricsInterval },
    ...(config.podNetwork === "cluster"
      ? { network: { pollMs: config.networkPollMs, dnsUpstream: config.dnsUpstream ?? hostResolver() } }
      : {}),
  },
  { runtime, controlPlane: (server) => createControlPlane(server), logger },
);

const metrics = createMetricsRegistry("node-agent");
new Gauge({
  name: "berth_agent_pods",
  help: "Pods assigned to this node",
  registers: [metrics],
  collect() {
    this.set(agent.status().pods);
  },
});
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
  process.exit(1);
}
logger.info({ node: config.name, server: config.server, ...agent.status() }, "node agent running");

async function stop(signal: string): Promise<void> {
  logger.info({ signal }, "stopping; pods keep running");
  await agent.stop();
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
const how = await agent.done;
health?.close();
logger.info({ how }, how === "left" ? "left the cluster" : "stopped");
process.exit(0);
