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
 * BERTH_STATE_DIR, BERTH_PORT_RANGE, BERTH_AGENT_DIR), which the EC2 emulator uses to run many
 * "machines" on one host.
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
  # Images built for Berth ship the agent; a stock image gets Node, then the agent this control
  # plane serves (its installer checks the bundle's SHA-256).
  if ! command -v node >/dev/null 2>&1; then apt-get update -qq && apt-get install -y -qq nodejs curl; fi
  export BERTH_AGENT_DIR="\${BERTH_AGENT_DIR:-/opt/berth}"
  curl -fsSL --retry 10 --retry-delay 3 --retry-all-errors "$BERTH_SERVER/v1/agent/install.sh" | BERTH_INSTALL_ONLY=1 sh
  PATH="$BERTH_AGENT_DIR/bin:$PATH"
fi
exec berth-node-agent --name "$NODE_NAME" --address "\${ADDRESS:-127.0.0.1}" --state-dir "$STATE_DIR" \\
  --cpu ${size.cpuMillis} --memory ${size.memoryBytes} --max-pods ${size.maxPods} \\
  \${BERTH_PORT_RANGE:+--port-range "$BERTH_PORT_RANGE"}
`;
}
