import { INSTANCE_TYPES, type InstanceType } from "@berth/core";

/** Single-quotes a value for a POSIX shell. */
function q(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The boot script of a machine (cloud-init runs user-data that starts with `#!` as root on first
 * boot): install the node agent if the image lacks it, then run it with the machine's own
 * one-machine join token. The agent keeps its identity in the state dir, so a reboot resumes.
 * Machine-specific values a host may override come from the environment (BERTH_NODE_ADDRESS,
 * BERTH_STATE_DIR, BERTH_PORT_RANGE), which the EC2 emulator uses to run many "machines" on one host.
 */
export function nodeUserData(opts: {
  server: string;
  joinToken: string;
  nodeName: string;
  instanceType: InstanceType;
}): string {
  const size = INSTANCE_TYPES[opts.instanceType];
  return `#!/bin/bash
# Berth node bootstrap
set -euo pipefail
export BERTH_SERVER=${q(opts.server)}
export BERTH_JOIN_TOKEN=${q(opts.joinToken)}
NODE_NAME=${q(opts.nodeName)}
ADDRESS="\${BERTH_NODE_ADDRESS:-$(hostname -I 2>/dev/null | awk '{print $1}')}"
STATE_DIR="\${BERTH_STATE_DIR:-/var/lib/berth-agent}"
if ! command -v berth-node-agent >/dev/null 2>&1; then
  # Images built for Berth ship the agent; a stock image installs Node and the agent first.
  if ! command -v node >/dev/null 2>&1; then apt-get update -qq && apt-get install -y -qq nodejs npm; fi
  npm install -g --silent @berth/node-agent
fi
exec berth-node-agent --name "$NODE_NAME" --address "\${ADDRESS:-127.0.0.1}" --state-dir "$STATE_DIR" \\
  --cpu ${size.cpuMillis} --memory ${size.memoryBytes} --max-pods ${size.maxPods} \\
  \${BERTH_PORT_RANGE:+--port-range "$BERTH_PORT_RANGE"}
`;
}
