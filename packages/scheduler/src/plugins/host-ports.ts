import type { FilterPlugin } from "../framework";

export const NO_FREE_PORTS = "node(s) didn't have free ports";
/** The node would have had enough ports, but some are held by processes outside Berth. */
export const PORTS_RESERVED = "node(s) didn't have free ports (some are in use outside Berth)";

/**
 * Rejects nodes whose host port range has fewer free ports than the pod asks for. Ports the node's
 * agent reports in use by something else (`reservedHostPorts`) are never free: the scheduler's
 * allocation skips them, and a node short of ports because of them says so.
 */
export const hostPorts: FilterPlugin = {
  name: "HostPorts",
  podKey: (pod) => String(pod.hostPortCount),
  prepare(pod) {
    const wanted = pod.hostPortCount;
    if (wanted === 0) return null;
    return (info) => {
      if (info.freePorts >= wanted) return null;
      return info.freePorts + info.reservedPorts >= wanted ? PORTS_RESERVED : NO_FREE_PORTS;
    };
  },
};
